// What a libpqxx user expects of a PostgreSQL connection beyond commands:
// LISTEN/NOTIFY notifications taken (and not kept for ever), identifiers
// and literals quoted for SQL that cannot take a parameter, and which
// parts of libpq's environment still apply to a config.
#include <stdlib.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/postgres_suite.h"
#include "uncopyable/postgres.h"

namespace uncopyable {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

class PostgresNotifyTest : public testing::PostgresSuite {
 protected:
  static int backend_of(PostgresConnection& db) {
    absl::StatusOr<int64_t> pid = db.query_value<int64_t>("SELECT pg_backend_pid()");
    EXPECT_TRUE(pid.ok()) << pid.status();
    return pid.ok() ? static_cast<int>(*pid) : -1;
  }
  // Takes notifications from `db` until `count` came or 10 s passed.
  static std::vector<PostgresNotification> take(PostgresConnection& db, size_t count) {
    std::vector<PostgresNotification> all;
    const absl::Time until = absl::Now() + absl::Seconds(10);
    while (all.size() < count && absl::Now() < until) {
      absl::StatusOr<std::vector<PostgresNotification>> some =
          db.wait_for_notification(until - absl::Now());
      if (!some.ok()) {
        ADD_FAILURE() << some.status();
        break;
      }
      all.insert(all.end(), some->begin(), some->end());
    }
    return all;
  }
};

TEST_F(PostgresNotifyTest, ANotifyFromAnotherConnectionIsTakenWithItsPayloadAndSender) {
  PostgresConnection listener = connect();
  PostgresConnection sender = connect();
  ASSERT_TRUE(listener.execute("LISTEN jobs").ok());
  const int sender_pid = backend_of(sender);
  ASSERT_TRUE(sender.execute("NOTIFY jobs, 'the \"first\" job'").ok());

  const std::vector<PostgresNotification> got = take(listener, 1);
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0], (PostgresNotification{
                        .channel = "jobs", .payload = "the \"first\" job", .backend_pid = sender_pid}));
  // Taken: not handed out again.
  absl::StatusOr<std::vector<PostgresNotification>> again = listener.notifications();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_THAT(*again, IsEmpty());
}

TEST_F(PostgresNotifyTest, NothingArrivesBeforeTheSendersTransactionCommits) {
  PostgresConnection listener = connect();
  PostgresConnection sender = connect();
  ASSERT_TRUE(listener.execute("LISTEN jobs").ok());
  absl::StatusOr<PostgresTransaction> tx = sender.begin();
  ASSERT_TRUE(tx.ok()) << tx.status();
  ASSERT_TRUE(sender.execute("NOTIFY jobs, 'later'").ok());
  absl::StatusOr<std::vector<PostgresNotification>> early =
      listener.wait_for_notification(absl::Milliseconds(300));
  ASSERT_TRUE(early.ok()) << early.status();
  EXPECT_THAT(*early, IsEmpty());
  ASSERT_TRUE(tx->commit().ok());
  const std::vector<PostgresNotification> got = take(listener, 1);
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0].payload, "later");
}

TEST_F(PostgresNotifyTest, NotificationsReadDuringCommandsAreKeptInOrderAndFreedWhenTaken) {
  PostgresConnection listener = connect();
  PostgresConnection sender = connect();
  ASSERT_TRUE(listener.execute("LISTEN bulk").ok());
  // Three rounds of a thousand: each round hands out its own thousand, not
  // everything since the session began (what is taken is let go).
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(sender
                    .execute(absl::StrCat("SELECT pg_notify('bulk', '", round,
                                          ":' || g) FROM generate_series(1, 1000) g"))
                    .ok());
    // Commands on the listener read them as they come (libpq queues them).
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(listener.execute("SELECT 1").ok());
    const std::vector<PostgresNotification> got = take(listener, 1000);
    ASSERT_THAT(got, SizeIs(1000));
    for (int i = 0; i < 1000; ++i) {
      ASSERT_EQ(got[i].payload, absl::StrCat(round, ":", i + 1));
      ASSERT_EQ(got[i].channel, "bulk");
    }
    absl::StatusOr<std::vector<PostgresNotification>> rest = listener.notifications();
    ASSERT_TRUE(rest.ok()) << rest.status();
    EXPECT_THAT(*rest, IsEmpty());
  }
}

