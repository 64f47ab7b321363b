// libFuzzer target: from_url of every config type with a URL form, and
// Endpoint::from_string, never crash, hang or leak, and what they accept
// survives the way back to text unchanged.
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/fuzz_round_trip.h"
#include "tests/testing/example_configs.h"
#include "uncopyable/config_url.h"
#include "uncopyable/endpoint.h"
#include "uncopyable/file.h"
#include "uncopyable/postgres.h"
#include "uncopyable/sqlite.h"

namespace {

template <typename T>
void fuzz_one(absl::string_view input) {
  uncopyable::fuzz::check_round_trip<T>(
      input, [](absl::string_view text) { return uncopyable::from_url<T>(text); },
      [](const T& config) { return uncopyable::to_url(config, uncopyable::Secrets::kReveal); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  fuzz_one<testing_configs::DbConfig>(input);
  fuzz_one<testing_configs::StoreConfig>(input);
  fuzz_one<uncopyable::FileConfig>(input);
  fuzz_one<uncopyable::SqliteConfig>(input);
  fuzz_one<uncopyable::PostgresConfig>(input);
  uncopyable::fuzz::check_round_trip<uncopyable::Endpoint>(
      input, [](absl::string_view text) { return uncopyable::Endpoint::from_string(text); },
      [](const uncopyable::Endpoint& endpoint) { return endpoint.to_string(); });
  return 0;
}
