// The SqlError payload on its own: attached, read back, kept by copies, and
// what each predicate answers. The databases' own tests prove that their
// errors carry it (sqlite_test, postgres_test).
#include "uncopyable/sql_error.h"

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace uncopyable {
namespace {

TEST(SqlErrorTest, AttachedCodesReadBackAndSurviveCopies) {
  const absl::Status pg = with_sql_error(absl::AlreadyExistsError("dup"), {.sqlstate = "23505", .sqlite_code = 0});
  const absl::Status copy = pg;  // NOLINT(performance-unnecessary-copy-initialization): a copy keeps the payload
  EXPECT_EQ(sql_error(copy), (SqlError{.sqlstate = "23505", .sqlite_code = 0}));
  const absl::Status lite =
      with_sql_error(absl::AlreadyExistsError("dup"), {.sqlstate = "", .sqlite_code = 2067});
  EXPECT_EQ(sql_error(lite), (SqlError{.sqlstate = "", .sqlite_code = 2067}));
  EXPECT_EQ(lite.message(), "dup");  // the message is left as it was
}

TEST(SqlErrorTest, NoCodeWhereNoDatabaseGaveOne) {
  EXPECT_EQ(sql_error(absl::OkStatus()), std::nullopt);
  EXPECT_EQ(sql_error(absl::InternalError("x")), std::nullopt);
  EXPECT_TRUE(with_sql_error(absl::OkStatus(), {.sqlstate = "23505", .sqlite_code = 0}).ok());
  absl::Status odd = absl::InternalError("x");
  odd.SetPayload(kSqlErrorPayload, absl::Cord("garbage"));
  EXPECT_EQ(sql_error(odd), std::nullopt);
  // Rebuilt from code and message, a Status has lost its payload.
  const absl::Status pg = with_sql_error(absl::AlreadyExistsError("dup"), {.sqlstate = "23505", .sqlite_code = 0});
  EXPECT_FALSE(is_unique_violation(absl::Status(pg.code(), pg.message())));
}

TEST(SqlErrorTest, PredicatesNameTheCodesOfBothDatabases) {
  auto pg = [](const char* state) {
    return with_sql_error(absl::AbortedError("e"), {.sqlstate = state, .sqlite_code = 0});
  };
  auto lite = [](int code) { return with_sql_error(absl::AbortedError("e"), {.sqlstate = "", .sqlite_code = code}); };
  EXPECT_TRUE(is_unique_violation(pg("23505")));
  EXPECT_TRUE(is_unique_violation(lite(2067)));  // SQLITE_CONSTRAINT_UNIQUE
  EXPECT_TRUE(is_unique_violation(lite(1555)));  // SQLITE_CONSTRAINT_PRIMARYKEY
  EXPECT_FALSE(is_unique_violation(lite(787)));
  EXPECT_FALSE(is_unique_violation(lite(19)));  // a constraint, but which is unknown
  EXPECT_TRUE(is_foreign_key_violation(pg("23503")));
  EXPECT_TRUE(is_foreign_key_violation(lite(787)));  // SQLITE_CONSTRAINT_FOREIGNKEY
  EXPECT_FALSE(is_foreign_key_violation(pg("23505")));
  EXPECT_TRUE(is_serialization_failure(pg("40001")));
  EXPECT_TRUE(is_serialization_failure(lite(517)));  // SQLITE_BUSY_SNAPSHOT
  EXPECT_FALSE(is_serialization_failure(lite(5)));   // plain SQLITE_BUSY
  EXPECT_TRUE(is_deadlock(pg("40P01")));
  EXPECT_FALSE(is_deadlock(pg("40001")));
  EXPECT_FALSE(is_deadlock(lite(5)));
  EXPECT_FALSE(is_unique_violation(absl::OkStatus()));
}

}  // namespace
}  // namespace uncopyable
