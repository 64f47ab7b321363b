// What the score-board serves: a table of standings, from wherever it is
// kept (memory, a database), or the reason it cannot be had in time.
#ifndef UNCOPYABLE_EXAMPLES_BOARD_H_
#define UNCOPYABLE_EXAMPLES_BOARD_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace tournament {

class Board {
 public:
  virtual ~Board() = default;
  // The table as text, or a Status saying why not, by `deadline` (the
  // score-board sends either to its client). Called from the score-board's
  // thread: an implementation shared with other threads is thread-safe.
  virtual absl::StatusOr<std::string> read(absl::Time deadline) = 0;
};

}  // namespace tournament

#endif  // UNCOPYABLE_EXAMPLES_BOARD_H_
