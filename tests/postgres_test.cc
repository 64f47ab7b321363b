// PostgresConnection against a real server that this test binary starts.
#include "uncopyable/postgres.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <functional>

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/forked_child.h"
#include "tests/testing/fds.h"
#include "tests/testing/postgres_suite.h"
#include "uncopyable/config_json.h"
#include "uncopyable/config_url.h"

namespace uncopyable {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

static_assert(Rebuildable<PostgresConnection>);
static_assert(Config<PostgresConfig>);

class PostgresTest : public testing::PostgresSuite {
 protected:
  static int64_t count(PostgresConnection& db, absl::string_view sql) {
    absl::StatusOr<PostgresResult> rows = db.query(sql);
    EXPECT_TRUE(rows.ok()) << rows.status();
    return rows.ok() ? rows->get_int64(0, 0) : -1;
  }
};

TEST_F(PostgresTest, PreparedStatementsAndTypedRows) {
  PostgresConnection db = connect();
  ASSERT_TRUE(db.execute("CREATE TABLE IF NOT EXISTS players (id serial PRIMARY KEY, name text, "
                         "rating double precision)")
                  .ok());
  ASSERT_TRUE(db.execute("TRUNCATE players").ok());
  {
    absl::StatusOr<PostgresStatement> insert =
        db.prepare("INSERT INTO players (name, rating) VALUES ($1, $2)");
    ASSERT_TRUE(insert.ok()) << insert.status();
    absl::StatusOr<PostgresResult> done = insert->execute({"ann", "1510.5"});
    ASSERT_TRUE(done.ok()) << done.status();
    EXPECT_EQ(done->affected(), 1);
    ASSERT_TRUE(insert->execute({std::string("bob"), std::nullopt}).ok());
  }
  absl::StatusOr<PostgresResult> rows = db.query("SELECT name, rating FROM players ORDER BY id");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->rows(), 2);
  EXPECT_EQ(rows->columns(), 2);
  EXPECT_EQ(rows->get_text(0, 0), "ann");
  EXPECT_DOUBLE_EQ(rows->get_double(0, 1), 1510.5);
  EXPECT_TRUE(rows->is_null(1, 1));
}

TEST_F(PostgresTest, TransactionRollsBackUnlessCommitted) {
  PostgresConnection db = connect();
  ASSERT_TRUE(db.execute("CREATE TABLE IF NOT EXISTS ledger (entry text)").ok());
  ASSERT_TRUE(db.execute("TRUNCATE ledger").ok());
  {
    absl::StatusOr<PostgresTransaction> tx = db.begin();
    ASSERT_TRUE(tx.ok()) << tx.status();
    ASSERT_TRUE(db.execute("INSERT INTO ledger VALUES ('lost')").ok());
  }
  {
    absl::StatusOr<PostgresTransaction> tx = db.begin();
    ASSERT_TRUE(db.execute("INSERT INTO ledger VALUES ('kept')").ok());
    ASSERT_TRUE(tx->commit().ok());
  }
  absl::StatusOr<PostgresResult> rows = db.query("SELECT entry FROM ledger");
  ASSERT_EQ(rows->rows(), 1);
  EXPECT_EQ(rows->get_text(0, 0), "kept");
}

TEST_F(PostgresTest, RebuildIsASecondIndependentSession) {
  PostgresConnection db = connect();
  absl::StatusOr<PostgresConnection> second = db.rebuild();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->config(), db.config());
  absl::StatusOr<PostgresResult> a = db.query("SELECT pg_backend_pid()");
  absl::StatusOr<PostgresResult> b = second->query("SELECT pg_backend_pid()");
  EXPECT_NE(a->get_int64(0, 0), b->get_int64(0, 0));  // two server processes
}

TEST_F(PostgresTest, WrongPasswordIsUnavailableAndNeverQuoted) {
  PostgresConfig config = server().config();
  config.password = Secret<std::string>("wrong-hunter2");
  absl::StatusOr<PostgresConnection> db = PostgresConnection::open(config);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(db.status().message(), HasSubstr("password authentication failed"));
  EXPECT_THAT(db.status().message(), Not(HasSubstr("hunter2")));
  EXPECT_THAT(to_string(config), Not(HasSubstr("hunter2")));
  EXPECT_THAT(to_json(config), Not(HasSubstr("hunter2")));
  EXPECT_THAT(to_url(config), Not(HasSubstr("hunter2")));
}

