// The system-call seam: quiet when disarmed, exact when armed.
#include "uncopyable/internal/syscall.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <thread>
#include <type_traits>

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
  EXPECT_STREQ(internal::syscall_name(Syscall::kNamed), "named");
}

// A call the seam has no wrapper for, made where it is needed (as a new
// kind's source does): eventfd(2), then close through the seam.
int eventfd_and_close() {
  const int fd = sys::call("eventfd", [&] { return ::eventfd(0, EFD_CLOEXEC); });
  if (fd < 0) return errno;
  return sys::close(fd) < 0 ? errno : 0;
}

TEST(SyscallSeamTest, ANamedCallReachesTheKernelWhenDisarmed) {
  EXPECT_FALSE(internal::fault_armed.load());
  const int fd = sys::call("eventfd", [&] { return ::eventfd(0, EFD_CLOEXEC); });
  ASSERT_GE(fd, 0);
  EXPECT_EQ(::fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);  // it made that very call
  EXPECT_EQ(sys::close(fd), 0);
}

TEST(SyscallSeamTest, CountsANamedCallByItsName) {
  FaultInjector count;
  EXPECT_EQ(eventfd_and_close(), 0);
  EXPECT_THAT(count.calls(), ElementsAre(Syscall::kNamed, Syscall::kClose));
  EXPECT_THAT(count.call_names(), ElementsAre("eventfd", "close"));
  EXPECT_EQ(count.describe(), "counted [eventfd, close], failed none");
}

TEST(SyscallSeamTest, FailsANamedCallByPositionLikeAnyOther) {
  FaultInjector fault;
  fault.fail_nth(1, EMFILE);
  EXPECT_EQ(eventfd_and_close(), EMFILE);  // and nothing reached the kernel to leak
  EXPECT_EQ(fault.injected(), 1);
}

TEST(SyscallSeamTest, AimsAtANamedCallByItsName) {
  FaultInjector fault;
  fault.fail_nth(1, EMFILE, "eventfd");
  EXPECT_EQ(open_read_close(), 0);  // other calls pass, uncounted
  EXPECT_EQ(eventfd_and_close(), EMFILE);
  EXPECT_THAT(fault.describe(),
              HasSubstr("failed eventfd call #1 with EMFILE (1 injected) of [open, read, close, "
                        "eventfd]"));
}

TEST(SyscallSeamTest, AimsAtAWrappersCallByItsNameToo) {
  FaultInjector fault;
  fault.fail_nth(1, EIO, "read");
  EXPECT_EQ(eventfd_and_close(), 0);
  EXPECT_EQ(open_read_close(), EIO);
  EXPECT_EQ(fault.injected(), 1);
}

TEST(SyscallSeamTest, TheNamedKindAimsAtEveryCallThroughSysCall) {
  FaultInjector fault;
  fault.fail_nth(1, ENFILE, Syscall::kNamed, /*times=*/2);
  EXPECT_EQ(open_read_close(), 0);
  EXPECT_EQ(eventfd_and_close(), ENFILE);
  EXPECT_EQ(sys::call("timerfd_create", [&] { return -1; }), -1);  // the second, failed
  EXPECT_EQ(errno, ENFILE);
  EXPECT_EQ(eventfd_and_close(), 0);  // a run of two, no more
  EXPECT_EQ(fault.injected(), 2);
  EXPECT_THAT(fault.describe(), HasSubstr("failed sys::call() call #1 and the 1 after it"));
}

TEST(SyscallSeamTest, AnEmptyNameAimsAtEveryCall) {
  FaultInjector fault;
  fault.fail_nth(2, EIO, "");
  EXPECT_EQ(open_read_close(), EIO);  // the read
}

TEST(SyscallSeamTest, ANamedCallThatFailsWithAnotherValueReturnsIt) {
  const auto map = [] {
    return sys::call("mmap", MAP_FAILED, [&] {
      return ::mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    });
  };
  {
    FaultInjector fault;
    fault.fail_nth(1, ENOMEM, "mmap");
    EXPECT_EQ(map(), MAP_FAILED);
    EXPECT_EQ(errno, ENOMEM);
    EXPECT_EQ(fault.injected(), 1);
  }
  void* mapped = map();
  ASSERT_NE(mapped, MAP_FAILED);
  EXPECT_EQ(::munmap(mapped, 4096), 0);
}

TEST(SyscallSeamTest, ANamedCallKeepsWhatTheCallReturns) {
  const ssize_t wrote = sys::call("write", [&] { return ::write(-1, "x", 1); });
  static_assert(std::is_same_v<decltype(wrote), const ssize_t>);
  EXPECT_EQ(wrote, -1);
  EXPECT_EQ(errno, EBADF);
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
