#include "uncopyable/sqlite.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_path.h"
#include "uncopyable/config_json.h"
#include "uncopyable/config_url.h"

namespace uncopyable {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TempPath;

static_assert(Rebuildable<SqliteConnection>);
static_assert(Config<SqliteConfig>);
static_assert(!std::is_copy_constructible_v<Statement>);
static_assert(!std::is_copy_constructible_v<Transaction>);

SqliteConnection open_or_die(const SqliteConfig& config) {
  absl::StatusOr<SqliteConnection> db = SqliteConnection::open(config);
  EXPECT_TRUE(db.ok()) << db.status();
  return *std::move(db);
}

std::vector<std::string> names(SqliteConnection& db) {
  std::vector<std::string> out;
  absl::StatusOr<Statement> select = db.prepare("SELECT name FROM players ORDER BY id");
  EXPECT_TRUE(select.ok()) << select.status();
  absl::StatusOr<bool> row;
  while ((row = select->step()).ok() && *row) out.push_back(select->get_text(0));
  EXPECT_TRUE(row.ok()) << row.status();
  return out;
}

void make_players(SqliteConnection& db) {
  ASSERT_TRUE(db.execute("CREATE TABLE players (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                         "rating REAL)")
                  .ok());
}

TEST(SqliteTest, PreparedStatementsBindAndReadTypedColumns) {
  TempPath temp("typed.db");
  SqliteConnection db = open_or_die({.path = temp.path()});
  make_players(db);
  absl::StatusOr<Statement> insert = db.prepare("INSERT INTO players (name, rating) VALUES (?, ?)");
  ASSERT_TRUE(insert.ok()) << insert.status();
  ASSERT_TRUE(insert->bind_all("ann", 1510.5).ok());
  ASSERT_TRUE(insert->run().ok());
  ASSERT_TRUE(insert->bind_all("bob", nullptr).ok());
  ASSERT_TRUE(insert->run().ok());
  absl::StatusOr<Statement> select = db.prepare("SELECT id, name, rating FROM players ORDER BY id");
  ASSERT_TRUE(select.ok());
  ASSERT_TRUE(*select->step());
  EXPECT_EQ(select->column_count(), 3);
  EXPECT_EQ(select->get_int64(0), 1);
  EXPECT_EQ(select->get_text(1), "ann");
  EXPECT_DOUBLE_EQ(select->get_double(2), 1510.5);
  ASSERT_TRUE(*select->step());
  EXPECT_TRUE(select->is_null(2));
  EXPECT_FALSE(*select->step());
}

TEST(SqliteTest, TransactionRollsBackUnlessCommitted) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  make_players(db);
  {
    absl::StatusOr<Transaction> tx = db.begin();
    ASSERT_TRUE(tx.ok()) << tx.status();
    ASSERT_TRUE(db.execute("INSERT INTO players (name) VALUES ('lost')").ok());
  }  // not committed
  {
    absl::StatusOr<Transaction> tx = db.begin();
    ASSERT_TRUE(db.execute("INSERT INTO players (name) VALUES ('kept')").ok());
    ASSERT_TRUE(tx->commit().ok());
  }
  EXPECT_THAT(names(db), ElementsAre("kept"));
}

TEST(SqliteTest, RebuildIsASecondIndependentConnection) {
  TempPath temp("rebuild.db");
  SqliteConnection db = open_or_die({.path = temp.path()});
  make_players(db);
  absl::StatusOr<SqliteConnection> second = db.rebuild();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->config(), db.config());
  EXPECT_NE(second->get(), db.get());
  // Independent: the second connection does not see the first one's
  // uncommitted transaction.
  absl::StatusOr<Transaction> tx = db.begin();
  ASSERT_TRUE(db.execute("INSERT INTO players (name) VALUES ('pending')").ok());
  EXPECT_TRUE(names(*second).empty());
  ASSERT_TRUE(tx->commit().ok());
  EXPECT_THAT(names(*second), ElementsAre("pending"));
}

