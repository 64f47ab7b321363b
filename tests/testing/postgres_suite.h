// The fixture of every test suite that runs against a private PostgreSQL
// server (postgres_server.h): one server per suite, started before its first
// test and stopped after its last, so that `bazel test` needs nothing running
// beforehand.
//
//   class PostgresValuesTest : public uncopyable::testing::PostgresSuite {};
//
//   TEST_F(PostgresValuesTest, Something) {
//     PostgresConnection db = connect();
//     ...
//   }
//
// A server that cannot start FAILS every test of the suite (never skips),
// with the tools' output (initdb's, pg_ctl's, the server's log).
//
// Death tests derive from PostgresDeathSuite: its death tests fork ("fast")
// so that the child reaches the server this process started; a re-executed
// child ("threadsafe") would run SetUpTestSuite again and start a second
// server. Suites that stop, restart or freeze the server and want each test
// to find a fresh one derive from PostgresPerTestSuite.
#ifndef UNCOPYABLE_TESTS_TESTING_POSTGRES_SUITE_H_
#define UNCOPYABLE_TESTS_TESTING_POSTGRES_SUITE_H_

#include <string>

#include "gtest/gtest.h"
#include "tests/testing/postgres_server.h"
#include "uncopyable/postgres.h"

namespace uncopyable::testing {

class PostgresSuite : public ::testing::Test {
 public:
  // (Public: helpers of a suite's own, such as the "sides" of a typed test,
  // use them too.)
  // Starts a server (listening on 127.0.0.1 too with `tcp`, and then
  // reached over TCP by config()), replacing one that runs. What went wrong,
  // if anything, is kept for SetUp() to report.
  static void start_server(bool tcp = false);
  // Stops the server (pg_ctl -m immediate stop) and removes its folder.
  static void stop_server();
  // Whether a server runs ("" when it does), or why not.
  static std::string not_ready();

  // The running server (a test that gets here passed SetUp(), so there is one).
  static PostgresServer& server();
  // How to reach it as the test user: over TCP to 127.0.0.1 when
  // start_server(/*tcp=*/true) started it, else over its Unix socket.
  static PostgresConfig config();
  // A connection made from config() (or from `config`); a failure to open
  // it fails the test.
  static PostgresConnection connect();
  static PostgresConnection connect(const PostgresConfig& config);
  // What `sql` returns, run on a connection of its own (a PostgresResult
  // outlives its connection); a failure fails the test. In a death test the
  // whole of it runs in the child.
  static PostgresResult result_of(const std::string& sql);
  // How the connection's messages name the database:
  // "postgresql user@host:port/db".
  static std::string where();
  // Waits (bounded) until some session of the server runs `sql`
  // (PostgresServer::wait_until_running, seen from config()).
  static void wait_until_the_server_runs(const std::string& sql);

 protected:
  // Starts the suite's server (over a Unix socket).
  static void SetUpTestSuite() { start_server(); }
  // Stops it and removes its folder.
  static void TearDownTestSuite() { stop_server(); }
  // Fails the test (fatally) when the server did not start, saying why.
  void SetUp() override;
};

// The same for death tests: each test's death tests fork ("fast"), the
// child a copy of this process that reaches its server; the style goes back
// to "threadsafe" (the project's default) after the test.
class PostgresDeathSuite : public PostgresSuite {
 protected:
  void SetUp() override;
  void TearDown() override;
};

// A server of each test's own, started before the test and stopped after
// it, for tests that stop, restart or freeze it.
class PostgresPerTestSuite : public PostgresSuite {
 protected:
  static void SetUpTestSuite() {}
  static void TearDownTestSuite() {}
  void SetUp() override;
  void TearDown() override;
};

}  // namespace uncopyable::testing

#endif  // UNCOPYABLE_TESTS_TESTING_POSTGRES_SUITE_H_
