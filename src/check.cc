#include "uncopyable/check.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace uncopyable {

namespace {
// Writes "uncopyable: <formatted>\n" to stderr with one write(2) and aborts.
[[noreturn]] void report(const char* format, va_list args) ABSL_PRINTF_ATTRIBUTE(1, 0);
}  // namespace

void misuse(const char* format, ...) {
  va_list args;
  va_start(args, format);
  report(format, args);  // never returns: no va_end to reach
}

void misuse_on(const char* type, const char* operation, const std::string& resource,
               const char* what_format, ...) {
  char what[768];
  va_list args;
  va_start(args, what_format);
  const int length = std::vsnprintf(what, sizeof what, what_format, args);
  va_end(args);
  if (length < 0) what[0] = '\0';
  if (resource.empty()) misuse("%s::%s %s", type, operation, what);
  misuse("%s::%s %s (%s)", type, operation, what, resource.c_str());
}

namespace {

void report(const char* format, va_list args) {
  // One buffer on the stack, one write: the line arrives whole even when
  // other threads are printing, and nothing here allocates.
  char line[1024];
  static constexpr char kPrefix[] = "uncopyable: ";
  std::memcpy(line, kPrefix, sizeof kPrefix - 1);
  const size_t used = sizeof kPrefix - 1;
  const size_t room = sizeof line - used - 1;  // one byte kept for '\n'
  const int more =
      std::vsnprintf(line + used, room + 1, format, args);
  size_t length = used +
                  (more < 0 ? 0 : std::min(static_cast<size_t>(more), room));
  line[length++] = '\n';
  // Straight to the kernel, not through the system-call seam: a misuse report
  // must not be swallowed by an injected fault.
  const char* rest = line;
  while (length > 0) {
    const ssize_t wrote = ::write(STDERR_FILENO, rest, length);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) break;
    rest += wrote;
    length -= static_cast<size_t>(wrote);
  }
  std::abort();
}

}  // namespace
}  // namespace uncopyable
