// uncopyable/internal/errno_status.h: a failed system call as an absl::Status.
#ifndef UNCOPYABLE_INTERNAL_ERRNO_STATUS_H_
#define UNCOPYABLE_INTERNAL_ERRNO_STATUS_H_


#include <sys/types.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace uncopyable::internal {

// The Status for a system call that failed with `error`:
//   errno_status(ENOENT, "open(\"/tmp/t.db\")")
//   => NotFound: open("/tmp/t.db"): No such file or directory [ENOENT]
// The code follows absl::ErrnoToStatusCode (EMFILE and ENOSPC are
// ResourceExhausted, ECONNREFUSED is Unavailable, ...). `what` should name
// the call and the path or endpoint it was about.
absl::Status errno_status(int error, absl::string_view what);

// "a directory", "a FIFO", "a character device", ...: what a file whose
// st_mode is `mode` is, for a message refusing one that is not regular.
const char* file_kind(mode_t mode);

}  // namespace uncopyable::internal

#endif  // UNCOPYABLE_INTERNAL_ERRNO_STATUS_H_
