// The side-by-side benchmark report: Google Benchmark JSON in, Markdown
// tables and an SVG chart out.
//
//   absl::StatusOr<ProgramReport> fd = read_program("fd", json_text, "fd.json");
//   std::string section = markdown_section({*fd}, setting);
//   absl::StatusOr<std::string> doc = splice(old_doc, section);  // between the markers
//   std::string svg = chart({*fd});
//
// report_generator.cc is the program; `./bazelw run //benchmarks:report`
// (report.sh) runs the benchmarks and then it.
//
// How results are read:
// - Benchmarks are named BM_<Operation>_<Contender>[/arguments]. The
//   contender is the baseline (Raw; StdMutex where the standard library is
//   the baseline), an uncopyable handle, or a peer (any other name); see
//   contender_named(). BM_Cost_<Part> are breakdowns, not contenders.
// - Each figure is the "median" aggregate of a benchmark's repetitions (or
//   the median of its runs, if the program reported no aggregates), in real
//   (wall-clock) time; its spread, the "cv" aggregate (or the runs' own).
// - An operation's label is the program's custom context of the same name:
//   benchmark::AddCustomContext("BM_OpenClose", "open + close") in the
//   program. Without one, the name itself is shown.
#ifndef UNCOPYABLE_BENCHMARKS_REPORT_H_
#define UNCOPYABLE_BENCHMARKS_REPORT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace uncopyable::report {

inline constexpr absl::string_view kBeginMarker = "<!-- report:begin -->";
inline constexpr absl::string_view kEndMarker = "<!-- report:end -->";

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

// The contender a benchmark name ends with: "Raw" is the baseline, "Fd" is
// uncopyable, an unknown name is a peer titled with that name.
Contender contender_named(absl::string_view name);

// One contender's median time for one operation, and how much its
// repetitions varied: their coefficient of variation (standard deviation
// over mean), if there were several.
struct Cell {
  Contender contender;
  double ns;
  std::optional<double> cv;
};

// uncopyable's time over the baseline's and over the fastest peer's; empty
// where the row lacks one of them.
struct Ratios {
  std::optional<double> to_baseline;
  std::optional<double> to_best_peer;
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

// Reads the JSON a program wrote with --benchmark_out (`path` only names it
// in errors).
absl::StatusOr<ProgramReport> read_program(absl::string_view program, absl::string_view json,
                                           absl::string_view path);

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
absl::StatusOr<std::string> splice(absl::string_view document, absl::string_view section);

// The chart, an SVG document: for each operation a bar per contender, its
// time over the baseline's.
std::string chart(const std::vector<ProgramReport>& programs);

// Three significant figures in the unit that suits: 0.52 ns, 613 ns,
// 13.4 µs, 46.2 ms, 6.75 s.
std::string format_duration(double ns);

}  // namespace uncopyable::report

#endif  // UNCOPYABLE_BENCHMARKS_REPORT_H_
