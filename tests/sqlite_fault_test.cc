// SQLite under faults: a locked database, a corrupt file, hostile values, no
// file descriptor left.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fds.h"
#include "uncopyable/internal/quote.h"
#include "uncopyable/sqlite.h"
#include "uncopyable/temp.h"

namespace uncopyable {
namespace {

using ::testing::HasSubstr;

// A folder of the test's own under TEST_TMPDIR, removed at the end with all
// SQLite leaves in it: the databases and their -journal, -wal and -shm files.
TempDir scratch() {
  const char* root = std::getenv("TEST_TMPDIR");
  absl::StatusOr<TempDir> dir =
      TempDir::open(TempDirConfig{.parent = root != nullptr ? root : ""});
  EXPECT_TRUE(dir.ok()) << dir.status();
  return *std::move(dir);
}

TEST(SqliteFaultTest, ALockedDatabaseHonoursTheBusyTimeout) {
  TempDir dir = scratch();
  const std::string path = dir.path() + "/busy.db";
  absl::StatusOr<SqliteConnection> holder = SqliteConnection::open({.path = path});
  ASSERT_TRUE(holder.ok()) << holder.status();
  ASSERT_TRUE(holder->execute("CREATE TABLE t (x)").ok());
  ASSERT_TRUE(holder->execute("BEGIN EXCLUSIVE").ok());
  absl::StatusOr<SqliteConnection> waiter =
      SqliteConnection::open({.path = path, .busy_timeout = absl::Milliseconds(200)});
  ASSERT_TRUE(waiter.ok()) << waiter.status();
  const absl::Time start = absl::Now();
  const absl::Status status = waiter->execute("INSERT INTO t VALUES (1)");
  const absl::Duration waited = absl::Now() - start;
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_THAT(status.message(), HasSubstr("database is locked"));
  EXPECT_GE(waited, absl::Milliseconds(180));
  EXPECT_LT(waited, absl::Seconds(5));
  ASSERT_TRUE(holder->execute("COMMIT").ok());
  EXPECT_TRUE(waiter->execute("INSERT INTO t VALUES (1)").ok());
}

// sqlite3_backup_step() does not wait for a lock itself: backup_to() waits
// up to the source's busy_timeout in all, then says which two databases.
TEST(SqliteFaultTest, ABackupOfALockedDatabaseGivesUpAfterTheBusyTimeout) {
  TempDir dir = scratch();
  const std::string source_path = dir.path() + "/locked.db";
  const std::string copy_path = dir.path() + "/locked-copy.db";
  // In rollback-journal mode, BEGIN EXCLUSIVE keeps readers out too.
  const SqliteConfig source{.path = source_path,
                            .busy_timeout = absl::Milliseconds(200),
                            .journal_mode = JournalMode::rollback};
  absl::StatusOr<SqliteConnection> db = SqliteConnection::open(source);
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE(db->execute("CREATE TABLE t (x); INSERT INTO t VALUES (1)").ok());
  absl::StatusOr<SqliteConnection> holder = db->rebuild();
  ASSERT_TRUE(holder.ok()) << holder.status();
  ASSERT_TRUE(holder->execute("BEGIN EXCLUSIVE").ok());
  // In a thread, so that a backup that never gives up fails this test
  // instead of hanging it: after 10 s the lock goes and the backup ends.
  std::atomic<bool> done{false};
  absl::Status backed_up;
  const absl::Time start = absl::Now();
  absl::Duration took;
  std::thread backup([&] {
    backed_up = db->backup_to({.path = copy_path});
    took = absl::Now() - start;
    done = true;
  });
  for (int i = 0; i < 1000 && !done; ++i) absl::SleepFor(absl::Milliseconds(10));
  const bool gave_up = done;
  ASSERT_TRUE(holder->execute("COMMIT").ok());
  backup.join();
  ASSERT_TRUE(gave_up) << "backup_to() still waiting after 10 s, with a busy_timeout of 200 ms";
  EXPECT_EQ(backed_up.code(), absl::StatusCode::kUnavailable) << backed_up;
  EXPECT_THAT(backed_up.message(),
              HasSubstr(absl::StrCat("backup sqlite ", internal::quoted(source_path),
                                     ": to sqlite ", internal::quoted(copy_path),
                                     ": database is locked; gave up after waiting ")));
  EXPECT_THAT(backed_up.message(), HasSubstr("(the source's busy_timeout is 200ms)"));
  EXPECT_GE(took, absl::Milliseconds(180));
  EXPECT_LT(took, absl::Seconds(5));
  // With the lock gone, the same backup works.
  const absl::Status again = db->backup_to({.path = copy_path});
  EXPECT_TRUE(again.ok()) << again;
}

// In a child, with RLIMIT_NOFILE lowered so that no descriptor is left:
// SQLite says "unable to open database file", which is not NotFound.
TEST(SqliteFaultTest, NoDescriptorsLeftIsResourceExhausted) {
  TempDir dir = scratch();
  const std::string source_path = dir.path() + "/nofile.db";
  const std::string other_path = dir.path() + "/nofile-other.db";
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    absl::StatusOr<SqliteConnection> source = SqliteConnection::open({.path = source_path});
    if (!source.ok()) ::_exit(8);
    if (!source->execute("CREATE TABLE t (x); INSERT INTO t VALUES (1)").ok()) ::_exit(9);
    const std::set<int> before = testing::open_fds();
    rlimit limit;
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) ::_exit(10);
    const rlim_t original = limit.rlim_cur;
    limit.rlim_cur = static_cast<rlim_t>(*before.rbegin() + 1);  // the soft limit only
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) ::_exit(11);
    std::set<int> fillers;
    for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) fillers.insert(fd);
    const absl::StatusOr<SqliteConnection> opened =
        SqliteConnection::open({.path = other_path});
    if (opened.ok()) ::_exit(12);
    if (opened.status().code() != absl::StatusCode::kResourceExhausted) ::_exit(13);
    const std::string expected_open =
        absl::StrCat("open sqlite ", internal::quoted(other_path),
                     ": with mode=rwc: unable to open database file [EMFILE]");
    if (opened.status().message() != expected_open) ::_exit(14);
    const absl::Status backed_up = source->backup_to({.path = other_path});
    if (backed_up.code() != absl::StatusCode::kResourceExhausted) ::_exit(15);
    if (backed_up.message() != absl::StrCat("backup sqlite ", internal::quoted(source_path), ": ",
                                            expected_open)) {
      ::_exit(16);
    }
    for (int fd : fillers) ::close(fd);
    limit.rlim_cur = original;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) ::_exit(17);
    // Nothing leaked, and with room again the same calls work.
    if (testing::open_fds() != before) ::_exit(18);
    if (!source->backup_to({.path = other_path}).ok()) ::_exit(19);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child's check number that failed";
}

