// The tournament's data in memory: matches, and the standings they add up
// to, guarded by an uncopyable::Mutex because two threads use them (the
// main thread records matches while the score-board thread reads).
#ifndef UNCOPYABLE_EXAMPLES_STANDINGS_H_
#define UNCOPYABLE_EXAMPLES_STANDINGS_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "examples/board.h"
#include "uncopyable/mutex.h"
#include "uncopyable/rows.h"

namespace tournament {

// One game: who won, who lost, and the points each scored. A row of the
// matches table, described once (uncopyable/rows.h): the databases read it
// with query<Match>() and write it with execute(sql, match), field by field
// by name, and it compares, hashes and prints like a config.
struct Match {
  UNCOPYABLE_ROW(Match, round, winner, loser, winner_points, loser_points)

  int64_t round = 0;
  std::string winner;
  std::string loser;
  int64_t winner_points = 0;
  int64_t loser_points = 0;
};

// The standings `matches` add up to, as text, best first: the table a
// Standings holds, computed from the matches alone (what the score-board
// does with the rows it reads from the database).
std::string table_of(const std::vector<Match>& matches);

// Wins, losses and point difference per player. A Standings owns its Mutex,
// so it is move-only like every resource it holds: nobody has to remember
// that, the compiler does. As a Board, it answers from memory, at once.
class Standings final : public Board {
 public:
  // A fresh, empty table guarded by a lock built from `config`.
  static absl::StatusOr<Standings> open(const uncopyable::MutexConfig& config);

  // Adds one result. Thread-safe.
  void record(const Match& match) ABSL_LOCKS_EXCLUDED(mutex_);
  // The table as text, best first. Thread-safe.
  std::string table() const ABSL_LOCKS_EXCLUDED(mutex_);
  // The same, as a Board (never fails). Thread-safe.
  absl::StatusOr<std::string> read(absl::Time deadline) override;

  // One player's line of the table.
  struct Row {
    int64_t wins = 0;
    int64_t losses = 0;
    int64_t difference = 0;  // points for minus points against
  };

 private:
  explicit Standings(uncopyable::Mutex mutex) : mutex_(std::move(mutex)) {}

  mutable uncopyable::Mutex mutex_;
  std::map<std::string, Row> rows_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace tournament

#endif  // UNCOPYABLE_EXAMPLES_STANDINGS_H_
