#include "uncopyable/internal/errno_status.h"

#include <string.h>

#include "absl/strings/str_cat.h"

namespace uncopyable::internal {

absl::Status errno_status(int error, absl::string_view what) {
  const char* description = ::strerrordesc_np(error);
  const char* name = ::strerrorname_np(error);
  return absl::Status(
      absl::ErrnoToStatusCode(error),
      absl::StrCat(what, ": ", description ? description : "Unknown error",
                   " [", name ? absl::string_view(name) : absl::StrCat("errno ", error),
                   "]"));
}

}  // namespace uncopyable::internal
