// report_generator: Google Benchmark JSON results in; the generated section
// of a Markdown file (tables) and the chart beside it (SVG) out.
//
//   report_generator --markdown=docs/benchmarks.md --machine="2 cores (...)"
//       --command="./bazelw run //benchmarks:report"
//       --program_flags="--benchmark_repetitions=1 ..."
//       fd=/tmp/results/fd file=/tmp/results/file.json ...
//
// Each PROGRAM=PATH is a result file, or a folder of them (every *.json in
// it, in the order of their names: one per operation and repetition, as
// report.sh writes them). Only the text between <!-- report:begin --> and
// <!-- report:end --> is rewritten (see report.h); the chart,
// docs/benchmarks.svg here, is written whole. The same results give the
// same files, byte for byte. `./bazelw run //benchmarks:report` (report.sh)
// runs the benchmark programs and then this.
//
// With --compare, each PROGRAM=FOLDER holds before/ and after/, the same
// file names in both (benchmarks/compare_builds.sh writes them), and the
// text between <!-- compare:begin --> and <!-- compare:end --> is
// rewritten, with no chart.
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/types/span.h"
#include "benchmarks/report.h"
#include "uncopyable/file.h"

ABSL_FLAG(std::string, markdown, "",
          "the Markdown file whose generated section is rewritten (created if missing); the "
          "chart goes beside it, with the extension .svg");
ABSL_FLAG(std::string, machine, "", "the machine the programs ran on: cores, CPU, system");
ABSL_FLAG(std::string, command, "", "the command that ran the programs");
ABSL_FLAG(std::string, program_flags, "", "the flags every program ran with");
ABSL_FLAG(bool, compare, false,
          "compare two builds: each PROGRAM=FOLDER holds before/ and after/ (see "
          "compare_builds.sh)");
ABSL_FLAG(std::string, before, "", "with --compare: the build before, e.g. a commit");
ABSL_FLAG(std::string, after, "", "with --compare: the build after");
ABSL_FLAG(std::string, sources, "", "with --compare: which benchmark sources each build ran");
ABSL_FLAG(std::string, date, "", "with --compare: the date of the run");

namespace {

using uncopyable::report::ProgramReport;

// The compiler of this program, which is the one of the benchmark programs:
// report.sh builds them all in one `bazel build -c opt`.
std::string compiler() {
#if defined(__clang__)
  return "Clang " __clang_version__;
#elif defined(__GNUC__)
  return "GCC " __VERSION__;
#else
  return "an unknown compiler";
#endif
}

// The whole file, through the library's own File: an error names the path
// and the errno (NotFound if there is no such file).
absl::StatusOr<std::string> read_file(const std::string& path) {
  absl::StatusOr<uncopyable::File> file = uncopyable::rebuild(uncopyable::FileConfig{.path = path});
  if (!file.ok()) return file.status();
  absl::StatusOr<std::string> text = file->read_to_end(size_t{64} << 20);
  if (!text.ok()) return text.status();
  if (absl::Status closed = file->close(); !closed.ok()) return closed;
  return text;
}

// Replaces each file (path, text) whole: every text is first written to
// PATH.tmp, synced and closed, and only when all are written are they
// renamed into place, so a failure leaves the old files as they were.
absl::Status replace_files(const std::vector<std::pair<std::string, std::string>>& files) {
  std::vector<std::string> written;
  auto discard = [&written] {
    for (const std::string& temporary : written) std::remove(temporary.c_str());
  };
  for (const auto& [path, text] : files) {
    const std::string temporary = absl::StrCat(path, ".tmp");
    absl::StatusOr<uncopyable::File> file =
        uncopyable::rebuild(uncopyable::FileConfig{.path = temporary,
                                                   .access = uncopyable::FileAccess::write,
                                                   .create = true,
                                                   .truncate = true,
                                                   .permissions = uncopyable::Permissions(0644)});
    if (!file.ok()) {
      discard();
      return file.status();
    }
    written.push_back(temporary);
    absl::Status status = file->write(text);
    if (status.ok()) status = file->sync();
    if (status.ok()) status = file->close();
    if (!status.ok()) {
      discard();
      return status;
    }
  }
  for (const auto& [path, text] : files) {
    const std::string temporary = absl::StrCat(path, ".tmp");
    if (std::rename(temporary.c_str(), path.c_str()) != 0) {
      const int error = errno;
      discard();
      return absl::ErrnoToStatus(error, absl::StrCat("rename(", temporary, ", ", path, ")"));
    }
  }
  return absl::OkStatus();
}

// The result files at `path`: the file itself, or every *.json in the
// folder, in the order of their names. Each is named PROGRAM/BASENAME, so
// that the same file name in two folders is the same repetition.
absl::StatusOr<std::vector<uncopyable::report::ResultFile>> read_results(
    absl::string_view program, const std::string& path) {
  std::vector<std::string> paths;
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) {
    for (const auto& entry : std::filesystem::directory_iterator(path, error)) {
      if (entry.path().extension() == ".json") paths.push_back(entry.path().string());
    }
    if (error) return absl::ErrnoToStatus(error.value(), absl::StrCat("listing ", path));
    if (paths.empty()) return absl::NotFoundError(absl::StrCat(path, ": no *.json in it"));
    std::sort(paths.begin(), paths.end());
  } else {
    paths.push_back(path);
  }
  std::vector<uncopyable::report::ResultFile> files;
  for (const std::string& file : paths) {
    absl::StatusOr<std::string> json = read_file(file);
    if (!json.ok()) return json.status();
    files.push_back({absl::StrCat(program, "/", std::filesystem::path(file).filename().string()),
                     *std::move(json)});
  }
  return files;
}

