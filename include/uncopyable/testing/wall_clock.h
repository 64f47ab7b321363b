// uncopyable/testing/wall_clock.h: step the wall clock, as the library sees it.
//
//   {
//     uncopyable::testing::WallClockStep back(-absl::Hours(1));
//     // The library's wall clock now reads an hour earlier, as after an
//     // NTP step or `date -s`: a deadline given as absl::Time before the
//     // step must still pass on time.
//   }  // and reads true again
//
// Every wait in the library is on the monotonic clock (internal/deadline.h);
// the wall clock is read only where an absl::Time deadline comes in (once)
// or goes out to an API that takes one. A step made while a wait is under
// way must therefore change nothing; a test proves it with this, which
// needs no root and leaves the machine's clock alone. Steps add up; each
// is undone when its object goes. Process-wide: any thread sees it.
#ifndef UNCOPYABLE_TESTING_WALL_CLOCK_H_
#define UNCOPYABLE_TESTING_WALL_CLOCK_H_

#include <cstdint>

#include "absl/time/time.h"

namespace uncopyable::testing {

class WallClockStep {
 public:
  explicit WallClockStep(absl::Duration step);
  WallClockStep(const WallClockStep&) = delete;
  WallClockStep& operator=(const WallClockStep&) = delete;
  ~WallClockStep();

 private:
  int64_t step_;
};

}  // namespace uncopyable::testing

#endif  // UNCOPYABLE_TESTING_WALL_CLOCK_H_