TEST_F(PostgresTest, BoundParametersCannotInjectSql) {
  PostgresConnection db = connect();
  ASSERT_TRUE(db.execute("CREATE TABLE IF NOT EXISTS names (name text)").ok());
  ASSERT_TRUE(db.execute("TRUNCATE names").ok());
  const std::vector<std::string> hostile = {"'); DROP TABLE names; --", "x' OR '1'='1",
                                            "$1; DELETE FROM names", "\\'; SELECT pg_sleep(10); --"};
  {
    absl::StatusOr<PostgresStatement> insert = db.prepare("INSERT INTO names VALUES ($1)");
    for (const std::string& value : hostile) {
      ASSERT_TRUE(insert->execute({value}).ok()) << value;
    }
  }
  absl::StatusOr<PostgresStatement> find = db.prepare("SELECT count(*) FROM names WHERE name = $1");
  for (const std::string& value : hostile) {
    absl::StatusOr<PostgresResult> count = find->execute({value});
    ASSERT_TRUE(count.ok()) << count.status();
    EXPECT_EQ(count->get_int64(0, 0), 1) << value;
  }
}

TEST_F(PostgresTest, ServerCrashIsUnavailableAndRebuildRecoversTheCommittedData) {
  PostgresConnection db = connect();
  ASSERT_TRUE(db.execute("CREATE TABLE IF NOT EXISTS durable (v int)").ok());
  ASSERT_TRUE(db.execute("TRUNCATE durable").ok());
  ASSERT_TRUE(db.execute("INSERT INTO durable VALUES (42)").ok());  // committed
  ASSERT_TRUE(server().stop_immediately().ok());
  const absl::Status lost = db.execute("SELECT 1");
  EXPECT_EQ(lost.code(), absl::StatusCode::kUnavailable) << lost;
  EXPECT_THAT(lost.message(), HasSubstr(server().config().host));
  ASSERT_TRUE(server().restart().ok());
  absl::StatusOr<PostgresConnection> again = db.rebuild();
  ASSERT_TRUE(again.ok()) << again.status();
  absl::StatusOr<PostgresResult> rows = again->query("SELECT v FROM durable");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->rows(), 1);
  EXPECT_EQ(rows->get_int64(0, 0), 42);
}

TEST_F(PostgresTest, ErrorsCarryTheServersMessageAndState) {
  PostgresConnection db = connect();
  const absl::Status status = db.execute("SELECT * FROM no_such_table");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  // The server's words, escaped like any quoted text.
  EXPECT_THAT(status.message(), HasSubstr(R"(relation \"no_such_table\" does not exist)"));
  EXPECT_THAT(status.message(), HasSubstr("[42P01]"));
}

// The SQLSTATE classes that were Unknown: each raised by the real server.
// `sqlstate` is what the server must have said, `code` what it maps to.
void expect_state(const absl::Status& status, absl::string_view sqlstate,
                  absl::StatusCode code) {
  const std::optional<SqlError> error = sql_error(status);
  ASSERT_TRUE(error.has_value()) << status;
  EXPECT_EQ(error->sqlstate, sqlstate) << status;
  EXPECT_EQ(status.code(), code) << status;
  EXPECT_THAT(status.message(), HasSubstr(absl::StrCat("[", sqlstate, "]")));
}

TEST_F(PostgresTest, FeatureNotSupportedIsUnimplemented) {
  PostgresConnection db = connect();
  ASSERT_TRUE(db.execute("CREATE TABLE IF NOT EXISTS states_0a (x int)").ok());
  // "FOR UPDATE is not allowed with aggregate functions"
  expect_state(db.execute("SELECT count(*) FROM states_0a FOR UPDATE"), "0A000",
               absl::StatusCode::kUnimplemented);
}

TEST_F(PostgresTest, InvalidTransactionStateIsFailedPrecondition) {
  PostgresConnection db = connect();
  {
    absl::StatusOr<PostgresTransaction> tx = db.begin();
    ASSERT_TRUE(tx.ok()) << tx.status();
    EXPECT_FALSE(db.execute("SELECT 1/0").ok());
    // "current transaction is aborted, commands ignored until end of
    // transaction block"
    expect_state(db.execute("SELECT 1"), "25P02", absl::StatusCode::kFailedPrecondition);
  }
  {
    absl::StatusOr<PostgresTransaction> tx = db.begin({.read_only = true});
    ASSERT_TRUE(tx.ok()) << tx.status();
    // "cannot execute CREATE TABLE in a read-only transaction"
    expect_state(db.execute("CREATE TABLE states_25 (x int)"), "25006",
                 absl::StatusCode::kFailedPrecondition);
  }
  // Several statements are one implicit transaction: "VACUUM cannot run
  // inside a transaction block".
  expect_state(db.execute("SELECT 1; VACUUM"), "25001", absl::StatusCode::kFailedPrecondition);
}

