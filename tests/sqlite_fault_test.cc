// SQLite under faults: a locked database, a corrupt file, hostile values.
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_path.h"
#include "uncopyable/sqlite.h"

namespace uncopyable {
namespace {

using ::testing::HasSubstr;
using testing::TempPath;

TEST(SqliteFaultTest, ALockedDatabaseHonoursTheBusyTimeout) {
  TempPath temp("busy.db");
  absl::StatusOr<SqliteConnection> holder = SqliteConnection::open({.path = temp.path()});
  ASSERT_TRUE(holder.ok()) << holder.status();
  ASSERT_TRUE(holder->execute("CREATE TABLE t (x)").ok());
  ASSERT_TRUE(holder->execute("BEGIN EXCLUSIVE").ok());
  absl::StatusOr<SqliteConnection> waiter =
      SqliteConnection::open({.path = temp.path(), .busy_timeout = absl::Milliseconds(200)});
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

TEST(SqliteFaultTest, ACorruptFileIsAClearError) {
  TempPath temp("corrupt.db");
  {
    std::ofstream garbage(temp.path(), std::ios::binary);
    garbage << std::string(8192, '\x5a');
  }
  const absl::StatusOr<SqliteConnection> db = SqliteConnection::open({.path = temp.path()});
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(db.status().message(), HasSubstr(temp.path()));
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
