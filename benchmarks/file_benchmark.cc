// File against raw system calls (and std::fopen for open + close):
//
//   ./bazelw run -c opt //benchmarks:file_benchmark --
//       --benchmark_repetitions=15 --benchmark_enable_random_interleaving=true
//       --benchmark_report_aggregates_only=true
//
// Results and the exact command are in docs/benchmarks.md.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "benchmark/benchmark.h"
#include "uncopyable/file.h"

namespace {

using uncopyable::File;
using uncopyable::FileAccess;
using uncopyable::FileConfig;

// What each operation is, in words: printed above the results, and the row
// labels of //benchmarks:report.
const bool described = [] {
  benchmark::AddCustomContext("BM_OpenClose", "open + close of a scratch file");
  benchmark::AddCustomContext("BM_Pwrite4KiB", "4 KiB `pwrite` at offset 0");
  benchmark::AddCustomContext("BM_Rebuild", "a second descriptor (`rebuild()` vs `open`)");
  benchmark::AddCustomContext("BM_Cost_ConfigCopy", "copying the `FileConfig` the `File` keeps");
  benchmark::AddCustomContext("BM_Cost_Validate", "`FileConfig::validate()` before the call");
  // What each contender is, for //benchmarks:report (see benchmarks/report.h).
  benchmark::AddCustomContext("contender RawChecked",
                              "baseline variant: raw, refusing what is not a regular file "
                              "without waiting (`O_NONBLOCK` open, `fstat`, `fcntl`), as `File` does");
  benchmark::AddCustomContext("contender File", "uncopyable: `uncopyable::File`");
  benchmark::AddCustomContext("contender Fopen", "peer: `std::fopen`");
  return true;
}();

// One scratch file for the whole run.
const std::string& scratch_path() {
  static const std::string path = [] {
    std::string name = "/tmp/uncopyable_file_benchmark_XXXXXX";
    const int fd = ::mkstemp(name.data());
    if (fd < 0) std::abort();
    ::close(fd);
    std::atexit([] { ::unlink(scratch_path().c_str()); });
    return name;
  }();
  return path;
}

FileConfig read_write_config() {
  return FileConfig{.path = scratch_path(), .access = FileAccess::read_write};
}

void BM_OpenClose_Raw(benchmark::State& state) {
  const std::string& path = scratch_path();
  for (auto _ : state) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    benchmark::DoNotOptimize(fd);
    ::close(fd);
  }
}
BENCHMARK(BM_OpenClose_Raw);

// What File::open does in system calls, by hand: open without waiting for a
// FIFO's other end, refuse anything but a regular file, then block again.
void BM_OpenClose_RawChecked(benchmark::State& state) {
  const std::string& path = scratch_path();
  for (auto _ : state) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NONBLOCK);
    struct stat info;
    if (fd < 0 || ::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode) ||
        ::fcntl(fd, F_SETFL, O_RDWR) != 0) {
      state.SkipWithError("open, fstat or fcntl failed");
    }
    benchmark::DoNotOptimize(fd);
    ::close(fd);
  }
}
BENCHMARK(BM_OpenClose_RawChecked);

void BM_OpenClose_File(benchmark::State& state) {
  const FileConfig config = read_write_config();
  for (auto _ : state) {
    absl::StatusOr<File> file = File::open(config);
    benchmark::DoNotOptimize(file);
  }
}
BENCHMARK(BM_OpenClose_File);

void BM_OpenClose_Fopen(benchmark::State& state) {
  const std::string& path = scratch_path();
  for (auto _ : state) {
    std::FILE* file = std::fopen(path.c_str(), "r+e");
    benchmark::DoNotOptimize(file);
    std::fclose(file);
  }
}
BENCHMARK(BM_OpenClose_Fopen);

// 4 KiB written at offset 0, again and again.
void BM_Pwrite4KiB_Raw(benchmark::State& state) {
  const int fd = ::open(scratch_path().c_str(), O_RDWR | O_CLOEXEC);
  const std::string block(4096, 'x');
  for (auto _ : state) {
    benchmark::DoNotOptimize(::pwrite(fd, block.data(), block.size(), 0));
  }
  ::close(fd);
  state.SetBytesProcessed(state.iterations() * 4096);
}
BENCHMARK(BM_Pwrite4KiB_Raw);

void BM_Pwrite4KiB_File(benchmark::State& state) {
  absl::StatusOr<File> file = File::open(read_write_config());
  const std::string block(4096, 'x');
  for (auto _ : state) {
    benchmark::DoNotOptimize(file->pwrite(block, 0));
  }
  state.SetBytesProcessed(state.iterations() * 4096);
}
BENCHMARK(BM_Pwrite4KiB_File);

// A second, independent descriptor for a file already open.
void BM_Rebuild_Raw(benchmark::State& state) {
  const std::string path = scratch_path();  // what a raw caller keeps around
  for (auto _ : state) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    benchmark::DoNotOptimize(fd);
    ::close(fd);
  }
}
BENCHMARK(BM_Rebuild_Raw);

void BM_Rebuild_File(benchmark::State& state) {
  absl::StatusOr<File> file = File::open(read_write_config());
  for (auto _ : state) {
    absl::StatusOr<File> again = file->rebuild();
    benchmark::DoNotOptimize(again);
  }
}
BENCHMARK(BM_Rebuild_File);

}  // namespace

// Where File's extra nanoseconds over raw open + close go: keeping a copy of
// its config (one allocation for a path longer than 15 bytes) and checking
// the config's rules before the system call.
namespace {

void BM_Cost_ConfigCopy(benchmark::State& state) {
  const FileConfig config = read_write_config();
  for (auto _ : state) {
    FileConfig copy = config;
    benchmark::DoNotOptimize(copy);
  }
}
BENCHMARK(BM_Cost_ConfigCopy);

void BM_Cost_Validate(benchmark::State& state) {
  const FileConfig config = read_write_config();
  for (auto _ : state) {
    absl::Status status = config.validate();
    benchmark::DoNotOptimize(status);
  }
}
BENCHMARK(BM_Cost_Validate);

}  // namespace
