// uncopyable/check.h: misuse checks that stay on in every build mode.
//
// Misuse is a bug in the caller that the type system cannot stop: using a
// moved-from handle, closing twice, adopting an invalid descriptor. It is not
// an error to recover from, so it is not a Status: the process prints one
// line and aborts, so the bug is found where it happens.
//
//   if (fd < 0) misuse_on("FdView", "FdView(-5)", "", "borrowing a negative descriptor");
//   // prints: uncopyable: FdView::FdView(-5) borrowing a negative descriptor
//
// Every line has one shape, built by misuse_on():
//
//   uncopyable: <Type>::<op>() <what went wrong> (<resource>)
//   uncopyable: File::read() on a closed handle (file "/tmp/t")
//   uncopyable: Mutex::unlock() by thread 12, which does not hold it; no thread does (mutex "jobs")
//
// the resource named as the handle's errors name it (see
// internal/message.h). Death tests match on it; see tests/*_death_test.cc.
#ifndef UNCOPYABLE_CHECK_H_
#define UNCOPYABLE_CHECK_H_

#include <string>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"

namespace uncopyable {

// Prints "uncopyable: <printf-formatted message>" and a newline to stderr
// with one write(2), then calls std::abort(). The message names the handle
// type and the misuse. Safe from any thread and in a forked child: it does
// not allocate.
[[noreturn]] void misuse(const char* format, ...) ABSL_PRINTF_ATTRIBUTE(1, 2);

// Prints "uncopyable: <type>::<operation> <what> (<resource>)", `what` being
// `what_format` printf-formatted, and aborts as misuse() does. An empty
// `resource` leaves out the parentheses. The one shape of every misuse line.
[[noreturn]] void misuse_on(const char* type, const char* operation,
                            const std::string& resource, const char* what_format, ...)
    ABSL_PRINTF_ATTRIBUTE(4, 5);

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
