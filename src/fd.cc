#include "uncopyable/fd.h"

#include <cerrno>
#include <cstdio>
#include <string>

#include "absl/base/optimization.h"
#include "absl/strings/str_cat.h"
#include "uncopyable/internal/fd_table.h"
#include "uncopyable/internal/message.h"
#include "uncopyable/internal/syscall.h"

namespace uncopyable {

namespace {

// close(2) once, never retried (even on EINTR: the descriptor is released
// already). Returns 0 or the errno; EBADF is misuse. The ownership table is
// cleared first, so that //:fd_ownership_checks lets this close through.
int close_once(int fd) noexcept {
  internal::fd_table::disown(fd);
  if (internal::sys::close(fd) == 0) return 0;
  const int error = errno;
  if (ABSL_PREDICT_FALSE(error == EBADF)) {
    misuse_on(FdTraits::kName.data(), "close()", fd_internal::resource_of(fd),
              "found the descriptor not open; something closed it behind its owner's back");
  }
  return error;
}

}  // namespace

namespace fd_internal {
std::string resource_of(int fd) { return absl::StrCat("fd ", fd); }

void borrowed_negative(int fd) noexcept {
  char operation[32];
  std::snprintf(operation, sizeof operation, "FdView(%d)", fd);
  misuse_on("FdView", operation, "", "borrowing a negative descriptor");
}
}  // namespace fd_internal

absl::Status FdTraits::close(int fd) {
  const int error = close_once(fd);
  if (error == 0) return absl::OkStatus();
  return internal::errno_error_on(error, "close", fd_internal::resource_of(fd));
}

void FdTraits::close_quietly(int fd) noexcept { (void)close_once(fd); }

}  // namespace uncopyable
