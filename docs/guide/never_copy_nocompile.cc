// docs/guide.md: the copies that do not compile. See nocompile_test in
// tests/defs.bzl: without a case defined this file must compile (the
// control); with -D<CASE> it must fail, for the reason the BUILD file names.
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "uncopyable/file.h"
#include "uncopyable/rebuildable.h"
#include "uncopyable/socket.h"

class Journal {
 public:
  explicit Journal(uncopyable::File file) : file_(std::move(file)) {}

 private:
  uncopyable::File file_;
};

// As in rebuild.cc.
template <uncopyable::Rebuildable Handle>
absl::StatusOr<Handle> reconnect(const Handle& broken) {
  return broken.rebuild();
}

// The control: what to write instead.
void control(uncopyable::File& log, uncopyable::Socket& socket) {
  Journal journal(std::move(log));                              // give it away
  absl::StatusOr<uncopyable::Socket> again = reconnect(socket);  // a fresh one
  (void)again;
}

#if defined(COPY_FILE)
void keep_a_spare(const uncopyable::File& log) {
  // [guide:copy-does-not-compile]
  uncopyable::File spare = log;  // error: use of deleted function 'File(const File&)'
  // [end]
}
#endif

#if defined(COPY_INTO_PARAMETER)
void hand_over(uncopyable::File& log) {
  Journal journal(log);  // a by-value parameter is a copy too: write std::move(log)
}
#endif

#if defined(COPY_CONTAINER)
void duplicate(const std::vector<uncopyable::File>& files) {
  std::vector<uncopyable::File> copies = files;  // each element would be copied
}
#endif

#if defined(COMPARE_FILES)
bool same_file(const uncopyable::File& a, const uncopyable::File& b) {
  return a == b;  // a handle is not a value: compare a.config() == b.config()
}
#endif

#if defined(PRINT_FILE)
void log_file(std::ostream& out, const uncopyable::File& file) {
  out << file;  // a handle does not print: print file.config()
}
#endif

#if defined(STRCAT_CONFIG)
std::string describe(const uncopyable::FileConfig& config) {
  return absl::StrCat(config);  // Abseil 20220623 does not call AbslStringify
}
#endif

#if defined(IGNORE_CLOSE)
void finish(uncopyable::File& file) {
  // [guide:ignored-close]
  file.close();  // error with -Werror: ignoring a [[nodiscard]] absl::Status
  // [end]
}
#endif

#if defined(REBUILD_ACCEPTED)
absl::StatusOr<uncopyable::Connection> redial(const uncopyable::Connection& peer) {
  // [guide:connection-not-rebuildable]
  return reconnect(peer);  // error: Connection does not satisfy Rebuildable
  // [end]
}
#endif
