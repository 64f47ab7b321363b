#include "uncopyable/pipe.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "uncopyable/check.h"
#include "uncopyable/internal/errno_status.h"
#include "uncopyable/internal/message.h"
#include "uncopyable/internal/syscall.h"
#include "uncopyable/internal/transfer.h"

namespace uncopyable {
namespace {

namespace sys = internal::sys;

// "pipe read end fd 5": how an end names itself in every message.
std::string end_resource(absl::string_view end, int fd) {
  return absl::StrCat("pipe ", end, " fd ", fd);
}

// "read from pipe read end fd 5": the start of a transfer's message.
template <typename End>
std::string operation_on(absl::string_view operation, int fd) {
  return absl::StrCat(operation, " ", end_resource(End::kEnd, fd));
}

// Reads what is there now, once (EINTR retried).
internal::Transferred read_some(int fd, absl::Span<char> buffer) {
  return internal::transfer(buffer.size(), internal::TransferMode::kSome,
                            internal::ZeroBytes::kEnd,
                            [&](size_t) { return sys::read(fd, buffer.data(), buffer.size()); });
}

// O_NONBLOCK on one end that pipe2(2) made without it.
absl::Status set_nonblocking(int fd, const char* end) {
  int result;
  do {
    result = sys::fcntl(fd, F_SETFL, O_NONBLOCK);
  } while (result != 0 && errno == EINTR);
  if (result == 0) return absl::OkStatus();
  return internal::errno_error_on(errno, "make", end_resource(end, fd), "fcntl F_SETFL O_NONBLOCK");
}

}  // namespace

namespace pipe_internal {

template <typename End>
std::string PipeEnd<End>::resource() const {
  if (!fd_.is_valid()) return absl::StrCat("pipe ", End::kEnd);
  return end_resource(End::kEnd, fd_.get());
}

template <typename End>
absl::Status PipeEnd<End>::close() {
  const int fd = checked_fd("close()");
  absl::Status status = fd_.close();
  if (ABSL_PREDICT_TRUE(status.ok())) return status;
  return internal::status_on(status, "close", end_resource(End::kEnd, fd));
}

template class PipeEnd<PipeReader>;
template class PipeEnd<PipeWriter>;

}  // namespace pipe_internal

absl::StatusOr<size_t> PipeReader::read(absl::Span<char> buffer) {
  const int fd = checked_fd("read()");
  const internal::Transferred got = read_some(fd, buffer);
  if (ABSL_PREDICT_TRUE(got.ok())) return got.done;
  return internal::transfer_error(got.error, operation_on<PipeReader>("read from", fd));
}

absl::StatusOr<std::string> PipeReader::read_to_end(size_t max_bytes) {
  const int fd = checked_fd("read_to_end()");
  return internal::read_to_end(
      max_bytes,
      [&](absl::Span<char> buffer) -> absl::StatusOr<size_t> {
        const internal::Transferred got = internal::transfer(
            buffer.size(), internal::TransferMode::kAll, internal::ZeroBytes::kEnd,
            [&](size_t done) {
              return sys::read(fd, buffer.data() + done, buffer.size() - done);
            });
        if (ABSL_PREDICT_TRUE(got.ok())) return got.done;
        return internal::transfer_status(got.error,
                                         operation_on<PipeReader>("read_to_end from", fd), "read",
                                         got.done, buffer.size());
      },
      [&] {
        return internal::error_on(absl::StatusCode::kOutOfRange, "read_to_end from",
                                  end_resource(kEnd, fd),
                                  absl::StrCat("more than ", max_bytes, " bytes"));
      });
}

absl::StatusOr<size_t> PipeWriter::write(absl::string_view data) {
  const int fd = checked_fd("write()");
  const internal::Transferred sent = internal::transfer(
      data.size(), internal::TransferMode::kSome, internal::ZeroBytes::kError,
      [&](size_t) { return sys::write_without_sigpipe(fd, data.data(), data.size()); });
  if (ABSL_PREDICT_TRUE(sent.ok())) return sent.done;
  return internal::transfer_error(sent.error, operation_on<PipeWriter>("write to", fd));
}

absl::Status PipeWriter::write_all(absl::string_view data, size_t* written) {
  const int fd = checked_fd("write_all()");
  const internal::Transferred sent = internal::transfer(
      data.size(), internal::TransferMode::kAll, internal::ZeroBytes::kError, [&](size_t done) {
        return sys::write_without_sigpipe(fd, data.data() + done, data.size() - done);
      });
  if (written != nullptr) *written = sent.done;
  if (ABSL_PREDICT_TRUE(sent.ok())) return absl::OkStatus();
  return internal::transfer_status(sent.error, operation_on<PipeWriter>("write to", fd), "wrote",
                                   sent.done, data.size());
}

absl::StatusOr<Pipe> make_pipe(const PipeOptions& options) {
  int fds[2];
  const bool both = options.nonblocking_reader && options.nonblocking_writer;
  if (sys::pipe2(fds, O_CLOEXEC | (both ? O_NONBLOCK : 0)) != 0) {
    return internal::errno_error_on(errno, "make", "pipe", "pipe2");
  }
  Fd read_end(fds[0]);  // closed on the way out unless kept
  Fd write_end(fds[1]);
  if (!both && options.nonblocking_reader) {
    if (absl::Status s = set_nonblocking(fds[0], PipeReader::kEnd); !s.ok()) return s;
  }
  if (!both && options.nonblocking_writer) {
    if (absl::Status s = set_nonblocking(fds[1], PipeWriter::kEnd); !s.ok()) return s;
  }
  return Pipe{PipeReader(std::move(read_end)), PipeWriter(std::move(write_end))};
}

}  // namespace uncopyable
