#include "uncopyable/internal/transfer.h"

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "uncopyable/internal/errno_status.h"

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

}  // namespace uncopyable::internal