TEST_F(PostgresNotifyTest, AWaitWithNoneReturnsEmptyByItsTimeoutAndTheConnectionGoesOn) {
  PostgresConnection listener = connect();
  ASSERT_TRUE(listener.execute("LISTEN quiet").ok());
  absl::StatusOr<std::vector<PostgresNotification>> none =
      listener.wait_for_notification(absl::Milliseconds(200));
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_THAT(*none, IsEmpty());
  absl::StatusOr<std::vector<PostgresNotification>> zero =
      listener.wait_for_notification(absl::ZeroDuration());
  ASSERT_TRUE(zero.ok()) << zero.status();
  EXPECT_THAT(*zero, IsEmpty());
  absl::StatusOr<int64_t> one = listener.query_value<int64_t>("SELECT 1");
  ASSERT_TRUE(one.ok()) << one.status();
}

TEST_F(PostgresNotifyTest, ANotificationToItselfComesWithTheCommand) {
  PostgresConnection db = connect();
  ASSERT_TRUE(db.execute("LISTEN self").ok());
  ASSERT_TRUE(db.execute("NOTIFY self, 'me'").ok());
  const std::vector<PostgresNotification> got = take(db, 1);
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0].payload, "me");
  EXPECT_EQ(got[0].backend_pid, backend_of(db));
}

TEST_F(PostgresNotifyTest, ALostConnectionIsUnavailable) {
  PostgresConnection listener = connect();
  PostgresConnection killer = connect();
  ASSERT_TRUE(listener.execute("LISTEN jobs").ok());
  const int pid = backend_of(listener);
  ASSERT_TRUE(killer.execute(absl::StrCat("SELECT pg_terminate_backend(", pid, ")")).ok());
  absl::StatusOr<std::vector<PostgresNotification>> got =
      listener.wait_for_notification(absl::Seconds(10));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable) << got.status();
  EXPECT_THAT(got.status().message(),
              HasSubstr(absl::StrCat("wait_for_notification ", where(), ": ")));
}

// A pool asks reusable() when a lease gives a connection back: one that
// LISTENs, or holds notifications not taken, is not lent to the next user.
TEST_F(PostgresNotifyTest, AListeningConnectionOrOneWithNotificationsWaitingIsNotReusable) {
  PostgresConnection db = connect();
  ASSERT_TRUE(db.reusable());
  ASSERT_TRUE(db.execute("LISTEN pooled").ok());
  EXPECT_FALSE(db.reusable());
  ASSERT_TRUE(db.execute("UNLISTEN *").ok());
  EXPECT_TRUE(db.reusable());

  // One came (to itself) while it listened: still there after UNLISTEN.
  ASSERT_TRUE(db.execute("listen pooled").ok());
  ASSERT_TRUE(db.execute("NOTIFY pooled").ok());
  ASSERT_TRUE(db.execute(" unlisten  * ;").ok());
  EXPECT_FALSE(db.reusable());
  absl::StatusOr<std::vector<PostgresNotification>> taken = db.notifications();
  ASSERT_TRUE(taken.ok()) << taken.status();
  EXPECT_THAT(*taken, SizeIs(1));
  EXPECT_TRUE(db.reusable());

  ASSERT_TRUE(db.execute("LISTEN pooled").ok());
  ASSERT_TRUE(db.execute("DISCARD ALL").ok());
  EXPECT_TRUE(db.reusable());
}

// Today's review: a notice handler set by one lease (capturing what ends
// with its request) was called for the next lease's notices.
TEST_F(PostgresNotifyTest, AConnectionWithANoticeHandlerIsNotReusableUntilItIsCleared) {
  PostgresConnection db = connect();
  ASSERT_TRUE(db.reusable());
  db.set_notice_handler([](const PostgresNotice&) {});
  EXPECT_FALSE(db.reusable());
  db.set_notice_handler(nullptr);
  EXPECT_TRUE(db.reusable());
}

// ---------------------------------------------------------------------------
// Quoting for SQL that cannot take a parameter.

TEST_F(PostgresNotifyTest, HostileNamesAndTextsAreQuotedAndTheSqlBuiltWithThemRuns) {
  PostgresConnection db = connect();
  const std::string name = "we\"ird ; DROP TABLE x; --";
  absl::StatusOr<std::string> table = db.quote_identifier(name);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(*table, "\"we\"\"ird ; DROP TABLE x; --\"");
  absl::StatusOr<std::string> column = db.quote_identifier("Mixed Case");
  ASSERT_TRUE(column.ok()) << column.status();

  const std::string text = "it's a \\ back'; DROP TABLE x; --";
  absl::StatusOr<std::string> literal = db.quote_literal(text);
  ASSERT_TRUE(literal.ok()) << literal.status();
  absl::StatusOr<std::string> plain = db.quote_literal("it's");
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(*plain, "'it''s'");
  // A backslash: libpq's E'' form, with the space before it.
  absl::StatusOr<std::string> backslash = db.quote_literal("a\\b");
  ASSERT_TRUE(backslash.ok()) << backslash.status();
  EXPECT_EQ(*backslash, " E'a\\\\b'");

  ASSERT_TRUE(db.execute(absl::StrCat("CREATE TEMP TABLE ", *table, " (", *column, " text)")).ok());
  ASSERT_TRUE(
      db.execute(absl::StrCat("INSERT INTO ", *table, " VALUES (", *literal, ")")).ok());
  absl::StatusOr<std::string> back =
      db.query_value<std::string>(absl::StrCat("SELECT ", *column, " FROM ", *table));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, text);
  // The table has the name as given, every byte of it.
  absl::StatusOr<int64_t> named = db.query_value<int64_t>(
      "SELECT count(*) FROM pg_class WHERE relname = $1", name);
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_EQ(*named, 1);
}

