// The README's main command:
//
//   ./bazelw run //examples:tournament                      # SQLite, no server
//   PGPASSWORD=... ./bazelw run //examples:tournament -- --db=postgresql://user@host/db
//   ./bazelw run //examples:tournament -- --keep            # keep the files, then
//   ./bazelw run //examples:tournament -- --from=/tmp/.../config.json
//
// A small tournament told step by step, to show uncopyable's one idea: copy
// the config, not the connection. Every live resource here (a database
// connection, a listening socket, a client socket, a lock) is built from a
// plain config, moved but never copied, rebuilt from its config when another
// like it is needed, and closed explicitly where the error matters. The
// configs are saved to a JSON file, and a second run (--from) rebuilds
// everything from that file.
//
// Exits 0 when the whole story ran, 1 on any failure (with the error), 2 on
// bad flags. It removes what it created unless --keep: the folder it makes
// for its files, and the table if it made it in a database given with --db
// (that database, file or server, is the caller's and stays). A --from run
// reads the saved file and never writes to it: it saves its configs to a
// fresh folder of its own.
#include <stdlib.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "examples/database_board.h"
#include "examples/match_store.h"
#include "examples/scoreboard.h"
#include "examples/standings.h"
#include "examples/tournament_config.h"
#include "uncopyable/config_json.h"
#include "uncopyable/config_url.h"
#include "uncopyable/file.h"
#include "uncopyable/rebuildable.h"

