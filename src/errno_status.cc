#include "uncopyable/internal/errno_status.h"

#include <string.h>  // NOLINT(modernize-deprecated-headers): glibc's strerrordesc_np and strerrorname_np, C declarations outside std::
#include <sys/stat.h>

#include "absl/strings/str_cat.h"

namespace uncopyable::internal {

absl::Status errno_status(int error, absl::string_view what) {
  const char* description = ::strerrordesc_np(error);
  const char* name = ::strerrorname_np(error);
  return absl::Status(
      absl::ErrnoToStatusCode(error),
      absl::StrCat(what, ": ", description != nullptr ? description : "Unknown error",
                   " [", name != nullptr ? absl::string_view(name) : absl::StrCat("errno ", error),
                   "]"));
}

const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a Unix socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISREG(mode)) return "a regular file";
  return "not a regular file";
}

}  // namespace uncopyable::internal
