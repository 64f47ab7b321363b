// No-compile cases for the pipe's ends: neither end is Rebuildable, and
// nothing rebuilds one from its options. Without a case defined this file
// must compile (the control); each `// nocompile CASE: PATTERN` line is a
// case, whose build must fail with a message matching PATTERN (see
// nocompile_test in tests/defs.bzl).
#include "uncopyable/pipe.h"

#include <utility>

#include "absl/status/statusor.h"
#include "uncopyable/rebuildable.h"

// What generic code that needs a fresh resource asks for.
template <uncopyable::Rebuildable Handle>
absl::StatusOr<Handle> reconnect(const Handle& broken) {
  return broken.rebuild();
}

void control() {
  absl::StatusOr<uncopyable::Pipe> pipe = uncopyable::make_pipe(uncopyable::PipeOptions{});
  if (!pipe.ok()) return;
  auto [reader, writer] = *std::move(pipe);  // two owners, one per end
  uncopyable::PipeReader moved = std::move(reader);
  (void)moved;
  (void)writer;
}

// nocompile COPY_READER: use of deleted function .*PipeReader::PipeReader\(const uncopyable::PipeReader&\)
#if defined(COPY_READER)
void copy_reader(const uncopyable::PipeReader& reader) {
  uncopyable::PipeReader copy = reader;  // two owners of one descriptor
}
#endif

// nocompile REBUILD_FROM_OPTIONS: no matching function for call to .rebuild\(uncopyable::PipeOptions\).
#if defined(REBUILD_FROM_OPTIONS)
void rebuild_from_options() {
  // A pipe is not data: nothing builds "the same pipe" from its options.
  auto again = uncopyable::rebuild(uncopyable::PipeOptions{});
}
#endif

// nocompile REBUILD_AN_END: no matching function for call to .reconnect\(const uncopyable::PipeWriter&\).
#if defined(REBUILD_AN_END)
absl::StatusOr<uncopyable::PipeWriter> redo(const uncopyable::PipeWriter& writer) {
  return reconnect(writer);  // a PipeWriter does not satisfy Rebuildable
}
#endif

// nocompile CALL_REBUILD: .const class uncopyable::PipeReader. has no member named .rebuild.
#if defined(CALL_REBUILD)
void call_rebuild(const uncopyable::PipeReader& reader) {
  (void)reader.rebuild();  // no such member: there is nothing to rebuild from
}
#endif
