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
  if (error == EPIPE || error == ECONNRESET || error == ENOTCONN) {
    return absl::UnavailableError(status.message());
  }
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
