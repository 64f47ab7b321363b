// uncopyable/pipe.h: a pipe's two ends, PipeReader and PipeWriter.
//
//   absl::StatusOr<uncopyable::Pipe> pipe = uncopyable::make_pipe();
//   if (!pipe.ok()) return pipe.status();         // EMFILE etc., named
//   auto [reader, writer] = *std::move(pipe);     // two handles, two owners
//
//   absl::Status sent = writer.write_all("hello");  // all of it, or an error
//   if (absl::Status s = writer.close(); !s.ok()) return s;  // the reader sees the end
//   absl::StatusOr<std::string> text = reader.read_to_end(1 << 20);  // "hello"
//
// Hand an end to a child process through SubprocessConfig::passed_fds
// (subprocess.h): both ends are close-on-exec (pipe2 with O_CLOEXEC), so no
// program the process runs inherits one any other way.
//
// Ownership: each end owns one descriptor; it moves, never copies. The ends
// are independent handles: close the writer to let the reader see the end
// of the stream while the reader lives on.
//
// Not Rebuildable: a pipe is a channel between the two ends that exist, and
// no data describes how to make "the same pipe" again, so neither end has a
// config() or rebuild() (like an accepted Connection), and
// uncopyable::rebuild(PipeOptions{}) does not compile. make_pipe() makes a
// new, unrelated pipe.
//
// Errors are absl::Status values naming the operation, the end and its
// descriptor:
//   write to pipe write end fd 6: wrote 0 of 5 bytes, then: Broken pipe [EPIPE]
//   (FailedPrecondition: the reader is gone for good; no retry can help)
//   read from pipe read end fd 5: Resource temporarily unavailable [EAGAIN]
//   (Unavailable: a nonblocking end would have waited; poll and try again)
// So a loop that retries on Unavailable ends when the other end is gone.
// (Rust says WouldBlock and BrokenPipe; Abseil's errno table maps them the
// same way. Before, both were Unavailable and such a writer spun for ever.)
// Writing to a pipe whose reader is gone is that EPIPE Status, never SIGPIPE:
// unlike write(2), std::ofstream or Rust's File, which leave the signal to
// kill the process unless it is ignored process-wide, each write blocks
// SIGPIPE in the calling thread for the call and takes back the one it
// raised (see sys::write_without_sigpipe in internal/syscall.h). EINTR is
// retried; read_to_end() and write_all() finish short transfers. Misuse
// aborts with one line: any use of a moved-from, released or closed end,
// and closing twice ("uncopyable: PipeWriter::write() on a closed handle
// (pipe write end)").
#ifndef UNCOPYABLE_PIPE_H_
#define UNCOPYABLE_PIPE_H_

#include <cstddef>
#include <string>
#include <utility>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "uncopyable/config.h"
#include "uncopyable/fd.h"

namespace uncopyable {

// How to make a pipe: plain data. Not a config to rebuild from (see above).
struct PipeOptions {
  UNCOPYABLE_CONFIG(PipeOptions, nonblocking_reader, nonblocking_writer)

  // O_NONBLOCK on the read end: a read with nothing in the pipe is
  // Unavailable [EAGAIN] at once (poll reader.fd() to wait).
  bool nonblocking_reader = false;
  // O_NONBLOCK on the write end: a write into a full pipe is Unavailable
  // [EAGAIN] at once (write_all() says how much went in first). Leave it off
  // for an end a child process gets: most programs do not expect EAGAIN.
  bool nonblocking_writer = false;

  // Any options are valid.
  absl::Status validate() const { return absl::OkStatus(); }
};

class PipeReader;
class PipeWriter;
struct Pipe;

namespace pipe_internal {

// What both ends have: one descriptor, borrowed, closed or released. `End`
// is PipeReader or PipeWriter, whose kName names it in misuse messages and
// whose kEnd ("read end") names it in every message.
template <typename End>
class PipeEnd {
 public:
  // How messages name it: pipe read end fd 5, or pipe write end fd 6; without
  // the number once it holds none.
  [[nodiscard]] std::string resource() const;

