// The generated section of docs/benchmarks.md, and putting it in place.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "benchmarks/report.h"

namespace uncopyable::report {
namespace {

template <typename T>
void add_once(std::vector<T>& list, const T& value) {
  if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(value);
}

// A row's ratio: its median and, if it was taken repetition by repetition,
// the middle half of them: "1.04 (1.02–1.06)".
std::string format_ratio(const std::optional<Spread>& ratio) {
  if (!ratio.has_value()) return "—";
  if (ratio->count < 2) return absl::StrFormat("%.2f", ratio->median);
  return absl::StrFormat("%.2f (%.2f–%.2f)", ratio->median, ratio->low, ratio->high);
}

// A coefficient of variation as a percentage: "0.4 %", "27 %".
std::string format_cv(std::optional<double> cv) {
  if (!cv.has_value()) return "—";
  const double percent = *cv * 100;
  return absl::StrFormat("%.*f %%", percent < 9.95 ? 1 : 0, percent);
}

// The median and the range of some ratios: "1.02 (0.91–1.08)".
std::string format_range(std::vector<double> ratios) {
  const std::optional<Spread> spread = spread_of(std::move(ratios));
  if (!spread.has_value()) return "—";
  return absl::StrFormat("%.2f (%.2f–%.2f)", spread->median, spread->min, spread->max);
}

// The titles of the baselines the rows have, each once.
void add_baselines(const ProgramReport& program, std::vector<std::string>& baselines) {
  for (const Row& row : program.rows) {
    if (const Ratios ratios = row.ratios(); !ratios.baseline.empty()) {
      add_once(baselines, ratios.baseline);
    }
  }
}

// A row per program, linked to its table, and one for them all: median and
// range of the ratios.
std::string summary_table(const std::vector<ProgramReport>& programs) {
  std::string table =
      "| program | operations | uncopyable / baseline | uncopyable / best peer |\n"
      "| --- | ---: | ---: | ---: |\n";
  std::vector<double> all_to_baseline, all_to_peer;
  size_t all_operations = 0;
  for (const ProgramReport& program : programs) {
    std::vector<double> to_baseline, to_peer;
    for (const Row& row : program.rows) {
      const Ratios ratios = row.ratios();
      if (ratios.to_baseline) to_baseline.push_back(ratios.to_baseline->median);
      if (ratios.to_best_peer) to_peer.push_back(ratios.to_best_peer->median);
    }
    absl::StrAppend(&table, "| [", program.program, "](#", program.program, ") | ",
                    program.rows.size(), " | ",
                    format_range(to_baseline), " | ", format_range(to_peer), " |\n");
    all_to_baseline.insert(all_to_baseline.end(), to_baseline.begin(), to_baseline.end());
    all_to_peer.insert(all_to_peer.end(), to_peer.begin(), to_peer.end());
    all_operations += program.rows.size();
  }
  if (programs.size() > 1) {
    absl::StrAppend(&table, "| all | ", all_operations, " | ", format_range(all_to_baseline),
                    " | ", format_range(all_to_peer), " |\n");
  }
  return table;
}

// operation | each contender | uncopyable / baseline | uncopyable / best peer
// | largest cv, then the breakdown if the program measured one.
std::string program_table(const ProgramReport& program) {
  std::vector<std::string> baselines;
  add_baselines(program, baselines);
  bool several_peers = false;  // in one row: then name the best
  for (const Row& row : program.rows) {
    several_peers |= std::count_if(row.cells.begin(), row.cells.end(), [](const Cell& cell) {
                       return cell.contender.role == Role::kPeer;
                     }) > 1;
  }

  std::string table = "| operation |";
  std::string rule = "| --- |";
  for (const Contender& column : program.columns) {
    absl::StrAppend(&table, " ", column.title, " |");
    absl::StrAppend(&rule, " ---: |");
  }
  absl::StrAppend(&table, " uncopyable / ", baselines.size() == 1 ? baselines[0] : "baseline",
                  " | uncopyable / best peer | cv |\n", rule, " ---: | ---: | ---: |\n");
  for (const Row& row : program.rows) {
    absl::StrAppend(&table, "| ", row.label, " |");
    for (const Contender& column : program.columns) {
      auto cell = std::find_if(row.cells.begin(), row.cells.end(),
                               [&](const Cell& c) { return c.contender.name == column.name; });
      absl::StrAppend(&table, " ", cell != row.cells.end() ? format_duration(cell->ns) : "—", " |");
    }
    const Ratios ratios = row.ratios();
    std::string to_peer = format_ratio(ratios.to_best_peer);
    if (several_peers && ratios.to_best_peer.has_value()) {
      absl::StrAppend(&to_peer, " (", ratios.best_peer, ")");
    }
    absl::StrAppend(&table, " ", format_ratio(ratios.to_baseline), " | ", to_peer, " | ",
                    format_cv(row.largest_cv()), " |\n");
  }

  if (!program.breakdown.empty()) {
    absl::StrAppend(&table, "\nWhere the time goes, measured in the same run (`BM_Cost_*`):\n\n",
                    "| part | time |\n| --- | ---: |\n");
    for (const Part& part : program.breakdown) {
      absl::StrAppend(&table, "| ", part.label, " | ", format_duration(part.ns), " |\n");
    }
  }
  return table;
}

}  // namespace

std::string format_duration(double ns) {
  struct Unit {
    double ns;
    const char* name;
  };
  static constexpr Unit kUnits[] = {{1e9, "s"}, {1e6, "ms"}, {1e3, "µs"}, {1, "ns"}};
  for (const Unit& unit : kUnits) {
    const double value = ns / unit.ns;
    if (value < 0.9995 && unit.ns > 1) continue;  // it would show as less than 1.00
    const int decimals = value >= 99.95 ? 0 : value >= 9.995 ? 1 : 2;
    return absl::StrFormat("%.*f %s", decimals, value, unit.name);
  }
  return "";  // not reached: nanoseconds take anything
}

std::string markdown_section(const std::vector<ProgramReport>& programs, const Setting& setting) {
  std::string date;  // the earliest
  std::vector<int> repetitions;
  std::vector<std::string> baselines;
  for (const ProgramReport& program : programs) {
    if (date.empty() || (!program.date.empty() && program.date < date)) date = program.date;
    for (int count : program.repetitions) add_once(repetitions, count);
    add_baselines(program, baselines);
  }
  std::sort(repetitions.begin(), repetitions.end());

  std::string section = absl::StrCat(
      kBeginMarker, "\n",
      "<!-- Written by `./bazelw run //benchmarks:report`: edit outside the markers. -->\n\n",
      "## At a glance\n\n",
      "![Each contender's median time over the baseline's, per operation](", setting.chart_link,
      ")\n\n",
      "uncopyable's time over the baseline's (",
      absl::StrJoin(baselines, ", or "),
      ") and over the fastest peer's, per operation (the median of the ratios taken "
      "repetition by repetition): below 1.00 uncopyable is faster. Each figure is the median "
      "over a program's operations, the lowest and the highest in parentheses.\n\n",
      summary_table(programs), "\n");
  absl::StrAppend(&section, "Machine: ", setting.machine.empty() ? "unknown" : setting.machine,
                  "; ", setting.compiler, ", `-c opt`. Measured ",
                  date.empty() ? "" : absl::StrCat("on ", date, " "), "with\n\n```sh\n",
                  setting.command, "\n```\n\n");
  absl::StrAppend(&section, "Each time is the median of ", absl::StrJoin(repetitions, " or "),
                  repetitions == std::vector<int>{1} ? " repetition" : " repetitions",
                  ", in wall-clock time. A repetition is one run of a program for one "
                  "operation: its contenders back to back, in random order");
  if (!setting.program_flags.empty()) absl::StrAppend(&section, " (`", setting.program_flags, "`)");
  absl::StrAppend(&section,
                  ". A ratio is taken in each repetition, between the two times measured "
                  "there, and the tables give the median of those ratios and, in "
                  "parentheses, the middle half of them (first to third quartile): a ratio "
                  "whose range includes 1.00 is within the noise. The cv of a row is the "
                  "largest coefficient of variation (standard deviation over mean) of its "
                  "times across the repetitions: other work on the machine raises it.\n\n",
                  "## All results\n");
  for (const ProgramReport& program : programs) {
    absl::StrAppend(&section, "\n### ", program.program, "\n\n", program_table(program));
  }
  absl::StrAppend(&section, kEndMarker, "\n");
  return section;
}

absl::StatusOr<std::string> splice(absl::string_view document, absl::string_view section,
                                   absl::string_view begin_marker, absl::string_view end_marker) {
  const size_t begin = document.find(begin_marker);
  const size_t end = document.find(end_marker);
  if (begin == absl::string_view::npos && end == absl::string_view::npos) {
    // No section yet: before the first "## " heading, or at the end.
    size_t at = absl::StartsWith(document, "## ") ? 0 : document.find("\n## ");
    if (at == absl::string_view::npos) {
      if (document.empty()) return std::string(section);
      return absl::StrCat(document, absl::EndsWith(document, "\n") ? "\n" : "\n\n", section);
    }
    if (at > 0) ++at;  // past the newline
    return absl::StrCat(document.substr(0, at), section, "\n", document.substr(at));
  }
  if (begin == absl::string_view::npos || end == absl::string_view::npos || end < begin ||
      document.find(begin_marker, begin + 1) != absl::string_view::npos ||
      document.find(end_marker, end + 1) != absl::string_view::npos) {
    return absl::FailedPreconditionError(
        absl::StrCat("the markers ", begin_marker, " and ", end_marker,
                     " must be there once each, in that order; mend the file by hand"));
  }
  size_t after = end + end_marker.size();
  if (after < document.size() && document[after] == '\n') ++after;
  return absl::StrCat(document.substr(0, begin), section, document.substr(after));
}

}  // namespace uncopyable::report
