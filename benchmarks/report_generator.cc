// report_generator: Google Benchmark JSON results in; the generated section
// of a Markdown file (tables) and the chart beside it (SVG) out.
//
//   report_generator --markdown=docs/benchmarks.md --machine="2 cores (...)"
//       --command="./bazelw run //benchmarks:report"
//       --program_flags="--benchmark_repetitions=15 ..."
//       fd=/tmp/fd.json file=/tmp/file.json ...
//
// Only the text between <!-- report:begin --> and <!-- report:end --> is
// rewritten (see report.h); the chart, docs/benchmarks.svg here, is written
// whole. The same results give the same files, byte for byte.
// `./bazelw run //benchmarks:report` (report.sh) runs the benchmark programs
// and then this.
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
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

absl::Status run(absl::Span<char* const> results) {
  const std::string markdown = absl::GetFlag(FLAGS_markdown);
  if (markdown.empty()) return absl::InvalidArgumentError("--markdown=PATH is missing");
  if (results.empty()) return absl::InvalidArgumentError("no results: PROGRAM=RESULTS.json ...");

  std::vector<ProgramReport> programs;
  for (absl::string_view result : results) {
    const std::pair<std::string, std::string> program =
        absl::StrSplit(result, absl::MaxSplits('=', 1));
    if (program.first.empty() || program.second.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("\"", result, "\" is not PROGRAM=RESULTS.json"));
    }
    absl::StatusOr<std::string> json = read_file(program.second);
    if (!json.ok()) return json.status();
    absl::StatusOr<ProgramReport> read =
        uncopyable::report::read_program(program.first, *json, program.second);
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