TEST_F(PostgresTest, ObjectNotInPrerequisiteStateIsFailedPrecondition) {
  PostgresConnection db = connect();
  ASSERT_TRUE(db.execute("CREATE SEQUENCE IF NOT EXISTS states_55_seq").ok());
  // "currval of sequence "states_55_seq" is not yet defined in this session"
  expect_state(db.execute("SELECT currval('states_55_seq')"), "55000",
               absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(db.execute("CREATE TABLE IF NOT EXISTS states_55 (x int)").ok());
  PostgresConnection other = connect();
  absl::StatusOr<PostgresTransaction> holding = db.begin();
  ASSERT_TRUE(holding.ok()) << holding.status();
  ASSERT_TRUE(db.execute("LOCK TABLE states_55").ok());
  {
    absl::StatusOr<PostgresTransaction> tx = other.begin();
    ASSERT_TRUE(tx.ok()) << tx.status();
    // "could not obtain lock on relation "states_55"", at once (NOWAIT)
    expect_state(other.execute("LOCK TABLE states_55 NOWAIT"), "55P03",
                 absl::StatusCode::kFailedPrecondition);
  }
}

TEST_F(PostgresTest, ProgramLimitExceededIsResourceExhausted) {
  PostgresConnection db = connect();
  // "cannot pass more than 100 arguments to a function"
  std::string call = "SELECT concat(1";
  for (int i = 0; i < 100; ++i) absl::StrAppend(&call, ", 1");
  absl::StrAppend(&call, ")");
  expect_state(db.execute(call), "54023", absl::StatusCode::kResourceExhausted);
  // "tables can have at most 1600 columns"
  std::string create = "CREATE TABLE states_54 (c0 int";
  for (int i = 1; i <= 1600; ++i) absl::StrAppend(&create, ", c", i, " int");
  absl::StrAppend(&create, ")");
  expect_state(db.execute(create), "54011", absl::StatusCode::kResourceExhausted);
}

// --- Notices --------------------------------------------------------------------

// What the process writes to fd 2 while `fn` runs (a pipe in its place).
std::string stderr_of(const std::function<void()>& fn) {
  std::fflush(stderr);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) return "pipe2 failed";
  const int saved = ::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
  ::dup2(pipe_fds[1], STDERR_FILENO);
  ::close(pipe_fds[1]);
  fn();
  std::fflush(stderr);
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  // Every write end is closed now: the reads end at what was written.
  std::string written;
  char buffer[4096];
  ssize_t got = 0;
  while ((got = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0) {
    written.append(buffer, static_cast<size_t>(got));
  }
  ::close(pipe_fds[0]);
  return written;
}

constexpr char kRaiseNotice[] = "DO $$BEGIN RAISE NOTICE 'private: %', 'ann@example.com'; END$$";

// libpq's default notice processor prints every notice to stderr.
TEST_F(PostgresTest, NoticesAreNotWrittenToStderrByDefault) {
  PostgresConnection db = connect();
  const std::string written = stderr_of([&] {
    EXPECT_TRUE(db.execute(kRaiseNotice).ok());
    EXPECT_TRUE(db.execute("COMMIT").ok());  // WARNING: there is no transaction in progress
    EXPECT_TRUE(db.execute("DROP TABLE IF EXISTS notices_none").ok());  // NOTICE: ... skipping
  });
  EXPECT_EQ(written, "");
  // The capture itself works: what is written to stderr is seen.
  EXPECT_EQ(stderr_of([] { std::fputs("seen\n", stderr); }), "seen\n");
}

TEST_F(PostgresTest, TheNoticeHandlerGetsTheServersFields) {
  PostgresConnection db = connect();
  std::vector<PostgresNotice> heard;
  const std::thread::id caller = std::this_thread::get_id();
  db.set_notice_handler([&](const PostgresNotice& notice) {
    EXPECT_EQ(std::this_thread::get_id(), caller);
    heard.push_back(notice);
  });
  const std::string written = stderr_of([&] {
    EXPECT_TRUE(db.execute(kRaiseNotice).ok());
    EXPECT_TRUE(db.execute("COMMIT").ok());
  });
  EXPECT_EQ(written, "");
  ASSERT_EQ(heard.size(), 2u);
  EXPECT_EQ(heard[0].severity, "NOTICE");
  EXPECT_EQ(heard[0].sqlstate, "00000");
  EXPECT_EQ(heard[0].message, "private: ann@example.com");
  EXPECT_EQ(heard[1].severity, "WARNING");
  EXPECT_EQ(heard[1].sqlstate, "25P01");
  EXPECT_EQ(heard[1].message, "there is no transaction in progress");
  // An empty handler drops them again.
  db.set_notice_handler(nullptr);
  EXPECT_EQ(stderr_of([&] { EXPECT_TRUE(db.execute(kRaiseNotice).ok()); }), "");
  EXPECT_EQ(heard.size(), 2u);
}

// libpq keeps the handler's address for the session: it must not move
// with the connection object.
TEST_F(PostgresTest, TheNoticeHandlerStaysWithAMovedConnection) {
  std::vector<std::string> heard;
  std::optional<PostgresConnection> first(connect());
  first->set_notice_handler(
      [&](const PostgresNotice& notice) { heard.push_back("first: " + notice.message); });
  PostgresConnection moved(std::move(*first));
  first.reset();
  EXPECT_TRUE(moved.execute(kRaiseNotice).ok());
  ASSERT_EQ(heard.size(), 1u);
  EXPECT_EQ(heard[0], "first: private: ann@example.com");
  // Assigned over a connection with a handler of its own: the session
  // assigned over ends, and the handler that moved in is the one heard.
  PostgresConnection other = connect();
  other.set_notice_handler(
      [&](const PostgresNotice& notice) { heard.push_back("other: " + notice.message); });
  other = std::move(moved);
  EXPECT_TRUE(other.execute("COMMIT").ok());
  ASSERT_EQ(heard.size(), 2u);
  EXPECT_EQ(heard[1], "first: there is no transaction in progress");
  // A handler may replace itself while it runs.
  other.set_notice_handler([&](const PostgresNotice& notice) {
    heard.push_back("replacing: " + notice.message);
    other.set_notice_handler(nullptr);
  });
  EXPECT_TRUE(other.execute(kRaiseNotice).ok());
  EXPECT_TRUE(other.execute(kRaiseNotice).ok());
  ASSERT_EQ(heard.size(), 3u);
  EXPECT_EQ(heard[2], "replacing: private: ann@example.com");
}

// A handler is not config: a rebuilt connection drops its notices.
TEST_F(PostgresTest, ARebuiltConnectionHasNoNoticeHandler) {
  PostgresConnection db = connect();
  int heard = 0;
  db.set_notice_handler([&](const PostgresNotice&) { ++heard; });
  absl::StatusOr<PostgresConnection> rebuilt = db.rebuild();
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
  EXPECT_EQ(stderr_of([&] { EXPECT_TRUE(rebuilt->execute(kRaiseNotice).ok()); }), "");
  EXPECT_EQ(heard, 0);
  EXPECT_TRUE(db.execute(kRaiseNotice).ok());
  EXPECT_EQ(heard, 1);
}

// --- A transaction whose statement failed ---------------------------------------

TEST_F(PostgresTest, CommitOfAFailedTransactionIsAbortedNotOk) {
  PostgresConnection db = connect();
  ASSERT_TRUE(db.execute("CREATE TABLE IF NOT EXISTS orders (item text)").ok());
  ASSERT_TRUE(db.execute("TRUNCATE orders").ok());
  {
    absl::StatusOr<PostgresTransaction> tx = db.begin();
    ASSERT_TRUE(tx.ok()) << tx.status();
    ASSERT_TRUE(db.execute("INSERT INTO orders VALUES ('paid')").ok());
    EXPECT_FALSE(db.execute("SELECT 1/0").ok());  // the caller saw this and went on
    const absl::Status committed = tx->commit();
    // The server answered COMMIT with ROLLBACK: nothing was saved.
    EXPECT_EQ(committed.code(), absl::StatusCode::kAborted) << committed;
    EXPECT_THAT(std::string(committed.message()),
                StartsWith("commit " + where() + ": \"COMMIT\": "));
    EXPECT_THAT(committed.message(), HasSubstr("rolled the transaction back"));
  }
  EXPECT_EQ(count(db, "SELECT count(*) FROM orders"), 0);
  // A healthy transaction still commits.
  {
    absl::StatusOr<PostgresTransaction> tx = db.begin();
    ASSERT_TRUE(db.execute("INSERT INTO orders VALUES ('kept')").ok());
    EXPECT_TRUE(tx->commit().ok());
  }
  EXPECT_EQ(count(db, "SELECT count(*) FROM orders"), 1);
}

TEST_F(PostgresTest, ACommitOfOnesOwnThatTheServerRolledBackIsAborted) {
  PostgresConnection db = connect();
  ASSERT_TRUE(db.execute("CREATE TABLE IF NOT EXISTS own (v int)").ok());
  ASSERT_TRUE(db.execute("TRUNCATE own").ok());
  for (const char* commit : {"COMMIT", "commit;", "END", " /* done */ -- now\n COMMIT WORK",
                             "COMMIT; SELECT 1"}) {
    ASSERT_TRUE(db.execute("BEGIN; INSERT INTO own VALUES (1)").ok());
    EXPECT_FALSE(db.execute("SELECT no_such_column FROM own").ok());
    const absl::Status committed = db.execute(commit);
    EXPECT_EQ(committed.code(), absl::StatusCode::kAborted) << commit << ": " << committed;
  }
  // query() alike; and a ROLLBACK asked for is no surprise.
  ASSERT_TRUE(db.execute("BEGIN").ok());
  EXPECT_FALSE(db.execute("SELECT 1/0").ok());
  EXPECT_EQ(db.query("COMMIT").status().code(), absl::StatusCode::kAborted);
  ASSERT_TRUE(db.execute("BEGIN").ok());
  EXPECT_FALSE(db.execute("SELECT 1/0").ok());
  EXPECT_TRUE(db.execute("ROLLBACK").ok());
  // COMMIT AND CHAIN in a failed transaction: never a success either.
  ASSERT_TRUE(db.execute("BEGIN").ok());
  EXPECT_FALSE(db.execute("SELECT 1/0").ok());
  const absl::Status chained = db.execute("COMMIT AND CHAIN");
  EXPECT_FALSE(chained.ok()) << chained;
  ASSERT_TRUE(db.execute("ROLLBACK").ok());
  // A COMMIT with no transaction open only makes the server warn.
  EXPECT_TRUE(db.execute("COMMIT").ok());
  EXPECT_EQ(count(db, "SELECT count(*) FROM own"), 0);
}

// --- Nested begin() --------------------------------------------------------------

// A transaction ended behind its back (a COMMIT run with execute()) must
// not end the next one: begin() is refused while it lives, and its own
// rollback() says FailedPrecondition instead of rolling back someone else's.
TEST_F(PostgresTest, ATransactionEndedByOtherSqlNeverEndsALaterOne) {
  PostgresConnection db = connect();
  ASSERT_TRUE(db.execute("CREATE TABLE IF NOT EXISTS stale (v text)").ok());
  ASSERT_TRUE(db.execute("TRUNCATE stale").ok());
  absl::StatusOr<PostgresTransaction> first = db.begin();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(db.execute("COMMIT").ok());
  absl::StatusOr<PostgresTransaction> second = db.begin();
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition) << second.status();
  ASSERT_TRUE(db.execute("BEGIN").ok());  // by hand: the server's only
  ASSERT_TRUE(db.execute("INSERT INTO stale VALUES ('kept')").ok());
  // Still open: the first transaction's rollback() must not end it.
  const absl::Status rolled_back = first->rollback();
  ASSERT_TRUE(db.execute("COMMIT").ok());
  EXPECT_EQ(rolled_back.code(), absl::StatusCode::kFailedPrecondition) << rolled_back;
  EXPECT_THAT(std::string(rolled_back.message()),
              StartsWith("rollback " + where() + ": no transaction is open any more"));
  EXPECT_EQ(count(db, "SELECT count(*) FROM stale"), 1);
  absl::StatusOr<PostgresTransaction> third = db.begin();  // the first is done now
  ASSERT_TRUE(third.ok()) << third.status();
  ASSERT_TRUE(third->commit().ok());
}

