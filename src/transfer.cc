#include "uncopyable/internal/transfer.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "uncopyable/internal/errno_status.h"
#include "uncopyable/internal/syscall.h"

namespace uncopyable::internal {

absl::Status transfer_error(int error, absl::string_view what) {
  absl::Status status = errno_status(error, what);
  // Said here, not left to absl's table, because a retry loop depends on
  // it: would-block (EAGAIN) and a reset are Unavailable (try again, or
  // reconnect); a write to an end whose peer is gone for good (EPIPE) or a
  // socket that is not connected is FailedPrecondition, which no retry of
  // the same call can fix. Before, EPIPE was Unavailable too, and a writer
  // that retried on Unavailable spun for ever.
  if (error == EPIPE || error == ENOTCONN) {
    return absl::FailedPreconditionError(status.message());
  }
  if (error == ECONNRESET || error == EAGAIN) return absl::UnavailableError(status.message());
  return status;
}

absl::Status transfer_status(int error, absl::string_view what, absl::string_view verb,
                             size_t done, size_t size) {
  return transfer_error(
      error, absl::StrCat(what, ": ", verb, " ", done, " of ", size, " bytes, then"));
}

int wait_for(int fd, short events, Deadline deadline) {
  while (true) {
    pollfd entry{fd, events, 0};
    if (deadline.passed()) return ETIMEDOUT;
    const int ready = sys::poll(&entry, 1, deadline.poll_milliseconds());
    if (ready > 0) return 0;
    if (ready == 0) return ETIMEDOUT;
    if (errno != EINTR) return errno;
  }
}

}  // namespace uncopyable::internal