  // The descriptor, borrowed; it stays owned by this end (poll it, hand it
  // to a Subprocess).
  [[nodiscard]] FdView fd() const { return FdView(checked_fd("fd()")); }

  // Closes this end now and reports what close(2) said; the end is closed
  // either way. Closing the last write end is what makes the reader see the
  // end of the stream. Closing twice, or any use after, is misuse.
  [[nodiscard]] absl::Status close();

  // Gives up the descriptor: the caller owns it now. Misuse if there is
  // none; any later use of this end is misuse ("... on a released handle").
  [[nodiscard]] Fd release() {
    checked_fd("release()");
    return Fd(fd_.release());
  }

 protected:
  explicit PipeEnd(Fd fd) noexcept : fd_(std::move(fd)) {}

  // The descriptor, or abort naming `operation`:
  // "uncopyable: PipeReader::read() on a moved-from handle".
  int checked_fd(const char* operation) const {
    return fd_.get_as(End::kName, operation, [this] { return resource(); });
  }

  Fd fd_;
};

}  // namespace pipe_internal

// The read end of a pipe. Made by make_pipe().
class PipeReader : public pipe_internal::PipeEnd<PipeReader> {
 public:
  static constexpr char kName[] = "PipeReader";
  static constexpr char kEnd[] = "read end";

  // Reads what is in the pipe now, waiting for at least 1 byte (unless
  // nonblocking_reader), up to `buffer.size()`; 0 means every write end is
  // closed and the pipe is empty: the end of the stream. Like read(2) and
  // Socket::receive(), and unlike File::read(), it does not wait to fill the
  // buffer. An empty `buffer` returns 0 at once, without a system call.
  [[nodiscard]] absl::StatusOr<size_t> read(absl::Span<char> buffer);

  // Reads until every write end is closed, however long that is. More than
  // `max_bytes` is an error (OutOfRange); what was read is then dropped.
  // SIZE_MAX means no limit but memory. With nonblocking_reader, an empty
  // pipe whose writer is still open is Unavailable [EAGAIN].
  [[nodiscard]] absl::StatusOr<std::string> read_to_end(size_t max_bytes);

 private:
  friend absl::StatusOr<Pipe> make_pipe(const PipeOptions& options);
  explicit PipeReader(Fd fd) noexcept : PipeEnd(std::move(fd)) {}
};

// The write end of a pipe. Made by make_pipe().
class PipeWriter : public pipe_internal::PipeEnd<PipeWriter> {
 public:
  static constexpr char kName[] = "PipeWriter";
  static constexpr char kEnd[] = "write end";

  // Writes what the pipe takes now (at least 1 byte, waiting for room unless
  // nonblocking_writer) and returns how much that was. A write of at most
  // PIPE_BUF (4096) bytes is all or nothing, never mixed with another
  // writer's. Empty `data` returns 0 at once, without a system call. A
  // reader that is gone is FailedPrecondition [EPIPE], never SIGPIPE; a full
  // pipe with nonblocking_writer is Unavailable [EAGAIN].
  [[nodiscard]] absl::StatusOr<size_t> write(absl::string_view data);

  // Writes all of `data`. On error, `*written` (if given) and the message
  // say how much went in first. Empty `data` is OK at once, without a
  // system call.
  [[nodiscard]] absl::Status write_all(absl::string_view data, size_t* written = nullptr);

 private:
  friend absl::StatusOr<Pipe> make_pipe(const PipeOptions& options);
  explicit PipeWriter(Fd fd) noexcept : PipeEnd(std::move(fd)) {}
};

// Both ends of one pipe, as make_pipe() returns them. Take them apart with
// `auto [reader, writer] = *std::move(pipe);` or use the members.
struct Pipe {
  PipeReader reader;
  PipeWriter writer;
};

// Makes a pipe: pipe2(2) with O_CLOEXEC (and O_NONBLOCK on the ends
// `options` asks for). Errors name the call and the errno (EMFILE and ENFILE
// are ResourceExhausted); nothing is left open on error.
[[nodiscard]] absl::StatusOr<Pipe> make_pipe(const PipeOptions& options = {});

}  // namespace uncopyable

#endif  // UNCOPYABLE_PIPE_H_
