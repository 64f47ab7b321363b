// Prints the descriptors open in this process, one number a line, for tests
// of what a child process inherits (//tests:subprocess_test runs it).
#include <cstdio>

#include "tests/testing/fds.h"

int main() {
  for (int fd : uncopyable::testing::open_fds()) std::printf("%d\n", fd);
  return 0;
}
