// Rows both databases' tests read and write: Match (sqlite_rows_test,
// postgres_rows_test), a match of the tournament with every common kind of
// field (text, integer, an enum stored as its name, an optional text), and
// Number (the statement cache tests), one integer.
#ifndef UNCOPYABLE_TESTS_TESTING_EXAMPLE_ROWS_H_
#define UNCOPYABLE_TESTS_TESTING_EXAMPLE_ROWS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "uncopyable/rows.h"

namespace example_rows {

enum class Outcome { win, draw };
UNCOPYABLE_ENUM(Outcome, win, draw)

struct Match {
  UNCOPYABLE_ROW(Match, winner, loser, score, outcome, note)

  std::string winner;
  std::string loser;
  int64_t score = 0;
  Outcome outcome = Outcome::win;
  std::optional<std::string> note;
};

struct Number {
  UNCOPYABLE_ROW(Number, v)
  int64_t v = 0;
};

}  // namespace example_rows

#endif  // UNCOPYABLE_TESTS_TESTING_EXAMPLE_ROWS_H_
