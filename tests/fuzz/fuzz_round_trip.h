// Shared by the fuzzers: whatever the input, parsing ends in a config or a
// clear error; a config that parsed survives its own round trip unchanged.
#ifndef UNCOPYABLE_TESTS_FUZZ_FUZZ_ROUND_TRIP_H_
#define UNCOPYABLE_TESTS_FUZZ_FUZZ_ROUND_TRIP_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// The entry point every fuzz target defines (libFuzzer's contract).
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace uncopyable::fuzz {

// Aborts (a crash the fuzzer reports) with both forms when a round trip
// changed the value.
template <typename T, typename Parse, typename Print>
void check_round_trip(absl::string_view input, Parse parse, Print print) {
  absl::StatusOr<T> first = parse(input);
  if (!first.ok()) {
    if (first.status().message().empty()) {
      std::fprintf(stderr, "an error without a message\n");
      std::abort();
    }
    return;
  }
  const std::string printed = print(*first);
  absl::StatusOr<T> second = parse(printed);
  if (!second.ok() || !(*second == *first)) {
    std::fprintf(stderr, "round trip changed the value:\n  printed: %s\n  reread: %s\n",
                 printed.c_str(),
                 second.ok() ? "a different value" : std::string(second.status().message()).c_str());
    std::abort();
  }
}

}  // namespace uncopyable::fuzz

#endif  // UNCOPYABLE_TESTS_FUZZ_FUZZ_ROUND_TRIP_H_
