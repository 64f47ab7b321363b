// Test-only configs that exercise every kind of field the config machinery
// knows. Each needs only its description and its rules, like a real one.
#ifndef UNCOPYABLE_TESTS_TESTING_EXAMPLE_CONFIGS_H_
#define UNCOPYABLE_TESTS_TESTING_EXAMPLE_CONFIGS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "uncopyable/config.h"
#include "uncopyable/config_url.h"
#include "uncopyable/endpoint.h"
#include "uncopyable/secret.h"

namespace testing_configs {

enum class Color { red, green, blue };
UNCOPYABLE_ENUM(Color, red, green, blue)

// A config nested inside another.
struct Retry {
  UNCOPYABLE_CONFIG(Retry, attempts, backoff)

  int32_t attempts = 3;                               // tries before giving up
  absl::Duration backoff = absl::Milliseconds(100);  // wait between tries

  absl::Status validate() const {
    return uncopyable::ConfigRules(*this)
        .in_range("attempts", attempts, 1, 100)
        .non_negative("backoff", backoff)
        .status();
  }
};

// One field of every kind.
struct Everything {
  UNCOPYABLE_CONFIG(Everything, name, enabled, offset, port, big, ratio, color, timeout, token, limit, tags, retry, peer)

  std::string name{};                                  // required
  bool enabled = true;                               // a switch
  int32_t offset = -5;                               // signed
  uint16_t port = 8080;                              // narrow unsigned
  uint64_t big = 1;                                  // wide unsigned
  double ratio = 0.5;                                // floating point
  Color color = Color::green;                        // enum, by name
  absl::Duration timeout = absl::Seconds(1.5);       // "1.5s"
  uncopyable::Secret<std::string> token{};             // never printed
  std::optional<int32_t> limit{};                      // null when absent
  std::vector<std::string> tags{};                     // a list
  Retry retry{};                                       // nested
  uncopyable::Endpoint peer = uncopyable::Endpoint::tcp("127.0.0.1", 80);  // string form

  static constexpr absl::string_view kRequired[] = {"name"};

  absl::Status validate() const {
    return uncopyable::ConfigRules(*this)
        .non_empty("name", name)
        .in_range("port", port, uint16_t{1}, uint16_t{65535})
        .non_negative("timeout", timeout)
        .check(ratio >= 0 && ratio <= 1, "ratio", "must be within [0, 1]")
        .valid("retry", retry.validate())
        .valid("peer", peer.validate())
        .status();
  }
};

enum class SslMode { disable, prefer, require, verify_full };
UNCOPYABLE_ENUM(SslMode, disable, prefer, require, verify_full)

// A database-style config with a URL form: user, password, host, port, name.
struct DbConfig {
  UNCOPYABLE_CONFIG(DbConfig, host, port, dbname, user, password, sslmode, connect_timeout, application_name)

  std::string host = "localhost";                     // name, address or socket dir
  uint16_t port = 5432;                               // TCP port
  std::string dbname{};                                 // required
  std::string user{};                                   // empty: the OS user
  uncopyable::Secret<std::string> password{};           // never printed
  SslMode sslmode = SslMode::prefer;                  // TLS policy
  absl::Duration connect_timeout = absl::Seconds(10);  // per attempt
  std::string application_name{};                       // shown by the server

  static constexpr absl::string_view kRequired[] = {"dbname"};

  absl::Status validate() const {
    return uncopyable::ConfigRules(*this)
        .non_empty("host", host)
        .in_range("port", port, uint16_t{1}, uint16_t{65535})
        .non_empty("dbname", dbname)
        .non_negative("connect_timeout", connect_timeout)
        .finite("connect_timeout", connect_timeout)
        .status();
  }
};

enum class OpenMode { ro, rw, rwc };
UNCOPYABLE_ENUM(OpenMode, ro, rw, rwc)

// A file-style config with a URL form: the path is the URL's path.
struct StoreConfig {
  UNCOPYABLE_CONFIG(StoreConfig, path, mode, busy_timeout)

  std::string path{};                                   // required
  OpenMode mode = OpenMode::rwc;                      // how to open
  absl::Duration busy_timeout = absl::Seconds(5);     // wait for locks

  static constexpr absl::string_view kRequired[] = {"path"};

  absl::Status validate() const {
    return uncopyable::ConfigRules(*this)
        .non_empty("path", path)
        .non_negative("busy_timeout", busy_timeout)
        .status();
  }
};

}  // namespace testing_configs

template <>
struct uncopyable::UrlForm<testing_configs::DbConfig> {
  static constexpr absl::string_view kScheme = "postgresql";
  static constexpr absl::string_view kUser = "user";
  static constexpr absl::string_view kPassword = "password";
  static constexpr absl::string_view kHost = "host";
  static constexpr absl::string_view kPort = "port";
  static constexpr absl::string_view kPath = "dbname";
  static constexpr bool kPathIsName = true;
};

template <>
struct uncopyable::UrlForm<testing_configs::StoreConfig> {
  static constexpr absl::string_view kScheme = "store";
  static constexpr absl::string_view kPath = "path";
};

#endif  // UNCOPYABLE_TESTS_TESTING_EXAMPLE_CONFIGS_H_
