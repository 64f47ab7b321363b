// The section compare_builds.sh writes: each benchmark in two builds, run
// repetition by repetition, after / before.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "benchmarks/report.h"

namespace uncopyable::report {
namespace {

const Benchmark* find_benchmark(const std::vector<Benchmark>& benchmarks,
                                absl::string_view run_name) {
  auto it = std::find_if(benchmarks.begin(), benchmarks.end(),
                         [&](const Benchmark& b) { return b.run_name == run_name; });
  return it == benchmarks.end() ? nullptr : &*it;
}

std::string median_time(const Benchmark* benchmark) {
  if (benchmark == nullptr) return "—";
  std::vector<double> times;
  for (const auto& [repetition, ns] : benchmark->repetitions) times.push_back(ns);
  const std::optional<Spread> spread = spread_of(std::move(times));
  return spread.has_value() ? format_duration(spread->median) : "—";
}

}  // namespace

std::string compare_section(const std::vector<Comparison>& programs, const CompareSetting& setting) {
  std::string table =
      "| program | benchmark | before | after | after / before |\n"
      "| --- | --- | ---: | ---: | ---: |\n";
  std::vector<std::string> slower, faster;
  size_t compared = 0;
  std::vector<size_t> pairs;  // repetitions per benchmark, each count once
  for (const Comparison& program : programs) {
    std::vector<std::string> names;  // after's order, then what only before has
    for (const Benchmark& b : program.after) names.push_back(b.run_name);
    for (const Benchmark& b : program.before) {
      if (find_benchmark(program.after, b.run_name) == nullptr) names.push_back(b.run_name);
    }
    for (const std::string& name : names) {
      const Benchmark* before = find_benchmark(program.before, name);
      const Benchmark* after = find_benchmark(program.after, name);
      std::string ratio = "—";
      if (before != nullptr && after != nullptr) {
        if (const std::optional<Spread> spread =
                spread_of(paired_ratios(after->repetitions, before->repetitions))) {
          ratio = absl::StrFormat("%.2f (%.2f–%.2f)", spread->median, spread->low, spread->high);
          ++compared;
          if (std::find(pairs.begin(), pairs.end(), spread->count) == pairs.end()) {
            pairs.push_back(spread->count);
          }
          const std::string entry = absl::StrFormat("%s `%s` %.2f", program.program, name,
                                                    spread->median);
          if (spread->low > 1.0) slower.push_back(entry);
          if (spread->high < 1.0) faster.push_back(entry);
        }
      }
      absl::StrAppend(&table, "| ", program.program, " | `", name, "` | ", median_time(before),
                      " | ", median_time(after), " | ", ratio, " |\n");
    }
  }
  std::sort(pairs.begin(), pairs.end());

  std::string section = absl::StrCat(
      kCompareBeginMarker, "\n",
      "<!-- Written by `benchmarks/compare_builds.sh`: edit outside the markers. -->\n\n",
      "Before: ", setting.before, ". After: ", setting.after, ". Machine: ",
      setting.machine.empty() ? "unknown" : setting.machine, "; both builds `-c opt`",
      setting.sources.empty() ? "" : absl::StrCat(", ", setting.sources), ". Measured ",
      setting.date.empty() ? "" : absl::StrCat("on ", setting.date, " "), "with\n\n```sh\n",
      setting.command, "\n```\n\n");
  absl::StrAppend(
      &section, "A repetition runs one operation's benchmarks in one build and then in the "
      "other (which build goes first alternates), each a fresh run of the program",
      setting.program_flags.empty() ? "" : absl::StrCat(" (`", setting.program_flags, "`)"),
      ". For each benchmark, after / before is taken in each repetition; the table gives the "
      "median of those ratios (", pairs.empty() ? "no" : absl::StrJoin(pairs, " or "),
      " repetitions) and, in parentheses, the middle half of them (first to third quartile), "
      "and each build's median time. Below 1.00 the after build is faster; the raw rows run "
      "the same code in both builds, so they show the noise.\n\n");
  auto list = [](const std::vector<std::string>& entries) {
    return entries.empty() ? std::string("none") : absl::StrJoin(entries, "; ");
  };
  absl::StrAppend(&section, "Slower after, the whole middle half above 1.00: ", slower.size(),
                  " of ", compared, " (", list(slower), "). Faster after, the whole middle half "
                  "below 1.00: ", faster.size(), " (", list(faster), ").\n\n",
                  table, kCompareEndMarker, "\n");
  return section;
}

}  // namespace uncopyable::report