namespace tournament {
namespace {

// ---------------------------------------------------------------------------
// Telling the story.

int step_number = 0;

void step(absl::string_view title) { std::cout << "\n" << ++step_number << ". " << title << "\n"; }

// Prints each line of `text` indented under the current step.
void say(absl::string_view text) {
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::cout << "   " << line << "\n";
  }
}

// Returns early from the enclosing function with the error, if any.
#define RETURN_IF_ERROR(expression)                                         \
  do {                                                                      \
    if (absl::Status status_ = (expression); !status_.ok()) return status_; \
  } while (false)

// ---------------------------------------------------------------------------
// The games: four players, a round-robin, scores that follow from the round
// number, so a later run carries on where an earlier one stopped.

constexpr std::array<const char*, 4> kPlayers = {"ann", "bob", "cho", "dev"};
constexpr std::array<std::array<std::pair<int, int>, 2>, 3> kPairings = {{
    {{{0, 1}, {2, 3}}},
    {{{0, 2}, {1, 3}}},
    {{{0, 3}, {1, 2}}},
}};

std::vector<Match> play_round(int64_t round) {
  std::vector<Match> played;
  for (auto [a, b] : kPairings[static_cast<size_t>(round - 1) % kPairings.size()]) {
    int64_t points_a = 10 + (round * 7 + a * 5 + b * 3) % 12;
    const int64_t points_b = 10 + (round * 5 + a * 3 + b * 7) % 12;
    if (points_a == points_b) points_a += 2;
    const bool a_won = points_a > points_b;
    played.push_back({.round = round,
                      .winner = kPlayers[static_cast<size_t>(a_won ? a : b)],
                      .loser = kPlayers[static_cast<size_t>(a_won ? b : a)],
                      .winner_points = a_won ? points_a : points_b,
                      .loser_points = a_won ? points_b : points_a});
  }
  return played;
}

std::string describe(const std::vector<Match>& matches) {
  std::string text;
  for (const Match& match : matches) {
    absl::StrAppend(&text, "round ", match.round, ": ", match.winner, " beat ", match.loser, " ",
                    match.winner_points, "-", match.loser_points, "\n");
  }
  return text;
}

// Records the matches of one round in one transaction, and in the standings.
template <typename Connection>
absl::Status record_round(Connection& db, int64_t round, Standings& standings) {
  const std::vector<Match> played = play_round(round);
  {
    auto transaction = db.begin();
    if (!transaction.ok()) return transaction.status();
    RETURN_IF_ERROR(insert(db, played));
    RETURN_IF_ERROR(transaction->commit());  // without it, the destructor rolls back
  }
  for (const Match& match : played) standings.record(match);
  say(describe(played));
  return absl::OkStatus();
}

// How long the score-board may take over one answer (the client waits 5 s):
// what the first request after the pool opened waits for its first connection.
constexpr absl::Duration kAnswerWithin = absl::Seconds(3);

// ---------------------------------------------------------------------------
// Files: the config is saved with a File and read back with one.

absl::Status save_config(const TournamentConfig& config, const std::string& path) {
  // The copy that is saved leaves the password out: a secret is not data to
  // write to disk. A later run takes it from PGPASSWORD or ~/.pgpass (libpq).
  // The file is new (exclusive): nothing is overwritten, and its mode holds.
  TournamentConfig saved = config;
  if (saved.postgres.has_value()) saved.postgres->password = {};
  // With the only secret emptied, revealing secrets reveals nothing; it
  // writes "password":"" (which reads back) instead of "***" (which does not).
  const std::string json = uncopyable::to_json(saved, uncopyable::Secrets::kReveal) + "\n";

  absl::StatusOr<uncopyable::File> file =
      uncopyable::rebuild(uncopyable::FileConfig{.path = path,
                                                 .access = uncopyable::FileAccess::write,
                                                 .create = true,
                                                 .exclusive = true,
                                                 .permissions = uncopyable::Permissions(0600)});
  if (!file.ok()) return file.status();
  RETURN_IF_ERROR(file->write(json));
  RETURN_IF_ERROR(file->sync());
  return file->close();  // where a full disk can still show up: not ignored
}

absl::StatusOr<TournamentConfig> load_config(const std::string& path) {
  absl::StatusOr<uncopyable::File> file = uncopyable::rebuild(uncopyable::FileConfig{.path = path});
  if (!file.ok()) return file.status();
  absl::StatusOr<std::string> json = file->read_to_end(1 << 20);  // a config is far smaller
  if (!json.ok()) return json.status();
  RETURN_IF_ERROR(file->close());
  absl::StatusOr<TournamentConfig> config = uncopyable::from_json<TournamentConfig>(*json);
  if (!config.ok()) {
    return absl::Status(config.status().code(),
                        absl::StrCat(path, ": ", config.status().message()));
  }
  return config;
}

// ---------------------------------------------------------------------------
// The story, written once for either database.

struct Run {
  bool reuse_tables = false;    // --from: the table is there from a kept run
  bool database_apart = false;  // the database is not in the run's own folder
  std::string config_path;      // where the configs are saved
};

// What a run made, to remove at the end unless --keep.
struct Created {
  std::string dir;     // the folder it made for its files
  bool table = false;  // the table, in a database apart from that folder
};

template <typename DbConfig>
absl::Status tell_story(const TournamentConfig& config, const DbConfig& db_config, const Run& run,
                        Created& created) {
  step("Open the tournament database from its config");
  auto db = uncopyable::rebuild(db_config);  // a SqliteConnection or a PostgresConnection
  if (!db.ok()) return db.status();
  say(absl::StrCat("uncopyable::rebuild(config) connected to ", uncopyable::to_url(db->config())));
  RETURN_IF_ERROR(create_table(*db, run.reuse_tables ? Tables::kReuse : Tables::kCreate));
  // Only a table this run made is this run's to drop.
  created.table = !run.reuse_tables && run.database_apart;
  absl::StatusOr<std::vector<Match>> earlier = load(*db);
  if (!earlier.ok()) return earlier.status();
  say(earlier->empty()
          ? absl::StrCat("created table ", kTable)
          : absl::StrCat("found ", earlier->size(), " matches recorded by an earlier run"));

  step(absl::StrCat("The standings, in memory, behind a Mutex named \"", config.standings.name,
                    "\""));
  absl::StatusOr<Standings> standings = Standings::open(config.standings);
  if (!standings.ok()) return standings.status();
  for (const Match& match : *earlier) standings->record(match);
  say("this thread records each match in them as it commits it; the score-board computes");
  say("its own table from the database, and the two must agree. Every access takes the");
  say("lock, and unlocking it from the wrong thread would abort");
  int64_t round = earlier->empty() ? 1 : earlier->back().round + 1;

  step("Record two rounds, each in one transaction");
  RETURN_IF_ERROR(record_round(*db, round++, *standings));
  RETURN_IF_ERROR(record_round(*db, round++, *standings));

  step("A score-board on a loopback Listener, read by a Socket client");
  // The server reads the database through a pool, as a real server would:
  // a connection per request, given back after it, a broken one replaced
  // from the config (a PostgreSQL restart costs the requests made while the
  // server is down an error each, and no more). The pool outlives every
  // server thread that reads through it (it is declared before `server`).
  using Connection = std::remove_cvref_t<decltype(*db)>;
  absl::StatusOr<DatabaseBoard<Connection>> database_board =
      DatabaseBoard<Connection>::open({.handle = db_config, .pool = config.board_pool});
  if (!database_board.ok()) return database_board.status();
  absl::StatusOr<uncopyable::Listener> listener = uncopyable::rebuild(config.scoreboard);
  if (!listener.ok()) return listener.status();
  // Restarting must keep the port clients know: the same config, with the
  // port the kernel picked written in. Configs are data; change a copy.
  uncopyable::ListenerConfig pinned = listener->config();
  pinned.endpoint = listener->endpoint();
  say(absl::StrCat("listening on ", listener->endpoint().to_string(), " (its config asked for ",
                   listener->config().endpoint.to_string(), ")"));
  std::optional<ScoreBoardServer> server;
  server.emplace(*std::move(listener), *database_board, kAnswerWithin);  // the server thread owns it now
  absl::StatusOr<uncopyable::Socket> client =
      uncopyable::rebuild(uncopyable::SocketConfig{.endpoint = server->endpoint(),
                                                   .connect_timeout = absl::Seconds(5),
                                                   .send_timeout = absl::Seconds(5),
                                                   .receive_timeout = absl::Seconds(5)});
  if (!client.ok()) return client.status();
  absl::StatusOr<std::string> board = read_scoreboard(*client);
  if (!board.ok()) return board.status();
  say(absl::StrCat("the client read the board:\n", *board));
  say(absl::StrCat("the server read it from the database through ",
                   database_board->pool().resource(), " (max_size ",
                   config.board_pool.max_size, "), one connection lent per request"));
  say(absl::StrCat("it agrees with the standings in memory: ",
                   *board == standings->table() ? "true" : "false"));
  if (*board != standings->table()) {
    return absl::InternalError("the board read from the database is not the standings kept");
  }

  step("A backup, the right way, while the original stays in use");
  say(absl::StrCat("the data is copied into a database built from a second config: ",
                   uncopyable::to_url(config.backup)));
  RETURN_IF_ERROR(back_up(*db, config.backup));
  absl::StatusOr<uncopyable::SqliteConnection> backup = uncopyable::rebuild(config.backup);
  if (!backup.ok()) return backup.status();
  absl::StatusOr<int64_t> in_backup = count(*backup);
  if (!in_backup.ok()) return in_backup.status();
  RETURN_IF_ERROR(backup->close());
  say(absl::StrCat("the backup holds ", *in_backup, " matches; the original carries on:"));
  RETURN_IF_ERROR(record_round(*db, round++, *standings));
  absl::StatusOr<int64_t> in_original = count(*db);
  if (!in_original.ok()) return in_original.status();
  say(absl::StrCat("original: ", *in_original, " matches, backup: still ", *in_backup));
  if (*in_original != *in_backup + 2) {
    return absl::InternalError("the backup did not hold what the original held");
  }

  step("A second connection: rebuilt from the first one's config, never cloned");
  auto reader = db->rebuild();
  if (!reader.ok()) return reader.status();
  say(absl::StrCat("reader.config() == db.config(): ",
                   reader->config() == db->config() ? "true" : "false"));
  {
    auto transaction = db->begin();
    if (!transaction.ok()) return transaction.status();
    const std::vector<Match> played = play_round(round++);
    RETURN_IF_ERROR(insert(*db, played));
    absl::StatusOr<int64_t> seen_before = count(*reader);
    if (!seen_before.ok()) return seen_before.status();
    say(absl::StrCat("db recorded round ", played.front().round,
                     " in a transaction not yet committed; the reader sees ", *seen_before,
                     " matches"));
    RETURN_IF_ERROR(transaction->commit());
    for (const Match& match : played) standings->record(match);
    absl::StatusOr<int64_t> seen_after = count(*reader);
    if (!seen_after.ok()) return seen_after.status();
    say(absl::StrCat("db committed; the reader sees ", *seen_after,
                     ": two connections, two sessions, nothing shared"));
    if (*seen_after != *seen_before + 2) {
      return absl::InternalError("the reader did not see the committed round");
    }
  }
  RETURN_IF_ERROR(reader->close());
  absl::StatusOr<int64_t> still = count(*db);
  if (!still.ok()) return still.status();
  say(absl::StrCat("reader closed; db still answers: ", *still, " matches"));

  step("The score-board server restarts");
  RETURN_IF_ERROR(server->stop());
  server.reset();
  say("server stopped (its thread joined, its connection and listener closed)");
  absl::StatusOr<std::string> lost = read_scoreboard(*client);
  if (lost.ok()) return absl::InternalError("the client still read a board from a stopped server");
  say(absl::StrCat("the client's next read fails, as it should: ", lost.status().message()));
  listener = uncopyable::rebuild(pinned);
  if (!listener.ok()) return listener.status();
  server.emplace(*std::move(listener), *database_board, kAnswerWithin);
  say(absl::StrCat("listener rebuilt from the pinned config: ", server->endpoint().to_string()));
  say("the new server reads through the same pool: its connections outlived the old one");
  absl::StatusOr<uncopyable::Socket> reconnected = client->rebuild();
  if (!reconnected.ok()) return reconnected.status();
  RETURN_IF_ERROR(client->close());
  client = *std::move(reconnected);
  say("client.rebuild(): a new connection from the same SocketConfig");
  board = read_scoreboard(*client);
  if (!board.ok()) return board.status();
  say(absl::StrCat("the board now reads:\n", *board));
  if (*board != standings->table()) {
    return absl::InternalError("the board read from the database is not the standings kept");
  }

  step("Save the configs to a JSON file");
  RETURN_IF_ERROR(save_config(config, run.config_path));
  absl::StatusOr<TournamentConfig> saved = load_config(run.config_path);
  if (!saved.ok()) return saved.status();
  TournamentConfig expected = config;
  if (expected.postgres.has_value()) {
    expected.postgres->password = {};
    say("the PostgreSQL password is left out: a run --from the file takes it from PGPASSWORD");
  }
  say(absl::StrCat(run.config_path, " (mode 0600) reads back equal to what this run used: ",
                   *saved == expected ? "true" : "false"));
  if (*saved != expected) return absl::InternalError("the saved config did not read back");

  step("Close everything explicitly: each close reports its own error");
  RETURN_IF_ERROR(client->close());
  say("client socket: closed, OK");
  RETURN_IF_ERROR(server->stop());
  say("score-board server: stopped, OK");
  const uncopyable::PoolMetrics pooled = database_board->pool().metrics();
  say(absl::StrCat("its pool lent ", pooled.acquires, " connection(s) and built ", pooled.builds,
                   "; it closes them as it goes, after every thread that used it"));
  RETURN_IF_ERROR(db->close());
  say("database: closed, OK");
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Flags, the configs of a new run, and cleaning up.

struct Options {
  std::string db_url;  // --db: a postgresql:// or sqlite: URL
  std::string from;    // --from: a saved config to rebuild everything from
  bool keep = false;   // --keep: leave the files and tables in place
};

constexpr char kUsage[] =
    "usage: tournament [--db=URL] [--keep]\n"
    "       tournament --from=CONFIG.json [--keep]\n"
    "  --db=URL     the database (default: SQLite in the run's own folder):\n"
    "                 sqlite:///path/t.db, or postgresql://user@host:port/db with the\n"
    "                 password in PGPASSWORD (not on the command line, where ps shows it)\n"
    "  --keep       keep the files and the table, to run again with --from\n"
    "  --from=FILE  rebuild everything from the configs an earlier run saved\n"
    "Other files go to a fresh folder under $TMPDIR (or /tmp).\n";

absl::StatusOr<Options> parse_flags(absl::Span<char* const> arguments) {
  Options options;
  for (absl::string_view argument : arguments) {
    if (absl::ConsumePrefix(&argument, "--db=")) {
      options.db_url = std::string(argument);
    } else if (absl::ConsumePrefix(&argument, "--from=")) {
      options.from = std::string(argument);
    } else if (argument == "--keep") {
      options.keep = true;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown argument \"", argument, "\""));
    }
  }
  if (!options.from.empty() && !options.db_url.empty()) {
    return absl::InvalidArgumentError("--from takes everything from the file: no --db with it");
  }
  return options;
}

