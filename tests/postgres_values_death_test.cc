// Misuse of a PostgresResult's values and metadata aborts with one line:
// a column (or row) outside the result. The result needs a server, which
// this binary starts; the death tests fork ("fast") to reach it.
#include <memory>

#include "gtest/gtest.h"
#include "tests/testing/postgres_server.h"
#include "uncopyable/postgres.h"

namespace uncopyable {
namespace {

using testing::PostgresServer;

class PostgresValuesDeathTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<PostgresServer>> started = PostgresServer::start();
    if (started.ok()) server_ = started->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr) << "the PostgreSQL server did not start";
    GTEST_FLAG_SET(death_test_style, "fast");
  }
  void TearDown() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
  static PostgresResult two_columns() {
    PostgresConnection db = *PostgresConnection::open(server_->config());
    return *db.query("SELECT 1 AS a, NULL::int AS b");
  }
  static PostgresServer* server_;
};

PostgresServer* PostgresValuesDeathTest::server_ = nullptr;

TEST_F(PostgresValuesDeathTest, ReadingOutsideTheResult) {
  EXPECT_DEATH((void)two_columns().read<int>(1, 0),
               "^uncopyable: PostgresResult::read\\(1, 0\\) outside the result's 1 rows x 2 "
               "columns\n");
  EXPECT_DEATH((void)two_columns().read<std::optional<int>>(0, 2),
               "^uncopyable: PostgresResult::read\\(0, 2\\) outside the result's 1 rows x 2 "
               "columns\n");
  // By name: the name is found, the row is not there.
  EXPECT_DEATH((void)two_columns().read<int>(-1, "b"),
               "^uncopyable: PostgresResult::read\\(-1, 1\\) outside the result's 1 rows x 2 "
               "columns\n");
}

TEST_F(PostgresValuesDeathTest, AskingForAColumnOutsideTheResult) {
  EXPECT_DEATH((void)two_columns().column_name(2),
               "^uncopyable: PostgresResult::column_name\\(2\\) outside the result's 2 "
               "columns\n");
  EXPECT_DEATH((void)two_columns().column_type(-1),
               "^uncopyable: PostgresResult::column_type\\(-1\\) outside the result's 2 "
               "columns\n");
}

}  // namespace
}  // namespace uncopyable
