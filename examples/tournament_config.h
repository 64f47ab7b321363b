// Everything the tournament is built from, as one config: plain data that is
// printed, compared, saved to JSON and read back. No live resource is in
// here; each one is rebuilt from its part.
#ifndef UNCOPYABLE_EXAMPLES_TOURNAMENT_CONFIG_H_
#define UNCOPYABLE_EXAMPLES_TOURNAMENT_CONFIG_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "uncopyable/config.h"
#include "uncopyable/mutex.h"
#include "uncopyable/postgres.h"
#include "uncopyable/socket.h"
#include "uncopyable/sqlite.h"

namespace tournament {

struct TournamentConfig {
  UNCOPYABLE_CONFIG(TournamentConfig, name, sqlite, postgres, backup, scoreboard, standings)

  std::string name = "Autumn Open";                      // printed in the output
  std::optional<uncopyable::SqliteConfig> sqlite{};      // the database on SQLite, or
  std::optional<uncopyable::PostgresConfig> postgres{};  // on a PostgreSQL server
  uncopyable::SqliteConfig backup{};                     // where backups are written
  uncopyable::ListenerConfig scoreboard{};               // the score-board server
  uncopyable::MutexConfig standings{};                   // the lock on the standings

  // Exactly one database; a backup path that is not the database's own.
  absl::Status validate() const {
    if (sqlite.has_value() == postgres.has_value()) {
      return absl::InvalidArgumentError(
          "TournamentConfig: give exactly one database, sqlite or postgres");
    }
    if (backup.path.empty()) {
      return absl::InvalidArgumentError("TournamentConfig.backup.path: required");
    }
    if (sqlite.has_value() && sqlite->path == backup.path) {
      return absl::InvalidArgumentError(absl::StrCat(
          "TournamentConfig: the backup would overwrite the database itself (", backup.path, ")"));
    }
    return absl::OkStatus();
  }
};

}  // namespace tournament

#endif  // UNCOPYABLE_EXAMPLES_TOURNAMENT_CONFIG_H_
