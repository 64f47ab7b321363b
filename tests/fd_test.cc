#include "uncopyable/fd.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "gtest/gtest.h"
#include "uncopyable/testing/fault_injection.h"

namespace uncopyable {
namespace {

using testing::FaultInjector;
using testing::Syscall;

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF; }

int open_null() {
  const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  EXPECT_GE(fd, 0);
  return fd;
}

TEST(FdTest, ClosesItsDescriptorOnDestruction) {
  int number;
  {
    Fd fd(open_null());
    number = fd.get();
    EXPECT_TRUE(is_open(number));
  }
  EXPECT_FALSE(is_open(number));
}

TEST(FdTest, MovedDescriptorIsClosedOnceByItsNewOwner) {
  Fd outer;
  int number;
  {
    Fd inner(open_null());
    number = inner.get();
    outer = std::move(inner);
  }
  EXPECT_TRUE(is_open(number));
  EXPECT_EQ(outer.get(), number);
  EXPECT_TRUE(outer.close().ok());
  EXPECT_FALSE(is_open(number));
}

TEST(FdTest, ReleaseHandsOwnershipToTheCaller) {
  int number;
  {
    Fd fd(open_null());
    number = fd.release();
  }
  EXPECT_TRUE(is_open(number));
  ::close(number);
}

TEST(FdTest, EmptinessIsEncodedInTheInt) {
  Fd moved(open_null()), closed(open_null()), released(open_null());
  Fd taker = std::move(moved);
  ASSERT_TRUE(closed.close().ok());
  ::close(released.release());
  EXPECT_EQ(Fd().state(), HandleState::kEmpty);
  EXPECT_EQ(moved.state(), HandleState::kMovedFrom);  // NOLINT(bugprone-use-after-move): the state under test
  EXPECT_EQ(closed.state(), HandleState::kClosed);
  EXPECT_EQ(released.state(), HandleState::kReleased);
}

TEST(FdTest, CloseErrorIsReportedWithTheDescriptorAndErrno) {
  Fd fd(open_null());
  const int number = fd.get();
  FaultInjector fault;
  fault.fail_nth(1, EIO, Syscall::kClose);
  const absl::Status status = fd.close();
  EXPECT_EQ(fault.injected(), 1) << fault.describe();
  EXPECT_EQ(status.code(), absl::ErrnoToStatusCode(EIO)) << status;
  EXPECT_EQ(status.message(),
            "close fd " + std::to_string(number) + ": Input/output error [EIO]");
  // Linux releases the descriptor even when close reports an error.
  EXPECT_FALSE(is_open(number));
  EXPECT_EQ(fd.state(), HandleState::kClosed);
}

TEST(FdTest, CloseIsNeverRetriedOnEintr) {
  Fd fd(open_null());
  FaultInjector fault;
  fault.fail_nth(1, EINTR, Syscall::kClose);
  const absl::Status status = fd.close();
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("[EINTR]"), std::string_view::npos) << status;
  // Exactly one close call: a retry could close a descriptor that another
  // thread has just been given the same number for.
  EXPECT_EQ(fault.calls_seen(), 1) << fault.describe();
}

TEST(FdTest, DestructorClosesDespiteAFailingClose) {
  int number;
  {
    Fd fd(open_null());
    number = fd.get();
    FaultInjector fault;
    fault.fail_nth(1, EIO, Syscall::kClose);
    fd.reset();
    EXPECT_EQ(fault.injected(), 1);
  }
  EXPECT_FALSE(is_open(number));
}

TEST(FdViewTest, BorrowsWithoutOwning) {
  Fd fd(open_null());
  const FdView view = fd;
  EXPECT_EQ(view.get(), fd.get());
  const FdView copy = view;  // views copy freely
  EXPECT_EQ(copy, view);
  EXPECT_EQ(FdView(STDERR_FILENO).get(), STDERR_FILENO);
}

}  // namespace
}  // namespace uncopyable
