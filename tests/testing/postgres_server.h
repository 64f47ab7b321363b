// A private PostgreSQL server for a test binary: its own cluster in a fresh
// folder under /tmp, reached over a Unix socket in that folder, with password
// authentication. Started and stopped by the test itself, so `bazel test`
// needs nothing running beforehand; a test that needs it fails (never skips)
// when it cannot start.
#ifndef UNCOPYABLE_TESTS_TESTING_POSTGRES_SERVER_H_
#define UNCOPYABLE_TESTS_TESTING_POSTGRES_SERVER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "uncopyable/postgres.h"

namespace uncopyable::testing {

class PostgresServer {
 public:
  // initdb, then start. The error carries the tools' output. With `tcp`,
  // it also listens on 127.0.0.1, at a port that was free (tcp_config()).
  static absl::StatusOr<std::unique_ptr<PostgresServer>> start(bool tcp = false);
  // Stops it (immediately) and removes its folder.
  ~PostgresServer();

  // How to reach it, as the test user with the right password.
  PostgresConfig config() const;
  // The same over TCP, to 127.0.0.1 (a server started with `tcp` only).
  PostgresConfig tcp_config() const;
  static constexpr char kPassword[] = "uncopyable-test-password";
  // Waits (at most 5 s) until some session runs `sql` (as pg_stat_activity
  // shows it), watched from a connection of its own made from `config`.
  // Death tests give each wait its own text, as the sessions of one that
  // died may still be running theirs.
  static void wait_until_running(const PostgresConfig& config, const std::string& sql);

  // The postmaster's process id (from its postmaster.pid), or -1.
  int postmaster_pid() const;

  // pg_ctl -m immediate stop: a crash, from the server's point of view.
  absl::Status stop_immediately();
  // pg_ctl start again, on the same folder and socket.
  absl::Status restart();

 private:
  explicit PostgresServer(std::string dir) : dir_(std::move(dir)) {}
  absl::Status pg_ctl(const std::vector<std::string>& arguments);
  std::string dir_;
  bool tcp_ = false;
  uint16_t port_ = 5432;
};

}  // namespace uncopyable::testing

#endif  // UNCOPYABLE_TESTS_TESTING_POSTGRES_SERVER_H_
