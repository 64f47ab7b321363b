// uncopyable/internal/message.h: the one shape of an error message.
//
// Every Status the library makes reads "<operation> <resource>: <what>":
//
//   open file "/tmp/t.db": No such file or directory [ENOENT]
//   write file "/tmp/t.db": after 4096 of 8192 bytes: No space left on device [ENOSPC]
//   execute sqlite "app.db": no such table: matches
//   connect postgresql app@127.0.0.1:5432/scores: Connection refused ...
//
// the operation as the caller would say it (a verb, or the member function's
// name), the resource as its handle names it everywhere (its `resource()`:
// `file "<path>"`, `sqlite "<path>"`, `mutex "<name>"`, ...), the same words
// the handle's misuse lines put in parentheses (see check.h's misuse_on()).
// User data in <resource> or <what> is quoted with quote.h, so a message
// stays one short line whatever the input.
#ifndef UNCOPYABLE_INTERNAL_MESSAGE_H_
#define UNCOPYABLE_INTERNAL_MESSAGE_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace uncopyable::internal {

// "<operation> <resource>: <what>" with `code`.
absl::Status error_on(absl::StatusCode code, absl::string_view operation,
                      absl::string_view resource, absl::string_view what);

// A system call that failed with `error`, in the same shape; the code
// follows absl::ErrnoToStatusCode (see errno_status.h):
//   errno_error_on(ENOSPC, "write", R"(file "/t")", "after 4096 of 8192 bytes")
//   => ResourceExhausted: write file "/t": after 4096 of 8192 bytes: No space
//      left on device [ENOSPC]
absl::Status errno_error_on(int error, absl::string_view operation,
                            absl::string_view resource, absl::string_view detail = "");

// `status` said again in the same shape, its code and payloads kept (OK
// stays OK): for an error a lower layer made, now told about `resource`.
absl::Status status_on(const absl::Status& status, absl::string_view operation,
                       absl::string_view resource);

}  // namespace uncopyable::internal

#endif  // UNCOPYABLE_INTERNAL_MESSAGE_H_
