// The score-board's database access: each request reads the matches table
// through a Pool of connections (uncopyable/pool.h) and adds them up, so the
// board shows what is committed, whoever committed it.
//
//   absl::StatusOr<DatabaseBoard<uncopyable::PostgresConnection>> board =
//       DatabaseBoard<uncopyable::PostgresConnection>::open(
//           {.handle = db_config, .pool = {.max_size = 2, .min_idle = 2}});
//   ScoreBoardServer server(std::move(listener), *board);  // board outlives it
//
// A database that goes away (a PostgreSQL restart) costs the requests made
// while it is away a clear Status each, within their deadline; once it is
// back, the pool has rebuilt its connections and requests succeed again,
// with nothing done by the server's clients or its owner.
#ifndef UNCOPYABLE_EXAMPLES_DATABASE_BOARD_H_
#define UNCOPYABLE_EXAMPLES_DATABASE_BOARD_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "examples/board.h"
#include "examples/match_store.h"
#include "examples/standings.h"
#include "uncopyable/pool.h"

namespace tournament {

// `Connection` is uncopyable::SqliteConnection or PostgresConnection.
template <typename Connection>
class DatabaseBoard final : public Board {
 public:
  using Config = uncopyable::PoolConfig<typename Connection::config_type>;

  // Opens the pool (InvalidArgument for a bad config). It connects in the
  // background: a database that is down now is not an error here, but in
  // the first read()s.
  [[nodiscard]] static absl::StatusOr<DatabaseBoard> open(Config config) {
    absl::StatusOr<uncopyable::Pool<Connection>> pool =
        uncopyable::Pool<Connection>::open(std::move(config));
    if (!pool.ok()) return pool.status();
    return DatabaseBoard(*std::move(pool));
  }

  // The standings of every match in the table, by `deadline`. A connection
  // that fails with Unavailable (the server went away since it was last
  // used) is marked broken, so the pool drops it and builds a fresh one,
  // and the read is tried once more on another connection. Otherwise the
  // error is returned as it is: the pool's DeadlineExceeded says why no
  // connection came (e.g. "last rebuild error: connect ...: ... No such
  // file or directory"). A query on a connection already lent is bounded by
  // the connection's own query_timeout, not by `deadline`. Thread-safe (the
  // pool is; each read has a connection of its own).
  absl::StatusOr<std::string> read(absl::Time deadline) override {
    absl::Status lost;
    for (int attempt = 0; attempt < 2; ++attempt) {
      absl::StatusOr<uncopyable::PoolLease<Connection>> db = pool_.acquire(deadline);
      if (!db.ok()) return db.status();
      absl::StatusOr<std::vector<Match>> matches = load(**db);
      if (matches.ok()) return table_of(*matches);
      if (!absl::IsUnavailable(matches.status())) return matches.status();
      db->mark_broken();  // given back at the end of this scope, and replaced
      lost = matches.status();
    }
    return lost;
  }

  // The pool, for its resource() and metrics().
  const uncopyable::Pool<Connection>& pool() const { return pool_; }

 private:
  explicit DatabaseBoard(uncopyable::Pool<Connection> pool) : pool_(std::move(pool)) {}

  uncopyable::Pool<Connection> pool_;
};

}  // namespace tournament

#endif  // UNCOPYABLE_EXAMPLES_DATABASE_BOARD_H_
