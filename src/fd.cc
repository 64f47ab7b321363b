#include "uncopyable/fd.h"

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "uncopyable/internal/errno_status.h"
#include "uncopyable/internal/fd_table.h"
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
  UNCOPYABLE_CHECK(error != EBADF,
                   "Fd::close(): fd %d was not open; something closed it "
                   "behind its owner's back",
                   fd);
  return error;
}

}  // namespace

absl::Status FdTraits::close(int fd) {
  const int error = close_once(fd);
  if (error == 0) return absl::OkStatus();
  return internal::errno_status(error, absl::StrCat("close(fd ", fd, ")"));
}

void FdTraits::close_quietly(int fd) noexcept { (void)close_once(fd); }

}  // namespace uncopyable