TEST(SqliteTest, BackupCopiesTheDataWhileTheSourceStaysInUse) {
  TempPath source_path("source.db");
  TempPath copy_path("copy.db");
  SqliteConnection db = open_or_die({.path = source_path.path()});
  make_players(db);
  ASSERT_TRUE(db.execute("INSERT INTO players (name) VALUES ('ann'), ('bob')").ok());
  // Another connection keeps writing while the backup runs.
  std::atomic<bool> done{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    SqliteConnection other = open_or_die(db.config());
    for (int i = 0; i < 200 && !done; ++i) {
      if (other.execute("INSERT INTO players (name) VALUES ('more')").ok()) ++written;
    }
  });
  const SqliteConfig copy{.path = copy_path.path()};
  const absl::Status backed_up = db.backup_to(copy);
  done = true;
  writer.join();
  ASSERT_TRUE(backed_up.ok()) << backed_up;
  // The copy is one consistent snapshot: the first rows, and some number of
  // the concurrent ones, all complete.
  SqliteConnection restored = open_or_die(copy);
  const std::vector<std::string> copied = names(restored);
  ASSERT_GE(copied.size(), 2u);
  EXPECT_EQ(copied[0], "ann");
  EXPECT_EQ(copied[1], "bob");
  EXPECT_LE(copied.size(), 2u + written.load());
  // And the source is still in use.
  EXPECT_TRUE(db.execute("INSERT INTO players (name) VALUES ('cy')").ok());
}

TEST(SqliteTest, ConfigAppliesItsPragmas) {
  TempPath temp("pragma.db");
  SqliteConnection db = open_or_die({.path = temp.path(), .journal_mode = JournalMode::wal,
                                     .foreign_keys = true});
  absl::StatusOr<Statement> mode = db.prepare("PRAGMA journal_mode");
  ASSERT_TRUE(*mode->step());
  EXPECT_EQ(mode->get_text(0), "wal");
  absl::StatusOr<Statement> keys = db.prepare("PRAGMA foreign_keys");
  ASSERT_TRUE(*keys->step());
  EXPECT_EQ(keys->get_int64(0), 1);
}

TEST(SqliteTest, ReadOnlyRefusesWritesWithAStatus) {
  TempPath temp("ro.db");
  {
    SqliteConnection db = open_or_die({.path = temp.path()});
    make_players(db);
  }
  SqliteConnection reader = open_or_die({.path = temp.path(), .mode = SqliteMode::ro});
  const absl::Status status = reader.execute("INSERT INTO players (name) VALUES ('x')");
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << status;
  EXPECT_THAT(status.message(), HasSubstr(temp.path()));
  EXPECT_THAT(status.message(), HasSubstr("readonly"));
}

TEST(SqliteTest, ErrorsCarrySqlitesMessageAndThePath) {
  const absl::StatusOr<SqliteConnection> missing =
      SqliteConnection::open({.path = "/nonexistent/dir/t.db", .mode = SqliteMode::rw});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(),
              HasSubstr("sqlite \"/nonexistent/dir/t.db\": open with mode=rw: unable to open"));
  SqliteConnection db = open_or_die({.path = ":memory:"});
  const absl::Status syntax = db.execute("SELEC 1");
  EXPECT_EQ(syntax.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(syntax.message(), HasSubstr("near \"SELEC\": syntax error"));
  absl::StatusOr<Statement> bad = db.prepare("SELECT * FROM nowhere");
  EXPECT_THAT(bad.status().message(),
              HasSubstr("prepare \"SELECT * FROM nowhere\": no such table: nowhere"));
}

TEST(SqliteConfigTest, UrlJsonAndRules) {
  const SqliteConfig config{.path = "/var/lib/app/t.db", .mode = SqliteMode::ro};
  EXPECT_EQ(to_url(config), "sqlite:///var/lib/app/t.db?mode=ro");
  EXPECT_EQ(*from_url<SqliteConfig>("sqlite:///var/lib/app/t.db?mode=ro"), config);
  EXPECT_EQ(to_url(SqliteConfig{.path = ":memory:"}), "sqlite::memory:");
  EXPECT_EQ(*from_json<SqliteConfig>(to_json(config)), config);
  EXPECT_EQ(SqliteConfig{}.validate().message(), "SqliteConfig.path: must not be empty");
  EXPECT_EQ(from_url<SqliteConfig>("sqlite:///x?mode=rx").status().message(),
            "SqliteConfig.mode: \"rx\" is not one of ro, rw, rwc");
}

}  // namespace
}  // namespace uncopyable