absl::StatusOr<std::pair<std::string, std::string>> program_and_path(absl::string_view result) {
  std::pair<std::string, std::string> program = absl::StrSplit(result, absl::MaxSplits('=', 1));
  if (program.first.empty() || program.second.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", result, "\" is not PROGRAM=RESULTS"));
  }
  return program;
}

// Rewrites the compare section of the Markdown file.
absl::Status compare(const std::string& markdown, absl::Span<char* const> results) {
  std::vector<uncopyable::report::Comparison> programs;
  for (absl::string_view result : results) {
    absl::StatusOr<std::pair<std::string, std::string>> program = program_and_path(result);
    if (!program.ok()) return program.status();
    uncopyable::report::Comparison comparison;
    comparison.program = program->first;
    for (auto [build, benchmarks] : {std::pair{"before", &comparison.before},
                                     std::pair{"after", &comparison.after}}) {
      absl::StatusOr<std::vector<uncopyable::report::ResultFile>> files =
          read_results(program->first, absl::StrCat(program->second, "/", build));
      if (!files.ok()) return files.status();
      absl::StatusOr<std::vector<uncopyable::report::Benchmark>> read =
          uncopyable::report::read_benchmarks(*files);
      if (!read.ok()) return read.status();
      *benchmarks = *std::move(read);
    }
    programs.push_back(std::move(comparison));
  }
  const uncopyable::report::CompareSetting setting{
      .before = absl::GetFlag(FLAGS_before),
      .after = absl::GetFlag(FLAGS_after),
      .machine = absl::GetFlag(FLAGS_machine),
      .command = absl::GetFlag(FLAGS_command),
      .program_flags = absl::GetFlag(FLAGS_program_flags),
      .sources = absl::GetFlag(FLAGS_sources),
      .date = absl::GetFlag(FLAGS_date),
  };
  std::string document;  // a missing file is an empty one; any other error stops here
  if (absl::StatusOr<std::string> old = read_file(markdown); old.ok()) {
    document = *std::move(old);
  } else if (!absl::IsNotFound(old.status())) {
    return old.status();
  }
  const std::string section = uncopyable::report::compare_section(programs, setting);
  if (!absl::StrContains(document, uncopyable::report::kCompareBeginMarker) &&
      !absl::StrContains(document, uncopyable::report::kCompareEndMarker)) {
    // No section yet: at the end, out of the report's way.
    if (!document.empty()) absl::StrAppend(&document, absl::EndsWith(document, "\n") ? "\n" : "\n\n");
    return replace_files({{markdown, absl::StrCat(document, section)}});
  }
  absl::StatusOr<std::string> updated = uncopyable::report::splice(
      document, section, uncopyable::report::kCompareBeginMarker,
      uncopyable::report::kCompareEndMarker);
  if (!updated.ok()) {
    return absl::Status(updated.status().code(),
                        absl::StrCat(markdown, ": ", updated.status().message()));
  }
  return replace_files({{markdown, *updated}});
}

absl::Status run(absl::Span<char* const> results) {
  const std::string markdown = absl::GetFlag(FLAGS_markdown);
  if (markdown.empty()) return absl::InvalidArgumentError("--markdown=PATH is missing");
  if (results.empty()) return absl::InvalidArgumentError("no results: PROGRAM=RESULTS ...");
  if (absl::GetFlag(FLAGS_compare)) return compare(markdown, results);

  std::vector<ProgramReport> programs;
  for (absl::string_view result : results) {
    absl::StatusOr<std::pair<std::string, std::string>> program = program_and_path(result);
    if (!program.ok()) return program.status();
    absl::StatusOr<std::vector<uncopyable::report::ResultFile>> files =
        read_results(program->first, program->second);
    if (!files.ok()) return files.status();
    absl::StatusOr<ProgramReport> read = uncopyable::report::read_program(program->first, *files);
    if (!read.ok()) return read.status();
    programs.push_back(*std::move(read));
  }

  // docs/benchmarks.md -> docs/benchmarks.svg, linked as benchmarks.svg.
  absl::string_view stem = markdown;
  absl::ConsumeSuffix(&stem, ".md");
  const std::string chart_path = absl::StrCat(stem, ".svg");
  const size_t slash = chart_path.rfind('/');
  const uncopyable::report::Setting setting{
      .machine = absl::GetFlag(FLAGS_machine),
      .compiler = compiler(),
      .command = absl::GetFlag(FLAGS_command),
      .program_flags = absl::GetFlag(FLAGS_program_flags),
      .chart_link = slash == std::string::npos ? chart_path : chart_path.substr(slash + 1),
  };

  std::string document;  // a missing file is an empty one; any other error stops here
  if (absl::StatusOr<std::string> old = read_file(markdown); old.ok()) {
    document = *std::move(old);
  } else if (!absl::IsNotFound(old.status())) {
    return old.status();
  }
  absl::StatusOr<std::string> updated =
      uncopyable::report::splice(document, uncopyable::report::markdown_section(programs, setting));
  if (!updated.ok()) {
    return absl::Status(updated.status().code(),
                        absl::StrCat(markdown, ": ", updated.status().message()));
  }
  return replace_files({{chart_path, uncopyable::report::chart(programs)}, {markdown, *updated}});
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<char*> arguments = absl::ParseCommandLine(argc, argv);
  if (absl::Status status = run(absl::MakeConstSpan(arguments).subspan(1)); !status.ok()) {
    std::fprintf(stderr, "report_generator: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