// A fresh folder for the run's files, under $TMPDIR (or /tmp); where its
// configs are saved.
absl::StatusOr<std::string> make_folder(Created& created, Run& run) {
  const char* tmp = std::getenv("TMPDIR");
  std::string dir =
      absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/uncopyable-tournament-XXXXXX");
  if (::mkdtemp(dir.data()) == nullptr) {
    return absl::ErrnoToStatus(errno, absl::StrCat("mkdtemp(", dir, ")"));
  }
  created.dir = dir;
  run.config_path = absl::StrCat(dir, "/config.json");
  return dir;
}

// The configs of a new run: its files in a fresh folder.
absl::StatusOr<TournamentConfig> new_config(const Options& options, Created& created, Run& run) {
  absl::StatusOr<std::string> folder = make_folder(created, run);
  if (!folder.ok()) return folder.status();
  const std::string& dir = *folder;
  TournamentConfig config{
      .name = "Autumn Open",
      .sqlite = std::nullopt,
      .postgres = std::nullopt,
      .backup = {.path = absl::StrCat(dir, "/backup.db")},
      .scoreboard = {.endpoint = uncopyable::Endpoint::tcp("127.0.0.1", 0)},
      .standings = {.name = "standings"},
  };
  if (options.db_url.empty()) {
    config.sqlite = uncopyable::SqliteConfig{.path = absl::StrCat(dir, "/tournament.db")};
  } else if (absl::StartsWith(options.db_url, "postgresql:") ||
             absl::StartsWith(options.db_url, "postgres:")) {
    absl::StatusOr<uncopyable::PostgresConfig> postgres =
        uncopyable::from_url<uncopyable::PostgresConfig>(options.db_url);
    if (!postgres.ok()) return postgres.status();
    config.postgres = *std::move(postgres);
  } else if (absl::StartsWith(options.db_url, "sqlite:")) {
    absl::StatusOr<uncopyable::SqliteConfig> sqlite =
        uncopyable::from_url<uncopyable::SqliteConfig>(options.db_url);
    if (!sqlite.ok()) return sqlite.status();
    config.sqlite = *std::move(sqlite);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--db=", options.db_url, ": expected a postgresql:// or sqlite: URL"));
  }
  RETURN_IF_ERROR(config.validate());
  run.database_apart = !options.db_url.empty();
  return config;
}