TEST_F(PostgresTest, ASecondBeginOnTheConnectionIsRefused) {
  PostgresConnection db = connect();
  ASSERT_TRUE(db.execute("CREATE TABLE IF NOT EXISTS nest (v text)").ok());
  ASSERT_TRUE(db.execute("TRUNCATE nest").ok());
  const std::string refused =
      "begin " + where() + ": a transaction is already open on this connection; nest with a savepoint";
  {
    absl::StatusOr<PostgresTransaction> outer = db.begin();
    ASSERT_TRUE(outer.ok()) << outer.status();
    ASSERT_TRUE(db.execute("INSERT INTO nest VALUES ('outer')").ok());
    {
      absl::StatusOr<PostgresTransaction> inner = db.begin();
      EXPECT_EQ(inner.status(), absl::FailedPreconditionError(refused));
    }
    // SQL of one's own that opens one is refused the same way.
    for (const char* begin : {"BEGIN", "begin isolation level serializable", "START TRANSACTION"}) {
      const absl::Status own = db.execute(begin);
      EXPECT_EQ(own.code(), absl::StatusCode::kFailedPrecondition) << begin;
      EXPECT_THAT(own.message(),
                  HasSubstr(": a transaction is already open on this connection; nest with a "
                            "savepoint"));
    }
    // The way to nest: a savepoint.
    ASSERT_TRUE(db.execute("SAVEPOINT inner_work").ok());
    ASSERT_TRUE(db.execute("INSERT INTO nest VALUES ('inner')").ok());
    ASSERT_TRUE(db.execute("ROLLBACK TO SAVEPOINT inner_work").ok());
    ASSERT_TRUE(outer->commit().ok());
  }
  absl::StatusOr<PostgresResult> rows = db.query("SELECT v FROM nest");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->rows(), 1);
  EXPECT_EQ(rows->get_text(0, 0), "outer");
  // A failed transaction is still open until it is rolled back.
  {
    absl::StatusOr<PostgresTransaction> failed = db.begin();
    ASSERT_TRUE(failed.ok());
    EXPECT_FALSE(db.execute("SELECT 1/0").ok());
    EXPECT_EQ(db.begin().status(), absl::FailedPreconditionError(refused));
  }
  EXPECT_TRUE(db.begin().ok());  // closed again: the destructor rolled back
}

