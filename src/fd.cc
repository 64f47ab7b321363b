#include "uncopyable/fd.h"

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "uncopyable/internal/errno_status.h"
#include "uncopyable/internal/syscall.h"

namespace uncopyable {

absl::Status FdTraits::close(int fd) {
  if (internal::sys::close(fd) == 0) return absl::OkStatus();
  const int error = errno;
  UNCOPYABLE_CHECK(error != EBADF,
                   "Fd::close(): fd %d was not open; something closed it "
                   "behind its owner's back",
                   fd);
  // Not retried, even on EINTR: the descriptor is released already.
  return internal::errno_status(error, absl::StrCat("close(fd ", fd, ")"));
}

}  // namespace uncopyable
