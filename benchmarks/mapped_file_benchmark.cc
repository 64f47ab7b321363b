// Reading a large file whole: MappedFile against File::pread and against a
// raw mmap(2), side by side; and what a TempDir costs against mkdtemp(3).
//
//   ./bazelw run -c opt //benchmarks:mapped_file_benchmark --
//       --benchmark_repetitions=15 --benchmark_enable_random_interleaving=true
//       --benchmark_report_aggregates_only=true
//
// Each read goes from open to close: open (and map), read every byte into a
// checksum, unmap (and close). The file is 64 MiB, written once into a
// TempDir before the first benchmark, so it is in the page cache for all of
// them: this measures the cost of getting at cached bytes, not the disk.
// Results and the exact command are in docs/benchmarks.md.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "uncopyable/file.h"
#include "uncopyable/mapped_file.h"
#include "uncopyable/temp.h"

namespace {

using uncopyable::File;
using uncopyable::FileConfig;
using uncopyable::MappedFile;
using uncopyable::MappedFileConfig;
using uncopyable::TempDir;
using uncopyable::TempDirConfig;

constexpr size_t kFileBytes = size_t{64} << 20;
constexpr size_t kChunkBytes = size_t{1} << 20;  // File::pread's buffer

const bool described = [] {
  benchmark::AddCustomContext("BM_Read64MiB", "reading a 64 MiB cached file whole, open to close");
  benchmark::AddCustomContext("BM_MakeRemove", "making an empty temporary folder and removing it");
  // What each contender is, for //benchmarks:report (see benchmarks/report.h).
  benchmark::AddCustomContext("contender MappedFile", "uncopyable: `uncopyable::MappedFile`");
  benchmark::AddCustomContext("contender MappedFilePopulate",
                              "uncopyable variant: `MappedFile`, `populate = true`");
  benchmark::AddCustomContext("contender File", "peer: `File::pread`, 1 MiB at a time");
  benchmark::AddCustomContext("contender TempDir", "uncopyable: `uncopyable::TempDir`");
  return true;
}();

// The folder and the file, made once; removed at exit by the TempDir.
struct Scratch {
  std::optional<TempDir> dir;
  std::string path;
};

const Scratch& scratch() {
  static Scratch* made = [] {
    auto* s = new Scratch;
    absl::StatusOr<TempDir> dir = TempDir::open(TempDirConfig{.prefix = "mapped-benchmark-"});
    if (!dir.ok()) std::abort();
    s->path = dir->path() + "/large";
    absl::StatusOr<File> file = File::open(FileConfig{.path = s->path,
                                                      .access = uncopyable::FileAccess::write,
                                                      .create = true});
    if (!file.ok()) std::abort();
    std::string block(kChunkBytes, '\0');
    for (size_t i = 0; i < block.size(); ++i) block[i] = static_cast<char>(i * 131 + 7);
    for (size_t done = 0; done < kFileBytes; done += block.size()) {
      if (!file->write(block).ok()) std::abort();
    }
    if (!file->close().ok()) std::abort();
    s->dir.emplace(*std::move(dir));
    std::atexit([] { made->dir.reset(); });
    return s;
  }();
  return *made;
}

// The same work on the bytes for every contender: a sum of 8-byte words.
uint64_t checksum(const std::byte* data, size_t size) {
  uint64_t sum = 0;
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t word;
    std::memcpy(&word, data + i, 8);
    sum += word;
  }
  for (; i < size; ++i) sum += static_cast<uint8_t>(data[i]);
  return sum;
}

void BM_Read64MiB_Raw(benchmark::State& state) {
  const std::string& path = scratch().path;
  for (auto _ : state) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat info;
    ::fstat(fd, &info);
    const size_t size = static_cast<size_t>(info.st_size);
    void* address = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    if (address == MAP_FAILED) std::abort();
    benchmark::DoNotOptimize(checksum(static_cast<const std::byte*>(address), size));
    ::munmap(address, size);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kFileBytes));
}
BENCHMARK(BM_Read64MiB_Raw)->Unit(benchmark::kMillisecond);

void BM_Read64MiB_MappedFile(benchmark::State& state) {
  const MappedFileConfig config{.file = {.path = scratch().path}};
  for (auto _ : state) {
    absl::StatusOr<MappedFile> mapped = MappedFile::open(config);
    if (!mapped.ok()) std::abort();
    const absl::Span<const std::byte> bytes = mapped->bytes();
    benchmark::DoNotOptimize(checksum(bytes.data(), bytes.size()));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kFileBytes));
}
BENCHMARK(BM_Read64MiB_MappedFile)->Unit(benchmark::kMillisecond);

// The same with MAP_POPULATE: the pages are mapped in one go by mmap(2)
// rather than one fault at a time as they are read.
void BM_Read64MiB_MappedFilePopulate(benchmark::State& state) {
  const MappedFileConfig config{.file = {.path = scratch().path}, .populate = true};
  for (auto _ : state) {
    absl::StatusOr<MappedFile> mapped = MappedFile::open(config);
    if (!mapped.ok()) std::abort();
    const absl::Span<const std::byte> bytes = mapped->bytes();
    benchmark::DoNotOptimize(checksum(bytes.data(), bytes.size()));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kFileBytes));
}
BENCHMARK(BM_Read64MiB_MappedFilePopulate)->Unit(benchmark::kMillisecond);

// Copying into a 1 MiB buffer, chunk after chunk, with File::pread.
void BM_Read64MiB_File(benchmark::State& state) {
  const FileConfig config{.path = scratch().path};
  std::vector<char> buffer(kChunkBytes);
  for (auto _ : state) {
    absl::StatusOr<File> file = File::open(config);
    if (!file.ok()) std::abort();
    uint64_t sum = 0;
    for (off_t offset = 0;; offset += static_cast<off_t>(buffer.size())) {
      absl::StatusOr<size_t> got = file->pread(absl::MakeSpan(buffer), offset);
      if (!got.ok()) std::abort();
      if (*got == 0) break;
      sum += checksum(reinterpret_cast<const std::byte*>(buffer.data()), *got);
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kFileBytes));
}
BENCHMARK(BM_Read64MiB_File)->Unit(benchmark::kMillisecond);

// An empty temporary folder, made and removed: mkdtemp(3) and rmdir(2)
// against a TempDir (an O_PATH descriptor of the parent, getrandom, mkdirat;
// then openat, statx, getdents64 to find it empty, unlinkat, close).
void BM_MakeRemove_Raw(benchmark::State& state) {
  const std::string parent = scratch().dir->path();
  const std::string pattern = parent + "/tmp-XXXXXX";
  std::string name;
  for (auto _ : state) {
    name = pattern;
    if (::mkdtemp(name.data()) == nullptr) std::abort();
    ::rmdir(name.c_str());
  }
}
BENCHMARK(BM_MakeRemove_Raw);

void BM_MakeRemove_TempDir(benchmark::State& state) {
  const TempDirConfig config{.parent = scratch().dir->path()};
  for (auto _ : state) {
    absl::StatusOr<TempDir> dir = TempDir::open(config);
    benchmark::DoNotOptimize(dir);
  }
}
BENCHMARK(BM_MakeRemove_TempDir);

}  // namespace
