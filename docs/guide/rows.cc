// docs/guide.md, "Rows are data too": a struct described once is written
// to and read from a database field by field, by name; a column that does
// not fit a field is an error naming both, never a field quietly left at
// its default.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "docs/guide/guide_testing.h"
#include "gtest/gtest.h"
#include "uncopyable/rows.h"
#include "uncopyable/sqlite.h"

namespace guide {

// [guide:row-struct]
struct Match {
  UNCOPYABLE_ROW(Match, winner, loser, score, note)

  std::string winner;
  std::string loser;
  int64_t score = 0;
  std::optional<std::string> note;  // NULL is std::nullopt
};
// [end]

namespace {

TEST(RowsTest, AStructIsWrittenAndReadByName) {
  enter_scratch_directory();
  absl::StatusOr<uncopyable::SqliteConnection> opened =
      uncopyable::rebuild(uncopyable::SqliteConfig{.path = "matches.db"});
  ASSERT_TRUE(opened.ok()) << opened.status();
  uncopyable::SqliteConnection& db = *opened;
  ASSERT_TRUE(db.execute("CREATE TABLE matches (winner TEXT NOT NULL, loser TEXT NOT NULL, "
                         "score INTEGER NOT NULL, note TEXT)")
                  .ok());

  // [guide:rows]
  Match final{.winner = "ann", .loser = "bob", .score = 3, .note = std::nullopt};
  absl::Status added =
      db.execute("INSERT INTO matches VALUES (:winner, :loser, :score, :note)", final);
  absl::StatusOr<std::vector<Match>> won =
      db.query<Match>("SELECT * FROM matches WHERE winner = ?", "ann");  // {final}
  absl::StatusOr<int64_t> played = db.query_value<int64_t>("SELECT count(*) FROM matches");
  absl::StatusOr<std::vector<Match>> typo =
      db.query<Match>("SELECT winner, loser, score AS points, note FROM matches");
  // InvalidArgument: query sqlite "matches.db": row Match: column "points" has no field,
  // field "score" has no column; fields are winner, loser, score, note; columns are ...
  // [end]

  ASSERT_TRUE(added.ok()) << added;
  ASSERT_TRUE(won.ok()) << won.status();
  EXPECT_EQ(*won, std::vector<Match>{final});
  EXPECT_EQ(played.value_or(-1), 1);
  EXPECT_EQ(typo.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(typo.status().message(),
            R"(query sqlite "matches.db": row Match: column "points" has no field, )"
            R"(field "score" has no column; fields are winner, loser, score, note; )"
            R"(columns are "winner", "loser", "points", "note")");
  EXPECT_EQ(uncopyable::to_string(final),
            R"(Match{winner="ann", loser="bob", score=3, note=none})");
}

}  // namespace
}  // namespace guide
