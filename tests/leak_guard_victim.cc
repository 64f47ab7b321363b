// Tests that leak on purpose, run by leak_guard_test.sh to prove that the
// leak guard in tests/testing/test_main.cc fails them. Not a test itself.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gtest/gtest.h"
#include "uncopyable/file.h"
#include "uncopyable/pool.h"

namespace {

TEST(Victim, Clean) {
  const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ::close(fd);
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
}

TEST(Victim, LeaksAnFd) {
  ASSERT_GE(::open("/dev/null", O_RDONLY | O_CLOEXEC), 0);
}

TEST(Victim, LeavesAChild) {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);  // never reaped: a zombie until the parent exits
  ASSERT_GT(child, 0);
}

TEST(Victim, LeavesAPoolLease) {
  // The pool and the lease are never destroyed (a pool outlives its leases).
  static auto* pool = new uncopyable::Pool<uncopyable::File>(*uncopyable::Pool<uncopyable::File>::open(
      {.handle = {.path = "/dev/null", .allow_special_files = true}}));
  new uncopyable::PoolLease<uncopyable::File>(*pool->acquire());
}

}  // namespace
