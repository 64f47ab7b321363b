// The score-board server answers, and no client can stop it from serving
// the next one or from stopping.
#include "examples/scoreboard.h"

#include <atomic>

#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "examples/standings.h"
#include "gtest/gtest.h"
#include "uncopyable/socket.h"

namespace tournament {
namespace {

class ScoreBoardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<Standings> opened = Standings::open({.name = "standings"});
    ASSERT_TRUE(opened.ok()) << opened.status();
    standings_.emplace(*std::move(opened));
    standings_->record(
        {.round = 1, .winner = "ann", .loser = "bob", .winner_points = 21, .loser_points = 15});
    absl::StatusOr<uncopyable::Listener> listener = uncopyable::rebuild(
        uncopyable::ListenerConfig{.endpoint = uncopyable::Endpoint::tcp("127.0.0.1", 0)});
    ASSERT_TRUE(listener.ok()) << listener.status();
    server_.emplace(*std::move(listener), *standings_);
  }

  uncopyable::Socket connect() {
    absl::StatusOr<uncopyable::Socket> client =
        uncopyable::rebuild(uncopyable::SocketConfig{.endpoint = server_->endpoint(),
                                                     .connect_timeout = absl::Seconds(5),
                                                     .send_timeout = absl::Seconds(5),
                                                     .receive_timeout = absl::Seconds(5)});
    EXPECT_TRUE(client.ok()) << client.status();
    return *std::move(client);
  }

  std::optional<Standings> standings_;
  std::optional<ScoreBoardServer> server_;  // after standings_: stops first
};

TEST_F(ScoreBoardTest, AnswersWithTheStandings) {
  uncopyable::Socket client = connect();
  absl::StatusOr<std::string> board = read_scoreboard(client);
  ASSERT_TRUE(board.ok()) << board.status();
  EXPECT_EQ(*board, standings_->table());
  EXPECT_NE(board->find("ann"), std::string::npos);
  ASSERT_TRUE(client.close().ok());
  EXPECT_TRUE(server_->stop().ok());
  EXPECT_TRUE(server_->stop().ok()) << "a second stop() does nothing";
}

TEST_F(ScoreBoardTest, ABadRequestLosesOnlyThatClient) {
  uncopyable::Socket rude = connect();
  ASSERT_TRUE(rude.send("scores please\n").ok());
  char byte = 0;
  absl::StatusOr<size_t> got = rude.receive(absl::MakeSpan(&byte, 1));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, 0u) << "the server should have hung up on it";

  uncopyable::Socket polite = connect();
  absl::StatusOr<std::string> board = read_scoreboard(polite);
  EXPECT_TRUE(board.ok()) << board.status();
  EXPECT_TRUE(server_->stop().ok());
}

TEST_F(ScoreBoardTest, AClientThatStopsMidRequestCannotHoldTheServer) {
  uncopyable::Socket stalled = connect();
  ASSERT_TRUE(stalled.send("stand").ok());  // and never the rest
  absl::SleepFor(absl::Milliseconds(100));
  const absl::Time start = absl::Now();
  EXPECT_TRUE(server_->stop().ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(5)) << "stop() waited on a stalled client";
}

TEST_F(ScoreBoardTest, ASlowClientIsDisconnectedAndTheNextOneServed) {
  uncopyable::Socket stalled = connect();
  ASSERT_TRUE(stalled.send("stand").ok());
  char byte = 0;
  absl::StatusOr<size_t> got = stalled.receive(absl::MakeSpan(&byte, 1));  // up to 5 s
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, 0u) << "the server should have given up on it after 2 s";

  uncopyable::Socket next = connect();
  absl::StatusOr<std::string> board = read_scoreboard(next);
  EXPECT_TRUE(board.ok()) << board.status();
}

// A board that fails while `down`, and keeps how far off its deadline was.
class FlakyBoard final : public Board {
 public:
  absl::StatusOr<std::string> read(absl::Time deadline) override {
    left_ms.store(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (down.load()) return absl::UnavailableError("the database at \"db\" is down");
    return std::string("# player\n1 ann\n");
  }
  std::atomic<bool> down{true};
  std::atomic<int64_t> left_ms{-1};  // of the last deadline, when it was given
};

TEST(ScoreBoardErrorTest, TheBoardsErrorReachesTheClientWhoStaysConnected) {
  FlakyBoard board;
  absl::StatusOr<uncopyable::Listener> listener = uncopyable::rebuild(
      uncopyable::ListenerConfig{.endpoint = uncopyable::Endpoint::tcp("127.0.0.1", 0)});
  ASSERT_TRUE(listener.ok()) << listener.status();
  ScoreBoardServer server(*std::move(listener), board, absl::Milliseconds(700));
  absl::StatusOr<uncopyable::Socket> client =
      uncopyable::rebuild(uncopyable::SocketConfig{.endpoint = server.endpoint(),
                                                   .connect_timeout = absl::Seconds(5),
                                                   .send_timeout = absl::Seconds(5),
                                                   .receive_timeout = absl::Seconds(5)});
  ASSERT_TRUE(client.ok()) << client.status();

  absl::StatusOr<std::string> failed = read_scoreboard(*client);
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable) << failed.status();
  EXPECT_EQ(failed.status().message(),
            absl::StrCat("score-board at ", server.endpoint().to_string(),
                         ": the database at \"db\" is down"));
  EXPECT_GT(board.left_ms.load(), 0);
  EXPECT_LE(board.left_ms.load(), 700);

  board.down = false;
  absl::StatusOr<std::string> served = read_scoreboard(*client);  // the same connection
  ASSERT_TRUE(served.ok()) << served.status();
  EXPECT_EQ(*served, "# player\n1 ann\n");
  EXPECT_TRUE(client->close().ok());
  EXPECT_TRUE(server.stop().ok());
}

}  // namespace
}  // namespace tournament
