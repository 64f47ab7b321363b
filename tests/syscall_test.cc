// The system-call seam: quiet when disarmed, exact when armed.
#include "uncopyable/internal/syscall.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "uncopyable/internal/errno_status.h"
#include "uncopyable/testing/fault_injection.h"

namespace uncopyable {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::FaultInjector;
using testing::Syscall;
namespace sys = internal::sys;

// Opens /dev/null, reads from it, closes it: three calls through the seam.
int open_read_close() {
  const int fd = sys::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  char byte;
  const ssize_t got = sys::read(fd, &byte, 1);
  const int read_error = got < 0 ? errno : 0;
  const int close_result = sys::close(fd);
  if (read_error != 0) return read_error;
  return close_result < 0 ? errno : 0;
}

TEST(SyscallSeamTest, DisarmedCallsReachTheKernel) {
  EXPECT_FALSE(internal::fault_armed.load());
  EXPECT_EQ(open_read_close(), 0);
}

TEST(SyscallSeamTest, CountsEveryCallInOrder) {
  FaultInjector count;
  EXPECT_EQ(open_read_close(), 0);
  EXPECT_THAT(count.calls(),
              ElementsAre(Syscall::kOpen, Syscall::kRead, Syscall::kClose));
  EXPECT_EQ(count.injected(), 0);
}

TEST(SyscallSeamTest, FailsExactlyTheNthCall) {
  for (int n = 1; n <= 3; ++n) {
    FaultInjector fault;
    fault.fail_nth(n, ENOSPC);
    EXPECT_EQ(open_read_close(), ENOSPC) << fault.describe();
    EXPECT_EQ(fault.injected(), 1) << fault.describe();
  }
  FaultInjector beyond;
  beyond.fail_nth(4, ENOSPC);
  EXPECT_EQ(open_read_close(), 0);
  EXPECT_EQ(beyond.injected(), 0);
}

TEST(SyscallSeamTest, CanAimAtOneKindOfCall) {
  FaultInjector fault;
  fault.fail_nth(1, EIO, Syscall::kRead);
  EXPECT_EQ(open_read_close(), EIO);
  EXPECT_THAT(fault.describe(),
              HasSubstr("failed read call #1 with EIO (1 injected) of [open, read, close]"));
}

TEST(SyscallSeamTest, FailsARunOfCalls) {
  FaultInjector fault;
  fault.fail_nth(1, EINTR, Syscall::kRead, /*times=*/3);
  char byte;
  const int fd = sys::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  int interrupted = 0;
  while (sys::read(fd, &byte, 1) < 0 && errno == EINTR) ++interrupted;
  EXPECT_EQ(interrupted, 3);
  EXPECT_EQ(sys::close(fd), 0);
}

TEST(SyscallSeamTest, AFailedCallDoesNotReachTheKernel) {
  FaultInjector fault;
  fault.fail_nth(1, EMFILE, Syscall::kOpen);
  // Had the open reached the kernel, the leak guard would find its fd.
  EXPECT_EQ(sys::open("/dev/null", O_RDONLY | O_CLOEXEC), -1);
  EXPECT_EQ(errno, EMFILE);
}

TEST(SyscallSeamTest, OtherThreadsAreNeitherCountedNorFailed) {
  FaultInjector fault;
  fault.fail_nth(1, EIO);
  int other = -1;
  std::thread([&] { other = open_read_close(); }).join();
  EXPECT_EQ(other, 0);
  EXPECT_EQ(fault.calls_seen(), 0);
  EXPECT_EQ(open_read_close(), EIO);
}

TEST(SyscallSeamTest, DisarmsWhenTheInjectorGoes) {
  {
    FaultInjector fault;
    fault.fail_nth(1, EIO);
  }
  EXPECT_FALSE(internal::fault_armed.load());
  EXPECT_EQ(open_read_close(), 0);
}

TEST(SyscallSeamTest, EverySyscallHasAName) {
  EXPECT_STREQ(internal::syscall_name(Syscall::kOpen), "open");
  EXPECT_STREQ(internal::syscall_name(Syscall::kAccept), "accept4");
  EXPECT_STREQ(internal::syscall_name(Syscall::kUnlink), "unlink");
}

TEST(ErrnoStatusTest, NamesTheCallTheErrorAndItsCode) {
  const absl::Status status =
      internal::errno_status(ENOENT, "open(\"/tmp/missing\")");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(),
            "open(\"/tmp/missing\"): No such file or directory [ENOENT]");
  EXPECT_EQ(internal::errno_status(EMFILE, "x").code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(internal::errno_status(ECONNREFUSED, "x").code(),
            absl::StatusCode::kUnavailable);
}

TEST(FaultInjectorDeathTest, APlanMustMakeSense) {
  FaultInjector fault;
  EXPECT_DEATH(fault.fail_nth(0, EIO),
               "^uncopyable: FaultInjector::fail_nth\\(0, 5, times=1\\): needs n >= 1");
  EXPECT_DEATH(fault.fail_nth(1, 0), "^uncopyable: FaultInjector::fail_nth\\(1, 0, times=1\\)");
}

TEST(FaultInjectorDeathTest, OnlyOneInjectorAtATime) {
  FaultInjector first;
  EXPECT_DEATH(FaultInjector second,
               "^uncopyable: FaultInjector: a second injector armed while one is");
}

}  // namespace
}  // namespace uncopyable