// --- SQL text with a NUL byte ------------------------------------------------------

TEST_F(PostgresTest, SqlWithANulByteIsRefusedBeforeAnythingRuns) {
  PostgresConnection db = connect();
  ASSERT_TRUE(db.execute("CREATE TABLE IF NOT EXISTS owned (owner text)").ok());
  ASSERT_TRUE(db.execute("TRUNCATE owned").ok());
  ASSERT_TRUE(db.execute("INSERT INTO owned VALUES ('me'), ('you')").ok());
  const std::string sql("DELETE FROM owned\0 WHERE owner = 'me'", 37);
  const std::string says = R"("DELETE FROM owned\x00 WHERE owner = \'me\'": SQL text contains a NUL byte at offset 17)";
  EXPECT_EQ(db.execute(sql), absl::InvalidArgumentError("execute " + where() + ": " + says));
  EXPECT_EQ(db.query(sql).status(), absl::InvalidArgumentError("query " + where() + ": " + says));
  EXPECT_EQ(db.prepare(sql).status(), absl::InvalidArgumentError("prepare " + where() + ": " + says));
  EXPECT_EQ(count(db, "SELECT count(*) FROM owned"), 2);  // nothing was deleted
}

// --- The password is no oracle -------------------------------------------------------

TEST_F(PostgresTest, AWrongPasswordsMessageIsTheSameWhateverThePassword) {
  PostgresConfig config = server().config();
  config.password = Secret<std::string>("reference-wrong-password-4f9k2");
  const absl::Status reference = PostgresConnection::open(config).status();
  ASSERT_EQ(reference.code(), absl::StatusCode::kUnavailable) << reference;
  ASSERT_THAT(reference.message(), HasSubstr("password authentication failed for user"));
  std::vector<std::string> guesses = {
      "failed", "password", "authentication", "for", "user", "postgres", "connection",
      "server", "the", "on", "socket", "to", "uncopyable", "tmp", "pg", "FATAL", "5432",
      "PGSQL", "s", ".", "/", ":", "\"", " ", "connect", "postgresql", "@", "-"};
  for (char c = 'a'; c <= 'z'; ++c) guesses.emplace_back(1, c);
  for (char c = 'A'; c <= 'Z'; ++c) guesses.emplace_back(1, c);
  for (char c = '0'; c <= '9'; ++c) guesses.emplace_back(1, c);
  for (const std::string& guess : guesses) {
    config.password = Secret<std::string>(guess);
    const absl::Status status = PostgresConnection::open(config).status();
    // Word for word the reference: nothing in it depends on the password.
    EXPECT_EQ(status, reference) << "password " << guess;
    EXPECT_THAT(status.message(), Not(HasSubstr("***"))) << "password " << guess;
  }
}

