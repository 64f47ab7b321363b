#include "tests/testing/postgres_suite.h"

#include <cstdlib>
#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace uncopyable::testing {
namespace {

// The one server of this process (suites run one after the other), never
// destroyed at exit: a death test's child must not stop its parent's server.
struct Running {
  std::unique_ptr<PostgresServer> server;
  bool tcp = false;
  std::string error = "start_server() was not called";
};

Running& running() {
  static Running* const it = new Running;
  return *it;
}

}  // namespace

void PostgresSuite::start_server(bool tcp) {
  Running& now = running();
  now.server.reset();
  now.tcp = tcp;
  absl::StatusOr<std::unique_ptr<PostgresServer>> started = PostgresServer::start(tcp);
  if (started.ok()) {
    now.server = *std::move(started);
    now.error.clear();
  } else {
    now.error = started.status().ToString();
  }
}

void PostgresSuite::stop_server() {
  Running& now = running();
  now.server.reset();
  now.error = "the server was stopped";
}

std::string PostgresSuite::not_ready() {
  const Running& now = running();
  return now.server != nullptr ? "" : "the PostgreSQL server did not start: " + now.error;
}

void PostgresSuite::SetUp() {
  // A missing server fails every test that needs it, with the reason.
  ASSERT_EQ(not_ready(), "");
}

PostgresServer& PostgresSuite::server() {
  Running& now = running();
  if (now.server == nullptr) {
    ADD_FAILURE() << not_ready();
    std::abort();
  }
  return *now.server;
}

PostgresConfig PostgresSuite::config() {
  return running().tcp ? server().tcp_config() : server().config();
}

PostgresConnection PostgresSuite::connect() { return connect(config()); }

PostgresConnection PostgresSuite::connect(const PostgresConfig& config) {
  absl::StatusOr<PostgresConnection> db = PostgresConnection::open(config);
  EXPECT_TRUE(db.ok()) << db.status();
  return *std::move(db);
}

PostgresResult PostgresSuite::result_of(const std::string& sql) {
  PostgresConnection db = connect();
  absl::StatusOr<PostgresResult> result = db.query(sql);
  EXPECT_TRUE(result.ok()) << result.status();
  return *std::move(result);
}

std::string PostgresSuite::where() {
  const PostgresConfig c = config();
  return absl::StrCat("postgresql ", c.user, "@", c.host, ":", c.port, "/", c.dbname);
}

void PostgresSuite::wait_until_the_server_runs(const std::string& sql) {
  PostgresServer::wait_until_running(config(), sql);
}

void PostgresDeathSuite::SetUp() {
  PostgresSuite::SetUp();
  GTEST_FLAG_SET(death_test_style, "fast");
}

void PostgresDeathSuite::TearDown() { GTEST_FLAG_SET(death_test_style, "threadsafe"); }

void PostgresPerTestSuite::SetUp() {
  start_server();
  PostgresSuite::SetUp();
}

void PostgresPerTestSuite::TearDown() { stop_server(); }

}  // namespace uncopyable::testing
