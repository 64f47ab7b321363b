// libFuzzer target: from_json of every config type (the library's and the
// test-only ones) never crashes, hangs or leaks, and what it accepts
// survives to_json (secrets revealed) unchanged.
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/fuzz_round_trip.h"
#include "tests/testing/example_configs.h"
#include "uncopyable/config_json.h"
#include "uncopyable/file.h"
#include "uncopyable/mutex.h"
#include "uncopyable/postgres.h"
#include "uncopyable/socket.h"
#include "uncopyable/sqlite.h"

namespace {

template <typename T>
void fuzz_one(absl::string_view input) {
  uncopyable::fuzz::check_round_trip<T>(
      input, [](absl::string_view text) { return uncopyable::from_json<T>(text); },
      [](const T& config) { return uncopyable::to_json(config, uncopyable::Secrets::kReveal); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  fuzz_one<testing_configs::Everything>(input);
  fuzz_one<testing_configs::Retry>(input);
  fuzz_one<testing_configs::DbConfig>(input);
  fuzz_one<testing_configs::StoreConfig>(input);
  fuzz_one<uncopyable::FileConfig>(input);
  fuzz_one<uncopyable::MutexConfig>(input);
  fuzz_one<uncopyable::SocketConfig>(input);
  fuzz_one<uncopyable::ListenerConfig>(input);
  fuzz_one<uncopyable::SqliteConfig>(input);
  fuzz_one<uncopyable::PostgresConfig>(input);
  return 0;
}
