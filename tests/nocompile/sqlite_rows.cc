// No-compile cases for SqliteConnection's row queries: see nocompile_test in
// tests/defs.bzl. Without a case defined, this file must compile.
//
// nocompile QUERY_PLAIN_STRUCT: constraints not satisfied|DescribedRow
// nocompile QUERY_ONE_PLAIN_STRUCT: constraints not satisfied|DescribedRow
// nocompile FOR_EACH_PLAIN_STRUCT: constraints not satisfied|DescribedRow
// nocompile QUERY_CONFIG: constraints not satisfied|DescribedRow
// nocompile QUERY_VALUE_OF_A_ROW: constraints not satisfied|RowField
// nocompile ROW_AMONG_VALUES: a described row is bound alone
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "uncopyable/sqlite.h"

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

// Described, but as a config: a config is not a row.
struct Settings {
  UNCOPYABLE_CONFIG(Settings, winner)
  std::string winner;
  absl::Status validate() const { return absl::OkStatus(); }
};

}  // namespace app

void control(uncopyable::SqliteConnection& db) {
  (void)db.query<app::Match>("SELECT winner, score FROM m WHERE score > ?", 1);
  (void)db.query_one<app::Match>("SELECT winner, score FROM m");
  (void)db.query_value<int64_t>("SELECT count(*) FROM m");
  (void)db.for_each<app::Match>("SELECT winner, score FROM m",
                                [](const app::Match&) { return absl::OkStatus(); });
  (void)db.execute("INSERT INTO m VALUES (:winner, :score)", app::Match{});
}

#if defined(QUERY_PLAIN_STRUCT)
void query_plain(uncopyable::SqliteConnection& db) { (void)db.query<app::Plain>("SELECT 1"); }
#endif

#if defined(QUERY_ONE_PLAIN_STRUCT)
void query_one_plain(uncopyable::SqliteConnection& db) {
  (void)db.query_one<app::Plain>("SELECT 1");
}
#endif

#if defined(FOR_EACH_PLAIN_STRUCT)
void for_each_plain(uncopyable::SqliteConnection& db) {
  (void)db.for_each<app::Plain>("SELECT 1", [](const app::Plain&) { return absl::OkStatus(); });
}
#endif

#if defined(QUERY_CONFIG)
void query_config(uncopyable::SqliteConnection& db) { (void)db.query<app::Settings>("SELECT 1"); }
#endif

#if defined(QUERY_VALUE_OF_A_ROW)
void query_value_row(uncopyable::SqliteConnection& db) {
  (void)db.query_value<app::Match>("SELECT 1");
}
#endif

#if defined(ROW_AMONG_VALUES)
void row_among_values(uncopyable::SqliteConnection& db) {
  (void)db.execute("INSERT INTO m VALUES (:winner, :score, ?)", app::Match{}, 1);
}
#endif
