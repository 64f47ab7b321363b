#include "uncopyable/testing/wall_clock.h"

#include <atomic>

#include "uncopyable/internal/deadline.h"

namespace uncopyable::testing {

WallClockStep::WallClockStep(absl::Duration step) : step_(absl::ToInt64Nanoseconds(step)) {
  internal::wall_clock_offset_nanos().fetch_add(step_, std::memory_order_relaxed);
}

WallClockStep::~WallClockStep() {
  internal::wall_clock_offset_nanos().fetch_sub(step_, std::memory_order_relaxed);
}

}  // namespace uncopyable::testing