TEST_F(PostgresNotifyTest, ANulByteIsRefusedBeforeLibpqAndTheTextIsNeverQuoted) {
  PostgresConnection db = connect();
  const absl::string_view with_nul("secret\0tail", 11);
  absl::StatusOr<std::string> name = db.quote_identifier(with_nul);
  ASSERT_FALSE(name.ok());
  EXPECT_EQ(name.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(name.status().message(),
            absl::StrCat("quote_identifier ", where(),
                         ": the 11-byte name contains a NUL byte at offset 6"));
  absl::StatusOr<std::string> literal = db.quote_literal(with_nul);
  ASSERT_FALSE(literal.ok());
  EXPECT_EQ(literal.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(literal.status().message(), Not(HasSubstr("secret")));
  EXPECT_THAT(literal.status().message(), HasSubstr("the 11-byte text contains a NUL byte"));
}

TEST_F(PostgresNotifyTest, TextThatIsNotValidInTheSessionsEncodingIsInvalidArgument) {
  PostgresConnection db = connect();
  ASSERT_TRUE(db.execute("SET client_encoding TO 'UTF8'").ok());
  const std::string bad = "pw\xC3(x";  // a lead byte with no continuation
  absl::StatusOr<std::string> name = db.quote_identifier(bad);
  ASSERT_FALSE(name.ok());
  EXPECT_EQ(name.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(name.status().message(), HasSubstr("the 5-byte name could not be quoted"));
  EXPECT_THAT(name.status().message(), Not(HasSubstr("pw")));
  absl::StatusOr<std::string> literal = db.quote_literal(bad);
  ASSERT_FALSE(literal.ok());
  EXPECT_EQ(literal.status().code(), absl::StatusCode::kInvalidArgument);
  // Valid UTF-8 is quoted as it is.
  absl::StatusOr<std::string> fine = db.quote_identifier("caf\xC3\xA9");
  ASSERT_TRUE(fine.ok()) << fine.status();
  EXPECT_EQ(*fine, "\"caf\xC3\xA9\"");
}

// ---------------------------------------------------------------------------
// libpq's environment: what a config leaves empty or does not name.

// Sets an environment variable for the scope of a test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = ::getenv(name); old != nullptr) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_.has_value()) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST_F(PostgresNotifyTest, AnEmptyUserIsPgUserFromTheEnvironment) {
  PostgresConfig c = config();
  ASSERT_FALSE(c.user.empty());
  const std::string user = c.user;
  c.user.clear();
  ScopedEnv pguser("PGUSER", user);
  absl::StatusOr<PostgresConnection> db = rebuild(c);
  ASSERT_TRUE(db.ok()) << db.status();
  absl::StatusOr<std::string> current = db->query_value<std::string>("SELECT current_user::text");
  ASSERT_TRUE(current.ok()) << current.status();
  EXPECT_EQ(*current, user);
}

TEST_F(PostgresNotifyTest, PgOptionsFromTheEnvironmentApplyToEveryConfig) {
  ScopedEnv options("PGOPTIONS", "-c search_path=nowhere");
  PostgresConnection db = connect();
  absl::StatusOr<std::string> path = db.query_value<std::string>("SHOW search_path");
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(*path, "nowhere");
}

TEST_F(PostgresNotifyTest, WhatTheConfigAlwaysSendsIsNotTakenFromTheEnvironment) {
  ScopedEnv host("PGHOST", "/nonexistent-socket-dir");
  ScopedEnv port("PGPORT", "1");
  ScopedEnv database("PGDATABASE", "nowhere");
  ScopedEnv sslmode("PGSSLMODE", "verify-full");
  PostgresConnection db = connect();
  absl::StatusOr<std::string> name = db.query_value<std::string>("SELECT current_database()::text");
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_EQ(*name, config().dbname);
}

}  // namespace
}  // namespace uncopyable
