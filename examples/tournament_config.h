// Everything the tournament is built from, as one config: plain data that is
// printed, compared, saved to JSON and read back. No live resource is in
// here; each one is rebuilt from its part.
#ifndef UNCOPYABLE_EXAMPLES_TOURNAMENT_CONFIG_H_
#define UNCOPYABLE_EXAMPLES_TOURNAMENT_CONFIG_H_

#include <filesystem>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "uncopyable/config.h"
#include "uncopyable/mutex.h"
#include "uncopyable/pool.h"
#include "uncopyable/postgres.h"
#include "uncopyable/socket.h"
#include "uncopyable/sqlite.h"

namespace tournament {

struct TournamentConfig {
  UNCOPYABLE_CONFIG(TournamentConfig, name, sqlite, postgres, backup, scoreboard, board_pool,
                    standings)

  std::string name = "Autumn Open";                      // printed in the output
  std::optional<uncopyable::SqliteConfig> sqlite{};      // the database on SQLite, or
  std::optional<uncopyable::PostgresConfig> postgres{};  // on a PostgreSQL server
  uncopyable::SqliteConfig backup{};                     // where backups are written
  uncopyable::ListenerConfig scoreboard{};               // the score-board server
  uncopyable::PoolSettings board_pool{.max_size = 2, .min_idle = 2};  // its database connections
  uncopyable::MutexConfig standings{};                   // the lock on the standings

  // Exactly one database; each part valid; a backup that is not the
  // database itself.
  absl::Status validate() const {
    const auto valid = [](const auto& part) {
      return part.has_value() ? part->validate() : absl::OkStatus();
    };
    return uncopyable::ConfigRules(*this)
        .check(sqlite.has_value() != postgres.has_value(), "sqlite",
               "give exactly one database: sqlite or postgres")
        .valid("sqlite", valid(sqlite))
        .valid("postgres", valid(postgres))
        .valid("backup", backup.validate())
        .valid("scoreboard", scoreboard.validate())
        .valid("board_pool", board_pool.validate())
        .valid("standings", standings.validate())
        .check(!sqlite.has_value() || std::filesystem::path(sqlite->path).lexically_normal() !=
                                          std::filesystem::path(backup.path).lexically_normal(),
               "backup", "the backup would overwrite the database itself")
        .status();
  }
};

}  // namespace tournament

#endif  // UNCOPYABLE_EXAMPLES_TOURNAMENT_CONFIG_H_
