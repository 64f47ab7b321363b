#include "examples/standings.h"

#include <algorithm>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tournament {
namespace {

void add(std::map<std::string, Standings::Row>& rows, const Match& match) {
  const int64_t margin = match.winner_points - match.loser_points;
  Standings::Row& winner = rows[match.winner];
  ++winner.wins;
  winner.difference += margin;
  Standings::Row& loser = rows[match.loser];
  ++loser.losses;
  loser.difference -= margin;
}

std::string format(std::vector<std::pair<std::string, Standings::Row>> rows) {
  // Most wins first, then the better point difference, then by name.
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return std::tuple(-a.second.wins, -a.second.difference, a.first) <
           std::tuple(-b.second.wins, -b.second.difference, b.first);
  });
  std::string text =
      absl::StrFormat("%-4s %-8s %4s %6s %5s\n", "#", "player", "won", "lost", "+/-");
  int place = 0;
  for (const auto& [name, row] : rows) {
    absl::StrAppendFormat(&text, "%-4d %-8s %4d %6d %+5d\n", ++place, name, row.wins, row.losses,
                          row.difference);
  }
  return text;
}

}  // namespace

std::string table_of(const std::vector<Match>& matches) {
  std::map<std::string, Standings::Row> rows;
  for (const Match& match : matches) add(rows, match);
  return format({rows.begin(), rows.end()});
}

absl::StatusOr<Standings> Standings::open(const uncopyable::MutexConfig& config) {
  absl::StatusOr<uncopyable::Mutex> mutex = uncopyable::rebuild(config);
  if (!mutex.ok()) return mutex.status();
  return Standings(*std::move(mutex));
}

void Standings::record(const Match& match) {
  uncopyable::MutexLock hold(mutex_);
  add(rows_, match);
}

std::string Standings::table() const {
  std::vector<std::pair<std::string, Row>> rows;
  {
    uncopyable::MutexLock hold(mutex_);
    rows.assign(rows_.begin(), rows_.end());
  }
  return format(std::move(rows));
}

absl::StatusOr<std::string> Standings::read(absl::Time) { return table(); }

}  // namespace tournament