void print_configs(const TournamentConfig& config) {
  std::cout << "The " << config.name << ", built from configs: plain data, copied, compared,\n"
            << "printed and saved. None of them is a live resource.\n";
  if (config.sqlite.has_value()) std::cout << "   database     " << *config.sqlite << "\n";
  if (config.postgres.has_value()) std::cout << "   database     " << *config.postgres << "\n";
  std::cout << "   backup       " << config.backup << "\n"
            << "   score-board  " << config.scoreboard << "\n"
            << "   its pool     " << config.board_pool << "\n"
            << "   standings    " << config.standings << "\n";
}

// Removes what the run created: the table (through a connection rebuilt
// from the config, since the run's own is gone) and the folder.
absl::Status clean_up(const Created& created, const TournamentConfig& config) {
  absl::Status status;
  if (created.table) {
    auto drop = [](const auto& db_config) -> absl::Status {
      auto db = uncopyable::rebuild(db_config);
      if (!db.ok()) return db.status();
      RETURN_IF_ERROR(drop_table(*db));
      return db->close();
    };
    status.Update(config.sqlite.has_value() ? drop(*config.sqlite) : drop(*config.postgres));
    if (status.ok()) std::cout << "removed table " << kTable << "\n";
  }
  if (!created.dir.empty()) {
    std::error_code error;
    std::filesystem::remove_all(created.dir, error);
    if (error) {
      status.Update(
          absl::InternalError(absl::StrCat("remove ", created.dir, ": ", error.message())));
    } else {
      std::cout << "removed " << created.dir << "\n";
    }
  }
  return status;
}

