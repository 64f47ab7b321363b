// internal::Deadline: every wait of the library is on it, on the monotonic
// clock, with the wall clock read once where an absl::Time comes in.
#include "uncopyable/internal/deadline.h"

#include <chrono>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "uncopyable/testing/wall_clock.h"

namespace uncopyable::internal {
namespace {

TEST(DeadlineTest, NeverNeverPasses) {
  const Deadline never = Deadline::never();
  EXPECT_TRUE(never.is_never());
  EXPECT_FALSE(never.passed());
  EXPECT_EQ(never.left(), absl::InfiniteDuration());
  EXPECT_EQ(never.poll_milliseconds(), -1);
  EXPECT_EQ(never.wall(), absl::InfiniteFuture());
  EXPECT_EQ(Deadline::after(absl::InfiniteDuration()), never);
  EXPECT_EQ(Deadline::at(absl::InfiniteFuture()), never);
  EXPECT_GT(never.steady(), std::chrono::steady_clock::now() + std::chrono::hours(24 * 300));
}

TEST(DeadlineTest, ZeroNegativeAndThePastHavePassed) {
  for (const Deadline d : {Deadline::after(absl::ZeroDuration()), Deadline::after(-absl::Seconds(1)),
                           Deadline::at(absl::InfinitePast()),
                           Deadline::at(absl::Now() - absl::Seconds(1))}) {
    EXPECT_TRUE(d.passed());
    EXPECT_FALSE(d.is_never());
    EXPECT_EQ(d.left(), absl::ZeroDuration());
    EXPECT_EQ(d.poll_milliseconds(), 0);  // poll(2) looks once, waits not
  }
  EXPECT_EQ(Deadline::at(absl::InfinitePast()).wall(), absl::InfinitePast());
}

TEST(DeadlineTest, PollMillisecondsRoundUpSoNoWaitSpins) {
  const Deadline soon = Deadline::after(absl::Microseconds(300));
  EXPECT_EQ(soon.poll_milliseconds(), 1);
  const Deadline later = Deadline::after(absl::Seconds(2));
  EXPECT_GT(later.poll_milliseconds(), 1900);
  EXPECT_LE(later.poll_milliseconds(), 2000);
  EXPECT_EQ(Deadline::after(absl::Hours(24 * 365 * 100)).poll_milliseconds(), 1 << 30);
}

TEST(DeadlineTest, TheEarlierOfTwo) {
  const Deadline near = Deadline::after(absl::Seconds(1));
  const Deadline far = Deadline::after(absl::Seconds(5));
  EXPECT_LT(near, far);
  EXPECT_EQ(std::min(far, near), near);
  EXPECT_EQ(std::min(Deadline::never(), near), near);
}

TEST(DeadlineTest, AWallClockStepAfterItWasTakenDoesNotMoveIt) {
  const Deadline deadline = Deadline::at(absl::Now() + absl::Seconds(10));
  {
    testing::WallClockStep back(-absl::Hours(1));
    EXPECT_LE(deadline.left(), absl::Seconds(10));
    EXPECT_GT(deadline.left(), absl::Seconds(9));
    EXPECT_FALSE(deadline.passed());
  }
  {
    testing::WallClockStep ahead(absl::Hours(1));
    EXPECT_FALSE(deadline.passed());
    EXPECT_LE(deadline.left(), absl::Seconds(10));
    // Given to an API that takes a wall-clock time, it is said in the
    // wall clock of now.
    EXPECT_GT(deadline.wall(), wall_now() + absl::Seconds(9));
  }
}

TEST(DeadlineTest, AnAbslTimeIsReadAgainstTheWallClockOnce) {
  testing::WallClockStep ahead(absl::Hours(1));
  // The library's wall clock reads an hour ahead: a time 10 s after what
  // it reads is 10 s away, and one 10 s after the true time has passed.
  EXPECT_GT(Deadline::at(wall_now() + absl::Seconds(10)).left(), absl::Seconds(9));
  EXPECT_TRUE(Deadline::at(absl::Now() + absl::Seconds(10)).passed());
}

TEST(WallClockStepTest, StepsAddUpAndAreUndone) {
  const absl::Duration before = wall_now() - absl::Now();
  {
    testing::WallClockStep one(absl::Hours(1));
    testing::WallClockStep two(absl::Hours(2));
    EXPECT_GT(wall_now() - absl::Now(), absl::Hours(3) - absl::Seconds(1));
  }
  EXPECT_LT(absl::AbsDuration((wall_now() - absl::Now()) - before), absl::Seconds(1));
}

}  // namespace
}  // namespace uncopyable::internal
