#include "uncopyable/check.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace uncopyable {

void misuse(const char* format, ...) {
  // One buffer on the stack, one write: the line arrives whole even when
  // other threads are printing, and nothing here allocates.
  char line[1024];
  static constexpr char kPrefix[] = "uncopyable: ";
  std::memcpy(line, kPrefix, sizeof kPrefix - 1);
  const size_t used = sizeof kPrefix - 1;
  va_list args;
  va_start(args, format);
  const size_t room = sizeof line - used - 1;  // one byte kept for '\n'
  const int more =
      std::vsnprintf(line + used, room + 1, format, args);  // NOLINT
  va_end(args);
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

}  // namespace uncopyable
