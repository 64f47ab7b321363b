// The side-by-side benchmark report: Google Benchmark JSON in, Markdown
// tables and an SVG chart out.
//
//   absl::StatusOr<ProgramReport> fd = read_program("fd", {{"g000-r000.json", json_text}, ...});
//   std::string section = markdown_section({*fd}, setting);
//   absl::StatusOr<std::string> doc = splice(old_doc, section);  // between the markers
//   std::string svg = chart({*fd});
//
// report_generator.cc is the program; `./bazelw run //benchmarks:report`
// (report.sh) runs the benchmarks and then it, and
// benchmarks/compare_builds.sh runs two builds of them and then it.
//
// How results are read:
// - Benchmarks are named BM_<Operation>_<Contender>[/arguments]. The
//   contender is the baseline ("Raw"), an uncopyable handle, a peer, or a
//   variant of one of them, as the program declares with a custom context
//   entry "contender <Name>" = "<role>: <title>", e.g.
//     benchmark::AddCustomContext("contender Fd", "uncopyable: `uncopyable::Fd`");
//   (roles: baseline, baseline variant, uncopyable, uncopyable variant,
//   peer). An undeclared name is a peer titled with that name, "Raw"
//   excepted. BM_Cost_<Part> are breakdowns, not contenders.
// - A repetition is one run of a benchmark, named by its result file and
//   its repetition_index there. report.sh runs each operation's contenders
//   together, one repetition per program run, in a file of their own; the
//   ratios of a row are taken repetition by repetition (both contenders of
//   a pair measured in the same run, back to back) and their median shown
//   with their interquartile range. A time is the median of a contender's
//   repetitions, in real (wall-clock) time. Results with only aggregates
//   (--benchmark_report_aggregates_only) are read too: their "median" and
//   "cv", and ratios of medians, with no spread.
// - An operation's label is the program's custom context of the same name:
//   benchmark::AddCustomContext("BM_OpenClose", "open + close") in the
//   program. Without one, the name itself is shown.
#ifndef UNCOPYABLE_BENCHMARKS_REPORT_H_
#define UNCOPYABLE_BENCHMARKS_REPORT_H_

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace uncopyable::report {

inline constexpr absl::string_view kBeginMarker = "<!-- report:begin -->";
inline constexpr absl::string_view kEndMarker = "<!-- report:end -->";
// The section compare_builds.sh writes.
inline constexpr absl::string_view kCompareBeginMarker = "<!-- compare:begin -->";
inline constexpr absl::string_view kCompareEndMarker = "<!-- compare:end -->";

// What a contender is there for. The order is the order of the columns.
enum class Role {
  kBaseline,           // what the ratios are to
  kBaselineVariant,    // another way to do the baseline's job, shown beside it
  kUncopyable,         // the handle the ratios are for
  kUncopyableVariant,  // the same handle with other settings
  kPeer,               // another library doing the same job
};

struct Contender {
  std::string name;   // as in the benchmark's name: "Fd"
  Role role;
  std::string title;  // as in the report, Markdown: "`uncopyable::Fd`"
};

// The contender a benchmark name ends with, as `declared` (the program's
// custom context: "contender Fd" -> "uncopyable: `uncopyable::Fd`") says;
// "Raw" is the baseline; any other name a peer titled with that name.
// Fails on a declaration whose role is not one of the five.
absl::StatusOr<Contender> contender_named(absl::string_view name,
                                          const std::map<std::string, std::string>& declared);

// The middle of some values and how far they spread: the median, the
// first and third quartiles (the middle half lies between them) and the
// extremes. Quantiles interpolate linearly between the sorted values (the
// q-th of n values is at position q * (n - 1), counting from 0), so the
// median of an even count is the mean of the middle two.
struct Spread {
  double median = 0;
  double low = 0;   // first quartile
  double high = 0;  // third quartile
  double min = 0;
  double max = 0;
  size_t count = 0;  // of the values; 0 for a lone ratio of medians
};

// Of values; empty if there are none.
std::optional<Spread> spread_of(std::vector<double> values);

// The q-quantile (0 <= q <= 1) of values sorted ascending, not empty.
double quantile(const std::vector<double>& sorted, double q);

// Times by repetition: "g003-r007.json#0" (file and repetition_index) ->
// nanoseconds.
using Repetitions = std::map<std::string, double>;

// numerator[k] / denominator[k] for each repetition k that both have, in
// the order of k.
std::vector<double> paired_ratios(const Repetitions& numerator, const Repetitions& denominator);

// One contender's median time for one operation, how much its repetitions
// varied (their coefficient of variation, standard deviation over mean, if
// there were several), and each repetition's time.
struct Cell {
  Contender contender;
  double ns;
  std::optional<double> cv;
  Repetitions repetitions;  // empty if the program reported only aggregates
};

// a's time over b's: the spread of the ratios taken repetition by
// repetition; if they share no repetition (aggregates only), the ratio of
// their medians alone (count 0).
Spread ratio_of(const Cell& a, const Cell& b);

// uncopyable's time over the baseline's and over the fastest peer's (the
// peer with the lowest median time); empty where the row lacks one of them.
struct Ratios {
  std::optional<Spread> to_baseline;
  std::optional<Spread> to_best_peer;
  std::string baseline;   // its title
  std::string best_peer;  // its title
};

// One operation, every contender that did it.
struct Row {
  std::string label;        // Markdown
  std::vector<Cell> cells;  // in the order of Role

  // The first cell of that role, or null.
  const Cell* find(Role role) const;
  Ratios ratios() const;
  // The largest coefficient of variation of the cells: a ratio that is
  // nearer 1.00 than that is within the noise.
  std::optional<double> largest_cv() const;
};

// A BM_Cost_* measurement: part of what an operation costs.
struct Part {
  std::string label;  // Markdown
  double ns;
};

// One program's results, ready to show.
struct ProgramReport {
  std::string program;             // "fd"
  std::string date;                // of the run: "2026-11-25"
  std::vector<int> repetitions;    // of its benchmarks: {15}
  std::vector<Contender> columns;  // in the order of Role
  std::vector<Row> rows;           // in the order the program registered them
  std::vector<Part> breakdown;
};

// One file a program wrote with --benchmark_out: its name (the key of its
// repetitions, and what errors name) and its text.
struct ResultFile {
  std::string name;
  std::string json;
};

// Reads one program's result files, in their order: a row is placed where
// its operation first appears.
absl::StatusOr<ProgramReport> read_program(absl::string_view program,
                                           const std::vector<ResultFile>& files);

// Every benchmark's time in each repetition, by run name
// ("BM_OpenClose_Raw"), in the order they first appear; what
// compare_section() pairs.
struct Benchmark {
  std::string run_name;
  Repetitions repetitions;
};
absl::StatusOr<std::vector<Benchmark>> read_benchmarks(const std::vector<ResultFile>& files);

// What the report says about where and how it was measured.
struct Setting {
  std::string machine;        // "2 cores (...), Debian GNU/Linux 12 (bookworm), ..."
  std::string compiler;       // "GCC 12.2.0"
  std::string command;        // the command that ran it all
  std::string program_flags;  // what every program ran with
  std::string chart_link;     // the chart, relative to the Markdown file
};

// The generated section, markers included: a summary with the chart, then a
// table per program.
std::string markdown_section(const std::vector<ProgramReport>& programs, const Setting& setting);

// `document` with `section` in place of its marked section, or, if it has
// none, before its first "## " heading (at its end if it has none). Fails
// if the markers are not there once each, in order.
absl::StatusOr<std::string> splice(absl::string_view document, absl::string_view section,
                                   absl::string_view begin_marker = kBeginMarker,
                                   absl::string_view end_marker = kEndMarker);

// One program's benchmarks in two builds, run repetition by repetition
// (the same file names in both).
struct Comparison {
  std::string program;
  std::vector<Benchmark> before;
  std::vector<Benchmark> after;
};

// What compare_builds.sh says about the builds and the run.
struct CompareSetting {
  std::string before;   // "51a8f0c (Tests: one PostgresServer...)"
  std::string after;    // "070757d and uncommitted changes"
  std::string machine;
  std::string command;
  std::string program_flags;
  std::string sources;  // which benchmark sources each build ran
  std::string date;
};

// The compare section, markers included: per benchmark its median time in
// each build and the median of after / before taken repetition by
// repetition, with the interquartile range.
std::string compare_section(const std::vector<Comparison>& programs, const CompareSetting& setting);

// The chart, an SVG document: for each operation a bar per contender, its
// time over the baseline's.
std::string chart(const std::vector<ProgramReport>& programs);

// Three significant figures in the unit that suits: 0.52 ns, 613 ns,
// 13.4 µs, 46.2 ms, 6.75 s.
std::string format_duration(double ns);

}  // namespace uncopyable::report

#endif  // UNCOPYABLE_BENCHMARKS_REPORT_H_
