#include "uncopyable/internal/deadline.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace uncopyable::internal {
namespace {

constexpr absl::Duration kLongestWait = absl::Hours(24 * 365);

constinit std::atomic<int64_t> wall_offset_nanos{0};  // 0 unless a test stepped it

}  // namespace

absl::Time monotonic_now() {
  return absl::UnixEpoch() + absl::FromChrono(std::chrono::steady_clock::now().time_since_epoch());
}

std::atomic<int64_t>& wall_clock_offset_nanos() { return wall_offset_nanos; }

absl::Time wall_now() {
  return absl::Now() + absl::Nanoseconds(wall_offset_nanos.load(std::memory_order_relaxed));
}

int Deadline::poll_milliseconds() const {
  if (is_never()) return -1;
  const int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(left(), absl::Milliseconds(1)));
  return static_cast<int>(std::min<int64_t>(ms, int64_t{1} << 30));
}

std::chrono::steady_clock::time_point Deadline::steady() const {
  const auto now = std::chrono::steady_clock::now();
  return now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                   absl::ToChronoNanoseconds(std::min(left(), kLongestWait)));
}

}  // namespace uncopyable::internal
