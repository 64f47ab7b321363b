// PostgresConnection against a real server that this test binary starts.
#include "uncopyable/postgres.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/postgres_server.h"
#include "uncopyable/config_json.h"
#include "uncopyable/config_url.h"

namespace uncopyable {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::PostgresServer;

static_assert(Rebuildable<PostgresConnection>);
static_assert(Config<PostgresConfig>);

class PostgresTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<PostgresServer>> started = PostgresServer::start();
    if (started.ok()) {
      server_ = started->release();
    } else {
      start_error_ = new std::string(started.status().ToString());
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    // A missing server fails every test that needs it, with the reason.
    ASSERT_NE(server_, nullptr) << "the PostgreSQL server did not start: " << *start_error_;
  }

  PostgresConnection connect() {
    absl::StatusOr<PostgresConnection> db = PostgresConnection::open(server_->config());
    EXPECT_TRUE(db.ok()) << db.status();
    return *std::move(db);
  }

  static PostgresServer* server_;
  static std::string* start_error_;
};

PostgresServer* PostgresTest::server_ = nullptr;
std::string* PostgresTest::start_error_ = nullptr;

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
  PostgresConfig config = server_->config();
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
  ASSERT_TRUE(server_->stop_immediately().ok());
  const absl::Status lost = db.execute("SELECT 1");
  EXPECT_EQ(lost.code(), absl::StatusCode::kUnavailable) << lost;
  EXPECT_THAT(lost.message(), HasSubstr(server_->config().host));
  ASSERT_TRUE(server_->restart().ok());
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
  EXPECT_THAT(status.message(), HasSubstr("relation \"no_such_table\" does not exist"));
  EXPECT_THAT(status.message(), HasSubstr("[42P01]"));
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