// --- No descriptor left ----------------------------------------------------------------

TEST_F(PostgresTest, NoDescriptorLeftIsResourceExhaustedNotUnavailable) {
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  // A small table to fill: room for a few descriptors above those open now.
  rlimit small = saved;
  small.rlim_cur = static_cast<rlim_t>(*testing::open_fds().rbegin()) + 16;
  ASSERT_LE(small.rlim_cur, saved.rlim_cur);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &small), 0);
  std::vector<int> filler;
  int error = 0;
  while (filler.size() < 4096) {
    const int fd = ::dup(0);
    if (fd < 0) {
      error = errno;
      break;
    }
    filler.push_back(fd);
  }
  const absl::Status status = PostgresConnection::open(server().config()).status();
  for (int fd : filler) ::close(fd);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  ASSERT_EQ(error, EMFILE);  // the table was full
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_THAT(std::string(status.message()), StartsWith("connect " + where() + ": "));
  EXPECT_THAT(status.message(), HasSubstr("[EMFILE]"));
  EXPECT_TRUE(PostgresConnection::open(server().config()).ok());  // room again
}

// --- Server-side statements are released ------------------------------------------------

TEST_F(PostgresTest, StatementsPreparedInALoopDoNotPileUpOnTheServer) {
  PostgresConnection db = connect();
  const char* kCount = "SELECT count(*) FROM pg_prepared_statements";
  for (int i = 0; i < 200; ++i) {
    absl::StatusOr<PostgresStatement> statement = db.prepare(absl::StrCat("SELECT $1::int + ", i));
    ASSERT_TRUE(statement.ok()) << statement.status();
    ASSERT_TRUE(statement->execute({"1"}).ok());
    ASSERT_EQ(count(db, kCount), 1) << "after " << i + 1 << " statements";  // only the live one
  }
  EXPECT_EQ(count(db, kCount), 0);  // the last one is gone too
  // Inside a transaction alike, and the transaction is untouched by it.
  ASSERT_TRUE(db.execute("CREATE TABLE IF NOT EXISTS looped (v int)").ok());
  ASSERT_TRUE(db.execute("TRUNCATE looped").ok());
  {
    absl::StatusOr<PostgresTransaction> tx = db.begin();
    for (int i = 0; i < 50; ++i) {
      absl::StatusOr<PostgresStatement> insert = db.prepare("INSERT INTO looped VALUES ($1)");
      ASSERT_TRUE(insert.ok()) << insert.status();
      ASSERT_TRUE(insert->execute({absl::StrCat(i)}).ok());
    }
    EXPECT_EQ(count(db, kCount), 0);
    ASSERT_TRUE(tx->commit().ok());
  }
  EXPECT_EQ(count(db, "SELECT count(*) FROM looped"), 50);
}