// SQLite keeps a transaction open when its COMMIT finds the database locked
// (SQLITE_BUSY): the Transaction is over, so nothing may stay open behind it
// for later statements to join unseen.
TEST(SqliteFaultTest, ACommitThatFindsTheDatabaseLockedLeavesNoTransactionOpen) {
  TempDir dir = scratch();
  const std::string path = dir.path() + "/commit-busy.db";
  const SqliteConfig config{.path = path,
                            .busy_timeout = absl::Milliseconds(100),
                            .journal_mode = JournalMode::rollback};
  absl::StatusOr<SqliteConnection> writer = SqliteConnection::open(config);
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE(writer->execute("CREATE TABLE t (x); INSERT INTO t VALUES (1), (2)").ok());
  absl::StatusOr<SqliteConnection> reader = writer->rebuild();
  ASSERT_TRUE(reader.ok()) << reader.status();
  {
    // A read in progress holds a shared lock, which COMMIT must wait out.
    absl::StatusOr<Statement> reading = reader->prepare("SELECT x FROM t");
    ASSERT_TRUE(*reading->step());
    absl::StatusOr<Transaction> tx = writer->begin();
    ASSERT_TRUE(tx.ok()) << tx.status();
    ASSERT_TRUE(writer->execute("INSERT INTO t VALUES (3)").ok());
    const absl::Status committed = tx->commit();
    EXPECT_EQ(committed.code(), absl::StatusCode::kUnavailable) << committed;
    EXPECT_EQ(committed.message(),
              absl::StrCat("commit sqlite ", internal::quoted(path),
                           ": database is locked; the transaction was rolled back"));
    EXPECT_NE(::sqlite3_get_autocommit(writer->get()), 0) << "a transaction is still open";
  }
  // The next statement is a transaction of its own, kept; the insert is not.
  ASSERT_TRUE(writer->execute("INSERT INTO t VALUES (4)").ok());
  absl::StatusOr<Statement> all = reader->prepare("SELECT group_concat(x) FROM t");
  ASSERT_TRUE(*all->step());
  EXPECT_EQ(all->get_text(0), "1,2,4");
  absl::StatusOr<Transaction> again = writer->begin();
  EXPECT_TRUE(again.ok()) << again.status();
}

TEST(SqliteFaultTest, ACorruptFileIsAClearError) {
  TempDir dir = scratch();
  const std::string path = dir.path() + "/corrupt.db";
  {
    std::ofstream garbage(path, std::ios::binary);
    garbage << std::string(8192, '\x5a');
  }
  const absl::StatusOr<SqliteConnection> db = SqliteConnection::open({.path = path});
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(db.status().message(), HasSubstr(internal::quoted(path)));
  EXPECT_THAT(db.status().message(), HasSubstr("file is not a database"));
}

TEST(SqliteFaultTest, BoundValuesCannotInjectSql) {
  absl::StatusOr<SqliteConnection> db = SqliteConnection::open({.path = ":memory:"});
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db->execute("CREATE TABLE players (name TEXT)").ok());
  const std::vector<std::string> hostile = {
      "'); DROP TABLE players; --",
      "Robert'); DROP TABLE players;--",
      "\" OR 1=1 --",
      "x' OR '1'='1",
      std::string("nul\0byte", 8),
      "; ATTACH DATABASE '/tmp/evil.db' AS evil; --",
  };
  absl::StatusOr<Statement> insert = db->prepare("INSERT INTO players VALUES (?)");
  ASSERT_TRUE(insert.ok());
  for (const std::string& value : hostile) {
    ASSERT_TRUE(insert->bind(1, absl::string_view(value)).ok());
    ASSERT_TRUE(insert->run().ok()) << value;
  }
  // The table is still there, holding exactly the strings given.
  absl::StatusOr<Statement> find = db->prepare("SELECT count(*) FROM players WHERE name = ?");
  for (const std::string& value : hostile) {
    ASSERT_TRUE(find->bind(1, absl::string_view(value)).ok());
    ASSERT_TRUE(*find->step()) << value;
    EXPECT_EQ(find->get_int64(0), 1) << value;
    ASSERT_TRUE(find->reset().ok());
  }
  absl::StatusOr<Statement> all = db->prepare("SELECT count(*) FROM players");
  ASSERT_TRUE(*all->step());
  EXPECT_EQ(all->get_int64(0), static_cast<int64_t>(hostile.size()));
}

}  // namespace
}  // namespace uncopyable
