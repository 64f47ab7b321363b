// The score-board reads the database through a pool: on SQLite, and on a
// private PostgreSQL server that is stopped and restarted under it. Requests
// made while the server is down get a clear Status within their deadline;
// once it is back they succeed, with nothing done by the client or the
// board's owner (no reconnect, no retry of their own).
#include "examples/database_board.h"

#include <cstdlib>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "examples/match_store.h"
#include "examples/scoreboard.h"
#include "examples/standings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/postgres_suite.h"
#include "uncopyable/postgres.h"
#include "uncopyable/socket.h"
#include "uncopyable/sqlite.h"

namespace tournament {
namespace {

using ::testing::AnyOf;
using ::testing::Eq;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::vector<Match> kMatches = {
    {.round = 1, .winner = "ann", .loser = "bob", .winner_points = 21, .loser_points = 15},
    {.round = 1, .winner = "dev", .loser = "cho", .winner_points = 18, .loser_points = 12},
};

// How long the server may take over one answer, and how long the client
// waits for it (longer: an answer always comes before the client gives up).
constexpr absl::Duration kAnswerWithin = absl::Seconds(2);
constexpr absl::Duration kClientWaits = absl::Seconds(6);

uncopyable::Socket connect_to(const ScoreBoardServer& server) {
  absl::StatusOr<uncopyable::Socket> client =
      uncopyable::rebuild(uncopyable::SocketConfig{.endpoint = server.endpoint(),
                                                   .connect_timeout = absl::Seconds(5),
                                                   .send_timeout = absl::Seconds(5),
                                                   .receive_timeout = kClientWaits});
  EXPECT_TRUE(client.ok()) << client.status();
  return *std::move(client);
}

uncopyable::Listener loopback() {
  absl::StatusOr<uncopyable::Listener> listener = uncopyable::rebuild(
      uncopyable::ListenerConfig{.endpoint = uncopyable::Endpoint::tcp("127.0.0.1", 0)});
  EXPECT_TRUE(listener.ok()) << listener.status();
  return *std::move(listener);
}

// read_scoreboard(client), failing the test (not hanging it) past `limit`.
absl::StatusOr<std::string> read_within(uncopyable::Socket& client, absl::Duration limit) {
  auto result = std::async(std::launch::async, [&] { return read_scoreboard(client); });
  if (result.wait_for(absl::ToChronoMilliseconds(limit)) != std::future_status::ready) {
    ADD_FAILURE() << "no answer within " << limit;
  }
  return result.get();
}

TEST(DatabaseBoardSqliteTest, ServesTheStandingsOfTheCommittedMatches) {
  const std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/board.db");
  absl::StatusOr<uncopyable::SqliteConnection> db =
      uncopyable::rebuild(uncopyable::SqliteConfig{.path = path});
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE(create_table(*db, Tables::kCreate).ok());
  ASSERT_TRUE(insert(*db, kMatches).ok());

  absl::StatusOr<DatabaseBoard<uncopyable::SqliteConnection>> board =
      DatabaseBoard<uncopyable::SqliteConnection>::open(
          {.handle = db->config(), .pool = {.max_size = 2, .min_idle = 2}});
  ASSERT_TRUE(board.ok()) << board.status();
  {
    ScoreBoardServer server(loopback(), *board, kAnswerWithin);
    uncopyable::Socket client = connect_to(server);
    absl::StatusOr<std::string> read = read_within(client, absl::Seconds(10));
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(*read, table_of(kMatches));
    EXPECT_THAT(*read, HasSubstr("ann"));
    // A match committed by another connection shows in the next answer.
    const Match third{
        .round = 2, .winner = "bob", .loser = "cho", .winner_points = 20, .loser_points = 2};
    ASSERT_TRUE(insert(*db, {third}).ok());
    read = read_within(client, absl::Seconds(10));
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(*read, table_of({kMatches[0], kMatches[1], third}));
    EXPECT_TRUE(client.close().ok());
    EXPECT_TRUE(server.stop().ok());
  }
  EXPECT_EQ(board->pool().metrics().acquires, 2);
  EXPECT_EQ(board->pool().metrics().in_use, 0);
  ASSERT_TRUE(db->close().ok());
}

// A server of each test's own, the matches in it: they stop and restart it.
class DatabaseBoardPostgresTest : public uncopyable::testing::PostgresPerTestSuite {
 protected:
  void SetUp() override {
    PostgresPerTestSuite::SetUp();
    if (HasFatalFailure()) return;
    absl::StatusOr<uncopyable::PostgresConnection> db = uncopyable::rebuild(server().config());
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE(create_table(*db, Tables::kCreate).ok());
    ASSERT_TRUE(insert(*db, kMatches).ok());
    ASSERT_TRUE(db->close().ok());
  }