// The statement owns its server-side statement: one assigned over is let go
// (and released before the next command) like one destroyed.
TEST_F(PostgresTest, AssigningAStatementReleasesTheOneAssignedOver) {
  PostgresConnection db = connect();
  const char* kCount = "SELECT count(*) FROM pg_prepared_statements";
  absl::StatusOr<PostgresStatement> first = db.prepare("SELECT $1::int + 1");
  absl::StatusOr<PostgresStatement> second = db.prepare("SELECT $1::int + 2");
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_EQ(count(db, kCount), 2);
  *first = *std::move(second);
  EXPECT_EQ(count(db, kCount), 1);
  absl::StatusOr<PostgresResult> rows = first->execute({"40"});
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->get_int64(0, 0), 42);
  PostgresStatement moved = *std::move(first);
  EXPECT_EQ(moved.execute({"1"})->get_int64(0, 0), 3);
}

// A session ends its statements with it: the list of those let go is
// forgotten with the session, never sent to the next one (where the same
// names belong to new statements).
TEST_F(PostgresTest, ARebuiltConnectionForgetsTheOldSessionsStatements) {
  PostgresConnection db = connect();
  { ASSERT_TRUE(db.prepare("SELECT 1").ok()); }  // let go: uncopyable_1 waits for release
  db = *db.rebuild();
  absl::StatusOr<PostgresStatement> fresh = db.prepare("SELECT $1::int * 2");  // uncopyable_1 again
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ(count(db, "SELECT count(*) FROM pg_prepared_statements"), 1);
  absl::StatusOr<PostgresResult> rows = fresh->execute({"21"});
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->get_int64(0, 0), 42);
}

TEST_F(PostgresTest, StatementsLetGoInAFailedTransactionAreReleasedAfterIt) {
  PostgresConnection db = connect();
  const char* kCount = "SELECT count(*) FROM pg_prepared_statements";
  {
    absl::StatusOr<PostgresTransaction> tx = db.begin();
    {
      absl::StatusOr<PostgresStatement> statement = db.prepare("SELECT 1");
      ASSERT_TRUE(statement.ok());
      EXPECT_FALSE(db.execute("SELECT 1/0").ok());
    }
    // The server refuses everything but ROLLBACK now; the statement waits.
    EXPECT_FALSE(db.query(kCount).ok());
    ASSERT_TRUE(tx->rollback().ok());
  }
  EXPECT_EQ(count(db, kCount), 0);
}

TEST_F(PostgresTest, AStatementDeallocatedBehindItsBackDoesNotHarmTheTransaction) {
  PostgresConnection db = connect();
  ASSERT_TRUE(db.execute("CREATE TABLE IF NOT EXISTS behind (v int)").ok());
  ASSERT_TRUE(db.execute("TRUNCATE behind").ok());
  {
    absl::StatusOr<PostgresTransaction> tx = db.begin();
    {
      absl::StatusOr<PostgresStatement> statement = db.prepare("SELECT 1");
      ASSERT_TRUE(statement.ok());
      ASSERT_TRUE(db.execute("DEALLOCATE ALL").ok());
    }
    // Releasing it fails on the server (it is gone), under a savepoint.
    EXPECT_TRUE(db.execute("INSERT INTO behind VALUES (1)").ok());
    EXPECT_TRUE(tx->commit().ok());
  }
  EXPECT_EQ(count(db, "SELECT count(*) FROM behind"), 1);
}

// --- One thread at a time ---------------------------------------------------------------

// A forked child that assigns over its copy of the parent's connection
// lets go of that copy: ending it (PQfinish) would say goodbye on the socket
// the parent still uses, and the parent's session would die.
TEST_F(PostgresTest, AChildAssigningOverTheParentsConnectionLeavesTheParentsSessionAlone) {
  PostgresConnection db = connect();
  PostgresConnection spare = connect();
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    db = std::move(spare);  // the parent's both: neither is ended here
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(count(db, "SELECT 7"), 7);
  EXPECT_EQ(count(spare, "SELECT 8"), 8);
}

// The same for a child that no fork handler ran in (_Fork(), vfork, a raw
// clone): the process id decides, not only the fork counter.
TEST_F(PostgresTest, AChildMadeWithoutForkHandlersLeavesTheParentsSessionAlone) {
  std::optional<PostgresConnection> db(connect());
  ASSERT_TRUE(testing::in_raw_child([&] { db.reset(); }));
  EXPECT_EQ(count(*db, "SELECT 7"), 7);
}

