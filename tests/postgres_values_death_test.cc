// Misuse of a PostgresResult's values and metadata aborts with one line:
// a column (or row) outside the result. The result needs a server, which
// this binary starts; the death tests fork ("fast") to reach it.
#include <memory>

#include "gtest/gtest.h"
#include "tests/testing/postgres_suite.h"
#include "uncopyable/postgres.h"

namespace uncopyable {
namespace {


class PostgresValuesDeathTest : public testing::PostgresDeathSuite {
 protected:
  static PostgresResult two_columns() { return result_of("SELECT 1 AS a, NULL::int AS b"); }
};

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
