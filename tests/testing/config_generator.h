// Random valid configs for property tests, from a seeded engine so that a
// failure can be replayed: the seed is part of every failure message.
#ifndef UNCOPYABLE_TESTS_TESTING_CONFIG_GENERATOR_H_
#define UNCOPYABLE_TESTS_TESTING_CONFIG_GENERATOR_H_

#include <cstdint>
#include <random>
#include <string>

#include "tests/testing/example_configs.h"

namespace testing_configs {

class ConfigGenerator {
 public:
  explicit ConfigGenerator(uint64_t seed) : engine_(seed) {}

  // Any bytes but NUL, weighted toward the ones URLs and JSON treat
  // specially: percent, at, colon, slash, question mark, hash, ampersand,
  // equals, plus, space, quote, backslash, non-ASCII.
  std::string text(int min_length, int max_length) {
    static constexpr char kSpecial[] = "%@:/?#&=+ \"\\[]~*'\t\n";
    const int length = uniform(min_length, max_length);
    std::string out;
    for (int i = 0; i < length; ++i) {
      switch (uniform(0, 3)) {
        case 0: out += kSpecial[uniform(0, sizeof kSpecial - 2)]; break;
        case 1: out += static_cast<char>(uniform(0x80, 0xff)); break;
        default: out += static_cast<char>(uniform('a', 'z')); break;
      }
    }
    return out;
  }

  absl::Duration duration() {
    switch (uniform(0, 3)) {
      case 0: return absl::ZeroDuration();
      case 1: return absl::Seconds(uniform(0, 100000));
      case 2: return absl::Milliseconds(uniform(0, 100000));
      default: return absl::Nanoseconds(uniform(0, 1 << 30));
    }
  }

  template <typename E>
  E pick(std::initializer_list<E> values) {
    return values.begin()[uniform(0, static_cast<int>(values.size()) - 1)];
  }

  uncopyable::Endpoint endpoint() {
    switch (uniform(0, 3)) {
      case 0: return uncopyable::Endpoint::tcp("127.0.0.1", static_cast<uint16_t>(uniform(0, 65535)));
      case 1: return uncopyable::Endpoint::tcp(pick({"::1", "fe80::1:2", "localhost", "db.example"}),
                                              static_cast<uint16_t>(uniform(0, 65535)));
      case 2: return uncopyable::Endpoint::unix_socket("/" + text(1, 40));
      default: return uncopyable::Endpoint::abstract_unix(text(1, 40));
    }
  }

  Everything everything() {
    Everything c;
    c.name = text(1, 30);
    c.enabled = uniform(0, 1) == 1;
    c.offset = uniform(-1000000, 1000000);
    c.port = static_cast<uint16_t>(uniform(1, 65535));
    c.big = std::uniform_int_distribution<uint64_t>()(engine_);
    c.ratio = uniform(0, 1000) / 1000.0;
    c.color = pick({Color::red, Color::green, Color::blue});
    c.timeout = duration();
    c.token = uncopyable::Secret<std::string>(text(0, 20));
    if (uniform(0, 1)) c.limit = uniform(-100, 100);
    for (int i = uniform(0, 3); i > 0; --i) c.tags.push_back(text(0, 10));
    c.retry.attempts = uniform(1, 100);
    c.retry.backoff = duration();
    c.peer = endpoint();
    return c;
  }

  DbConfig db() {
    DbConfig c;
    c.host = pick({"localhost", "127.0.0.1", "::1", "2001:db8::7", "/run/postgresql",
                   "db-1.internal"});
    if (uniform(0, 3) == 0) c.host = text(1, 20);
    c.port = static_cast<uint16_t>(uniform(1, 65535));
    c.dbname = text(1, 20);
    if (uniform(0, 1)) c.user = text(1, 12);
    if (uniform(0, 1)) c.password = uncopyable::Secret<std::string>(text(1, 16));
    c.sslmode = pick({SslMode::disable, SslMode::prefer, SslMode::require, SslMode::verify_full});
    c.connect_timeout = duration();
    if (uniform(0, 1)) c.application_name = text(0, 20);
    return c;
  }

  StoreConfig store() {
    StoreConfig c;
    c.path = pick({"/tmp/", "relative/", "", ":memory:"}) + text(1, 30);
    if (c.path.empty()) c.path = "x";
    c.mode = pick({OpenMode::ro, OpenMode::rw, OpenMode::rwc});
    c.busy_timeout = duration();
    return c;
  }

  int uniform(int low, int high) { return std::uniform_int_distribution<int>(low, high)(engine_); }

 private:
  std::mt19937_64 engine_;
};

}  // namespace testing_configs

#endif  // UNCOPYABLE_TESTS_TESTING_CONFIG_GENERATOR_H_
