// Fake handle traits for testing UniqueHandle without a kernel: the "resource"
// is an int token, and closing it is recorded, so a test can see what was
// closed, how often, and make a close fail.
#ifndef UNCOPYABLE_TESTS_TESTING_RECORDING_TRAITS_H_
#define UNCOPYABLE_TESTS_TESTING_RECORDING_TRAITS_H_

#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "uncopyable/unique_handle.h"

namespace uncopyable::testing {

// What the fake traits saw. Reset it at the start of each test.
struct CloseLog {
  std::vector<int> closed;         // tokens, in the order they were closed
  absl::Status next_close_result;  // returned by the next close, then OK
};

inline CloseLog& close_log() {
  static CloseLog log;
  return log;
}

// Stateless traits with a distinct invalid value per HandleState.
struct RecordingTraits {
  using value_type = int;
  static constexpr std::string_view kName = "Token";
  static constexpr int invalid() noexcept { return 0; }
  static constexpr int vacant(HandleState state) noexcept {
    return -static_cast<int>(state);
  }
  static constexpr bool is_valid(int token) noexcept { return token > 0; }
  static absl::Status close(int token) {
    close_log().closed.push_back(token);
    return std::exchange(close_log().next_close_result, absl::OkStatus());
  }
};

// Stateless traits without states: every kind of emptiness is 0.
struct PlainTraits {
  using value_type = int;
  static constexpr std::string_view kName = "PlainToken";
  static constexpr int invalid() noexcept { return 0; }
  static constexpr bool is_valid(int token) noexcept { return token > 0; }
  static absl::Status close(int token) { return RecordingTraits::close(token); }
};

// Traits with state: each handle remembers which pool its token came from.
struct PoolTraits {
  using value_type = int;
  static constexpr std::string_view kName = "PoolToken";
  static constexpr int invalid() noexcept { return 0; }
  static constexpr bool is_valid(int token) noexcept { return token > 0; }
  absl::Status close(int token) {
    return RecordingTraits::close(pool * 1000 + token);
  }
  int pool = 0;
};

}  // namespace uncopyable::testing

#endif  // UNCOPYABLE_TESTS_TESTING_RECORDING_TRAITS_H_