TEST_F(PostgresTest, AConnectionMovesBetweenThreads) {
  std::optional<PostgresConnection> db;
  std::thread([&] { db.emplace(connect()); }).join();
  std::thread([&] { EXPECT_EQ(count(*db, "SELECT 7"), 7); }).join();
  std::thread([&] {
    PostgresConnection mine = *std::move(db);
    absl::StatusOr<PostgresStatement> statement = mine.prepare("SELECT $1::int * 2");
    ASSERT_TRUE(statement.ok());
    absl::StatusOr<PostgresResult> rows = statement->execute({"21"});
    ASSERT_TRUE(rows.ok());
    EXPECT_EQ(rows->get_int64(0, 0), 42);
  }).join();
}

// --- Long and odd text in messages --------------------------------------------------------

TEST_F(PostgresTest, AHugeSqlTextMakesAShortMessageThatSaysItsLength) {
  PostgresConnection db = connect();
  // The server quotes the value in its error: ten megabytes of it.
  const std::string sql = "SELECT '" + std::string(10 << 20, 'a') + "'::int";
  const absl::Status status = db.execute(sql);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_LT(status.message().size(), 2048u);
  EXPECT_THAT(status.message(), HasSubstr(absl::StrCat("(", sql.size(), " bytes)")));
  EXPECT_THAT(status.message(), HasSubstr("invalid input syntax for type integer"));
}

TEST_F(PostgresTest, RawBytesFromTheServerAreEscaped) {
  PostgresConnection db = connect();
  const absl::Status status = db.execute("SELECT E'\\xff\\x01'::int");
  EXPECT_FALSE(status.ok());
  for (char c : status.message()) {
    EXPECT_TRUE(c >= 0x20 && c < 0x7f) << "byte " << static_cast<int>(static_cast<unsigned char>(c));
  }
  EXPECT_THAT(status.message(), HasSubstr(R"(\xff\x01)"));
}

// --- Odd commands ----------------------------------------------------------------------------

TEST_F(PostgresTest, EmptySqlIsNoError) {
  PostgresConnection db = connect();
  EXPECT_TRUE(db.execute("").ok());
  EXPECT_TRUE(db.execute("-- nothing").ok());
}

TEST_F(PostgresTest, CopyFromOrToTheClientIsUnimplementedAndTheConnectionGoesOn) {
  PostgresConnection db = connect();
  ASSERT_TRUE(db.execute("CREATE TABLE IF NOT EXISTS copied (v int)").ok());
  const absl::Status out = db.execute("COPY (SELECT g FROM generate_series(1, 100000) g) TO STDOUT");
  EXPECT_EQ(out.code(), absl::StatusCode::kUnimplemented) << out;
  const absl::Status in = db.execute("COPY copied FROM STDIN");
  EXPECT_EQ(in.code(), absl::StatusCode::kUnimplemented) << in;
  EXPECT_EQ(count(db, "SELECT 5"), 5);
}

TEST(PostgresConfigTest, QueryTimeoutIsPositiveAndTravelsInUrlAndJson) {
  EXPECT_EQ(PostgresConfig{}.query_timeout, absl::Minutes(1));
  const PostgresConfig never{.dbname = "x", .query_timeout = absl::ZeroDuration()};
  EXPECT_EQ(never.validate().message(),
            "PostgresConfig.query_timeout: must be positive (InfiniteDuration() to wait forever)");
  const PostgresConfig patient{.dbname = "x", .query_timeout = absl::InfiniteDuration()};
  EXPECT_TRUE(patient.validate().ok());
  const PostgresConfig quick{.dbname = "shop", .query_timeout = absl::Milliseconds(250)};
  const std::string url = to_url(quick, Secrets::kReveal);
  EXPECT_THAT(url, HasSubstr("query_timeout=250ms"));
  EXPECT_EQ(*from_url<PostgresConfig>(url), quick);
  const std::string json = to_json(quick, Secrets::kReveal);
  EXPECT_THAT(json, HasSubstr("\"query_timeout\":\"250ms\""));
  EXPECT_EQ(*from_json<PostgresConfig>(json), quick);
  EXPECT_THAT(to_string(quick), HasSubstr("query_timeout=250ms"));
}

TEST(PostgresConfigTest, UrlRoundTripWithTheSecret) {
  const PostgresConfig config{.host = "/run/postgresql",
                              .dbname = "tournament",
                              .user = "app",
                              .password = Secret<std::string>("s3cret"),
                              .sslmode = SslMode::require};
  const std::string url = to_url(config, Secrets::kReveal);
  EXPECT_EQ(url, "postgresql://app:s3cret@%2Frun%2Fpostgresql:5432/tournament?sslmode=require");
  EXPECT_EQ(*from_url<PostgresConfig>(url), config);
  EXPECT_EQ(to_url(config),
            "postgresql://app:***@%2Frun%2Fpostgresql:5432/tournament?sslmode=require");
  const PostgresConfig hasty{.dbname = "x", .connect_timeout = absl::Seconds(1)};
  EXPECT_EQ(hasty.validate().message(),
            "PostgresConfig.connect_timeout: must be at least 2s (libpq's minimum)");
}

}  // namespace
}  // namespace uncopyable