  // The board's pool: quick to notice the server is back (a short backoff).
  static DatabaseBoard<uncopyable::PostgresConnection>::Config config(int size) {
    uncopyable::PostgresConfig handle = PostgresPerTestSuite::config();
    handle.connect_timeout = absl::Seconds(2);
    handle.query_timeout = absl::Seconds(5);
    return {.handle = handle,
            .pool = {.max_size = size,
                     .min_idle = size,
                     .rebuild_backoff_initial = absl::Milliseconds(20),
                     .rebuild_backoff_max = absl::Milliseconds(100)}};
  }
};

TEST_F(DatabaseBoardPostgresTest, KeepsServingAcrossAServerRestart) {
  absl::StatusOr<DatabaseBoard<uncopyable::PostgresConnection>> board =
      DatabaseBoard<uncopyable::PostgresConnection>::open(config(2));
  ASSERT_TRUE(board.ok()) << board.status();
  ScoreBoardServer scoreboard(loopback(), *board, kAnswerWithin);
  uncopyable::Socket client = connect_to(scoreboard);
  absl::StatusOr<std::string> read = read_within(client, absl::Seconds(10));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, table_of(kMatches));

  ASSERT_TRUE(server().stop_immediately().ok());
  // While it is down: an error each, saying why, within the answer's
  // deadline (and the client keeps its connection to the score-board).
  const std::string prefix = absl::StrCat("score-board at ", scoreboard.endpoint().to_string(), ": ");
  for (int i = 0; i < 3; ++i) {
    const absl::Time start = absl::Now();
    absl::StatusOr<std::string> down = read_within(client, absl::Seconds(10));
    const absl::Duration took = absl::Now() - start;
    ASSERT_FALSE(down.ok()) << i << ": " << *down;
    EXPECT_THAT(down.status().code(), AnyOf(Eq(absl::StatusCode::kUnavailable),
                                            Eq(absl::StatusCode::kDeadlineExceeded)))
        << down.status();
    EXPECT_THAT(std::string(down.status().message()), StartsWith(prefix));
    // It names the database: the pool's resource, or the lost connection's.
    EXPECT_THAT(std::string(down.status().message()),
                HasSubstr(uncopyable::PostgresConnection::resource_for(
                    board->pool().config().handle)))
        << down.status();
    EXPECT_LT(took, kAnswerWithin + absl::Seconds(2)) << i << ": " << down.status();
  }
  // The last of them waited for a connection in vain, and says why.
  absl::StatusOr<std::string> down = read_within(client, absl::Seconds(10));
  EXPECT_EQ(down.status().code(), absl::StatusCode::kDeadlineExceeded) << down.status();
  EXPECT_THAT(std::string(down.status().message()),
              HasSubstr(absl::StrCat(prefix, "acquire ", board->pool().resource(),
                                     ": no handle within ")));
  EXPECT_THAT(std::string(down.status().message()), HasSubstr("last rebuild error: connect "));

  ASSERT_TRUE(server().restart().ok());
  // Back: the very next request succeeds, on the same client connection.
  read = read_within(client, absl::Seconds(10));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, table_of(kMatches));
  read = read_within(client, absl::Seconds(10));
  ASSERT_TRUE(read.ok()) << read.status();

  EXPECT_TRUE(client.close().ok());
  EXPECT_TRUE(scoreboard.stop().ok());
  const uncopyable::PoolMetrics metrics = board->pool().metrics();
  EXPECT_EQ(metrics.in_use, 0);
  EXPECT_GE(metrics.failed_builds, 1);
  EXPECT_GE(metrics.timeouts, 1);
}

// A restart between two requests, with no request while it was down: the
// pool's one connection is dead, and may be lent unchecked (it was given
// back within health_check_skip_within). Its Unavailable error has the
// board mark it broken and take the fresh one the pool builds: the client
// sees the table.
TEST_F(DatabaseBoardPostgresTest, AConnectionLostInARestartIsReplacedUnseen) {
  absl::StatusOr<DatabaseBoard<uncopyable::PostgresConnection>> board =
      DatabaseBoard<uncopyable::PostgresConnection>::open(config(1));
  ASSERT_TRUE(board.ok()) << board.status();
  ScoreBoardServer scoreboard(loopback(), *board, kAnswerWithin);
  uncopyable::Socket client = connect_to(scoreboard);
  absl::StatusOr<std::string> read = read_within(client, absl::Seconds(10));
  ASSERT_TRUE(read.ok()) << read.status();

  ASSERT_TRUE(server().stop_immediately().ok());
  ASSERT_TRUE(server().restart().ok());
  read = read_within(client, absl::Seconds(10));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, table_of(kMatches));
  EXPECT_TRUE(client.close().ok());
  EXPECT_TRUE(scoreboard.stop().ok());
  const uncopyable::PoolMetrics metrics = board->pool().metrics();
  // Found dead one way or the other: by the health check, or by the query.
  EXPECT_EQ(metrics.dropped.broken + metrics.dropped.failed_health_check, 1);
}

}  // namespace
}  // namespace tournament
