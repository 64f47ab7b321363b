// uncopyable/check.h: misuse checks that stay on in every build mode.
//
// Misuse is a bug in the caller that the type system cannot stop: using a
// moved-from handle, closing twice, adopting an invalid descriptor. It is not
// an error to recover from, so it is not a Status: the process prints one
// line and aborts, so the bug is found where it happens.
//
//   UNCOPYABLE_CHECK(fd >= 0, "FdView::FdView(%d): borrowing a negative descriptor", fd);
//   // prints: uncopyable: FdView::FdView(-5): borrowing a negative descriptor
//
// The line always starts with "uncopyable: ", then names the handle type and
// the operation, then what was wrong. Death tests match on it; see
// tests/*_death_test.cc.
#ifndef UNCOPYABLE_CHECK_H_
#define UNCOPYABLE_CHECK_H_

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"

namespace uncopyable {

// Prints "uncopyable: <printf-formatted message>" and a newline to stderr
// with one write(2), then calls std::abort(). The message names the handle
// type and the misuse. Safe from any thread and in a forked child: it does
// not allocate.
[[noreturn]] void misuse(const char* format, ...) ABSL_PRINTF_ATTRIBUTE(1, 2);

}  // namespace uncopyable

// Aborts with a misuse message unless `condition` holds. Evaluates
// `condition` exactly once and the message arguments only when it fails.
#define UNCOPYABLE_CHECK(condition, ...)      \
  do {                                        \
    if (ABSL_PREDICT_FALSE(!(condition))) {   \
      ::uncopyable::misuse(__VA_ARGS__);      \
    }                                         \
  } while (false)

#endif  // UNCOPYABLE_CHECK_H_
