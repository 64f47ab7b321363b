// No-compile cases for PostgresConnection's rows (query<T> and the like):
// see nocompile_test in tests/defs.bzl. Without a case defined this file
// must compile (the control).
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "uncopyable/postgres.h"

namespace app {

struct Match {
  UNCOPYABLE_ROW(Match, winner, score)
  std::string winner;
  int64_t score = 0;
};

// Looks like a row, is not described as one.
struct Plain {
  std::string winner;
  int64_t score = 0;
};

// A row with a field no column holds.
struct Odd {
  UNCOPYABLE_ROW(Odd, ratio)
  float ratio = 0;
};

}  // namespace app

using uncopyable::PostgresConnection;

void control(PostgresConnection& db) {
  (void)db.query<app::Match>("SELECT winner, score FROM matches WHERE score > $1", 2);
  (void)db.query_one<app::Match>("SELECT winner, score FROM matches");
  (void)db.query_value<int64_t>("SELECT count(*) FROM matches");
  (void)db.execute("INSERT INTO matches VALUES ($1, $2)", app::Match{});
  (void)db.query<app::Match>("SELECT * FROM matches WHERE winner = $1 AND score = $2",
                             app::Match{});
  (void)db.for_each<app::Match>("SELECT winner, score FROM matches", 1, "x",
                                [](const app::Match&) { return absl::OkStatus(); });
  // The non-template query() keeps working beside query<T>().
  absl::StatusOr<uncopyable::PostgresResult> rows = db.query("SELECT $1", 1);
  (void)rows;
}

// nocompile QUERY_PLAIN_STRUCT: (no matching|constraints not satisfied).*(query|DescribedRow)
#if defined(QUERY_PLAIN_STRUCT)
void query_plain(PostgresConnection& db) { (void)db.query<app::Plain>("SELECT 1"); }
#endif

// nocompile QUERY_ONE_PLAIN_STRUCT: (no matching|constraints not satisfied).*query_one
#if defined(QUERY_ONE_PLAIN_STRUCT)
void query_one_plain(PostgresConnection& db) { (void)db.query_one<app::Plain>("SELECT 1"); }
#endif

// nocompile FOR_EACH_PLAIN_STRUCT: (no matching|constraints not satisfied).*for_each
#if defined(FOR_EACH_PLAIN_STRUCT)
void for_each_plain(PostgresConnection& db) {
  (void)db.for_each<app::Plain>("SELECT 1", [](const app::Plain&) { return absl::OkStatus(); });
}
#endif

// nocompile EXECUTE_PLAIN_STRUCT: no matching (member )?function for call to .*execute
#if defined(EXECUTE_PLAIN_STRUCT)
void execute_plain(PostgresConnection& db) { (void)db.execute("SELECT $1", app::Plain{}); }
#endif

// nocompile QUERY_VALUE_OF_A_ROW: (no matching|constraints not satisfied).*query_value
#if defined(QUERY_VALUE_OF_A_ROW)
void query_value_of_a_row(PostgresConnection& db) {
  (void)db.query_value<app::Match>("SELECT 1");
}
#endif

// nocompile FIELD_OF_ANOTHER_TYPE: a row field must be bool
#if defined(FIELD_OF_ANOTHER_TYPE)
void query_odd(PostgresConnection& db) { (void)db.query<app::Odd>("SELECT 1"); }
#endif

// nocompile FOR_EACH_FN_NOT_STATUS: fn\(const T&\) returns absl::Status
#if defined(FOR_EACH_FN_NOT_STATUS)
void for_each_void(PostgresConnection& db) {
  (void)db.for_each<app::Match>("SELECT 1", [](const app::Match&) {});
}
#endif

// nocompile ROW_AMONG_VALUES: (no matching|constraints not satisfied).*query
#if defined(ROW_AMONG_VALUES)
void row_among_values(PostgresConnection& db) {
  (void)db.query<app::Match>("SELECT 1", 1, app::Match{});
}
#endif
