// uncopyable/internal/deadline.h: a deadline on the monotonic clock.
//
//   const internal::Deadline deadline = internal::Deadline::at(when);  // once
//   while (!deadline.passed()) {
//     ... poll(fd, deadline.poll_milliseconds()) ...
//   }
//
// The public API takes deadlines as absl::Time (wall-clock time, what
// absl::Now() says) and timeouts as absl::Duration. Library code turns each
// into a Deadline once, where it comes in, and waits on that: a point on
// CLOCK_MONOTONIC (std::chrono::steady_clock), which only moves forward. So
// a step of the wall clock during a wait (NTP stepping it, an administrator
// setting it, a virtual machine resumed) neither stretches the wait by the
// step (a step back of an hour would otherwise be an hour-long hang) nor
// cuts it short. Ages (how long a pooled handle has been idle, leased,
// alive) are read on the same clock.
//
// A Deadline is a value: copy it, compare it, take the earlier of two.
// Not part of the public API.
#ifndef UNCOPYABLE_INTERNAL_DEADLINE_H_
#define UNCOPYABLE_INTERNAL_DEADLINE_H_

#include <atomic>
#include <chrono>
#include <cstdint>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace uncopyable::internal {

// Now on the monotonic clock, as an absl::Time counted from that clock's
// own epoch (boot, on Linux): comparable and subtractable only with other
// values of monotonic_now(), never with absl::Now().
absl::Time monotonic_now();

// Now on the wall clock, as the library reads it: absl::Now(), plus the
// offset a test set with testing::WallClockStep (uncopyable/testing/
// wall_clock.h), which is how a test steps the wall clock without root.
absl::Time wall_now();
// What testing::WallClockStep adds to absl::Now() in wall_now().
std::atomic<int64_t>& wall_clock_offset_nanos();

class Deadline {
 public:
  // Never passes.
  static Deadline never() { return Deadline(absl::InfiniteFuture()); }
  // `timeout` from now. InfiniteDuration() never passes; zero or less has
  // passed already.
  static Deadline after(absl::Duration timeout) {
    if (timeout == absl::InfiniteDuration()) return never();
    if (timeout <= absl::ZeroDuration()) return Deadline(absl::InfinitePast());
    return Deadline(monotonic_now() + timeout);
  }
  // The wall-clock time `when`, read against the wall clock once, now:
  // after that, a step of the wall clock does not move it.
  // absl::InfiniteFuture() never passes; absl::InfinitePast() has passed.
  static Deadline at(absl::Time when) {
    if (when == absl::InfiniteFuture()) return never();
    if (when == absl::InfinitePast()) return Deadline(absl::InfinitePast());
    return after(when - wall_now());
  }

  bool is_never() const { return at_ == absl::InfiniteFuture(); }
  bool passed() const { return passed_at(monotonic_now()); }
  // What is left of it: never negative; InfiniteDuration() for never().
  absl::Duration left() const { return left_at(monotonic_now()); }
  // The same at `now`, a monotonic_now() the caller read already (one
  // clock read for several questions).
  bool passed_at(absl::Time now) const { return !is_never() && now >= at_; }
  absl::Duration left_at(absl::Time now) const {
    if (is_never()) return absl::InfiniteDuration();
    const absl::Duration left = at_ - now;
    return left > absl::ZeroDuration() ? left : absl::ZeroDuration();
  }
  // For poll(2): milliseconds left, rounded up (a deadline 0.3 ms away is
  // a wait of 1 ms, not a busy loop), -1 for never, at most 2^30.
  int poll_milliseconds() const;
  // As a wall-clock time (wall_now() + left()), for an API that takes one,
  // such as a handle's check_health(absl::Time).
  absl::Time wall() const {
    if (is_never()) return absl::InfiniteFuture();
    if (at_ == absl::InfinitePast()) return absl::InfinitePast();
    return wall_now() + left();
  }
  // For std::condition_variable::wait_until: the same point on
  // std::chrono::steady_clock, at most a year from now (a later one is
  // woken from and waited for again by the caller's loop).
  std::chrono::steady_clock::time_point steady() const;
  // The point itself, on the monotonic_now() clock.
  absl::Time monotonic() const { return at_; }

  friend bool operator==(const Deadline& a, const Deadline& b) { return a.at_ == b.at_; }
  friend bool operator<(const Deadline& a, const Deadline& b) { return a.at_ < b.at_; }

 private:
  explicit Deadline(absl::Time monotonic) : at_(monotonic) {}
  absl::Time at_;  // on the monotonic_now() clock, or InfiniteFuture / InfinitePast
};

}  // namespace uncopyable::internal

#endif  // UNCOPYABLE_INTERNAL_DEADLINE_H_