int main_with_status(int argc, char** argv) {
  absl::StatusOr<Options> options = parse_flags(absl::MakeConstSpan(argv + 1, argv + argc));
  if (!options.ok()) {
    std::cerr << "tournament: " << options.status().message() << "\n" << kUsage;
    return 2;
  }
  std::cout << "uncopyable tournament: copy the config, not the connection.\n\n";

  Created created;
  Run run;
  absl::StatusOr<TournamentConfig> config;
  if (options->from.empty()) {
    config = new_config(*options, created, run);
  } else {
    config = load_config(options->from);
    run.reuse_tables = true;
    if (config.ok()) {
      std::cout << "Everything below is rebuilt from " << options->from << "\n";
      absl::StatusOr<std::string> folder = make_folder(created, run);
      if (!folder.ok()) config = folder.status();
    }
  }

  absl::Status status = config.status();
  if (status.ok()) {
    print_configs(*config);
    status = config->sqlite.has_value() ? tell_story(*config, *config->sqlite, run, created)
                                        : tell_story(*config, *config->postgres, run, created);
  }

  std::cout << "\n";
  if (options->keep) {
    if (status.ok()) {
      std::cout << "Kept the files. Rebuild everything from the saved configs with:\n"
                << "   ./bazelw run //examples:tournament -- --from=" << run.config_path << "\n";
    }
  } else {
    status.Update(clean_up(created, config.ok() ? *config : TournamentConfig{}));
  }
  if (!status.ok()) {
    std::cerr << "tournament: failed: " << status << "\n";
    return 1;
  }
  std::cout << "Done.\n";
  return 0;
}

}  // namespace
}  // namespace tournament

int main(int argc, char** argv) { return tournament::main_with_status(argc, argv); }
