// Fd against a raw int (and against std::unique_ptr with a deleter, the
// standard library's way to own one): create, move, destroy.
//
//   ./bazelw run -c opt //benchmarks:fd_benchmark --
//       --benchmark_repetitions=9 --benchmark_report_aggregates_only=true
//
// Pairs to compare (Raw vs Fd vs UniquePtr) share the rest of their name.
// FdWithoutTable is Fd as it was before the descriptor ownership table
// (uncopyable/fd_ownership.h): the same owner without the tag updates, so
// one run shows what the table costs. //benchmarks:fd_checks_benchmark is
// this program with //:fd_ownership_checks linked, so every close() in it,
// Raw's too, goes through the checks; there RawPastTheChecks calls the C
// library's close() directly, for the cost of the check itself.
// Results and the exact commands are in docs/benchmarks.md.
#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string_view>

#include <memory>
#include <utility>

#include "benchmark/benchmark.h"
#include "absl/status/status.h"
#include "uncopyable/fd.h"
#include "uncopyable/internal/syscall.h"
#include "uncopyable/unique_handle.h"

namespace {

using uncopyable::Fd;

// What each operation is, in words: printed above the results, and the row
// labels of //benchmarks:report.
const bool described = [] {
  benchmark::AddCustomContext("BM_OpenClose", "`open` + `close` of `/dev/null`");
  benchmark::AddCustomContext("BM_CreateMoveDestroy", "`dup`, moved through three owners, `close`");
  benchmark::AddCustomContext("BM_MovePingPong", "two moves, no system call");
  // What each contender is, for //benchmarks:report (see benchmarks/report.h).
  benchmark::AddCustomContext("contender Fd", "uncopyable: `uncopyable::Fd`");
  benchmark::AddCustomContext("contender FdWithoutTable",
                              "uncopyable variant: `Fd` without the ownership table");
  benchmark::AddCustomContext("contender RawPastTheChecks",
                              "baseline variant: raw, past the ownership checks");
  benchmark::AddCustomContext("contender UniquePtr", "peer: `std::unique_ptr`");
  return true;
}();

// The library's own way to get a descriptor: through the system-call seam.
int seam_open_null() {
  return uncopyable::internal::sys::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

// std::unique_ptr owning an fd: the standard library's nearest equivalent.
struct CloseFd {
  using pointer = int*;
  void operator()(int* fd) const {
    ::close(*fd);
    delete fd;
  }
};
using UniqueFdPtr = std::unique_ptr<int, CloseFd>;

// Fd's traits as they were before the ownership table: no adopt or disown,
// and a close that does not clear a tag.
struct FdTraitsWithoutTable {
  using value_type = int;
  static constexpr std::string_view kName = "Fd";
  static constexpr int invalid() noexcept { return -1; }
  static constexpr int vacant(uncopyable::HandleState state) noexcept {
    return -static_cast<int>(state);
  }
  static constexpr bool is_valid(int fd) noexcept { return fd >= 0; }
  static void close_quietly(int fd) noexcept {
    if (uncopyable::internal::sys::close(fd) != 0 && errno == EBADF) std::abort();
  }
  static absl::Status close(int fd) {
    close_quietly(fd);
    return absl::OkStatus();
  }
};
using FdWithoutTable = uncopyable::UniqueHandle<FdTraitsWithoutTable>;

// open(2) + close(2): the whole life of a descriptor.
void BM_OpenClose_Raw(benchmark::State& state) {
  for (auto _ : state) {
    int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    benchmark::DoNotOptimize(fd);
    ::close(fd);
  }
}
BENCHMARK(BM_OpenClose_Raw);

void BM_OpenClose_Fd(benchmark::State& state) {
  for (auto _ : state) {
    Fd fd(seam_open_null());
    benchmark::DoNotOptimize(fd);
  }
}
BENCHMARK(BM_OpenClose_Fd);

void BM_OpenClose_FdWithoutTable(benchmark::State& state) {
  for (auto _ : state) {
    FdWithoutTable fd(seam_open_null());
    benchmark::DoNotOptimize(fd);
  }
}
BENCHMARK(BM_OpenClose_FdWithoutTable);

#ifdef UNCOPYABLE_FD_BENCHMARK_WITH_CHECKS
// The C library's close(), past the checks this program links.
void BM_OpenClose_RawPastTheChecks(benchmark::State& state) {
  auto* const libc_close = reinterpret_cast<int (*)(int)>(::dlsym(RTLD_NEXT, "close"));
  for (auto _ : state) {
    int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    benchmark::DoNotOptimize(fd);
    libc_close(fd);
  }
}
BENCHMARK(BM_OpenClose_RawPastTheChecks);
#endif

void BM_OpenClose_UniquePtr(benchmark::State& state) {
  for (auto _ : state) {
    UniqueFdPtr fd(new int(::open("/dev/null", O_RDONLY | O_CLOEXEC)));
    benchmark::DoNotOptimize(fd);
  }
}
BENCHMARK(BM_OpenClose_UniquePtr);

// Create, hand through three owners, destroy: where ownership travels.
// dup(2) is the cheapest way to get a fresh descriptor, so the handle's own
// cost shows most here.
void BM_CreateMoveDestroy_Raw(benchmark::State& state) {
  const int source = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  for (auto _ : state) {
    int a = ::dup(source);
    benchmark::DoNotOptimize(a);
    int b = std::exchange(a, -1);
    benchmark::DoNotOptimize(b);
    int c = std::exchange(b, -1);
    benchmark::DoNotOptimize(c);
    int d = std::exchange(c, -1);
    benchmark::DoNotOptimize(d);
    if (d >= 0) ::close(d);
  }
  ::close(source);
}
BENCHMARK(BM_CreateMoveDestroy_Raw);

void BM_CreateMoveDestroy_Fd(benchmark::State& state) {
  const int source = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  for (auto _ : state) {
    Fd a(::dup(source));
    benchmark::DoNotOptimize(a);
    Fd b = std::move(a);
    benchmark::DoNotOptimize(b);
    Fd c = std::move(b);
    benchmark::DoNotOptimize(c);
    Fd d = std::move(c);
    benchmark::DoNotOptimize(d);
  }
  ::close(source);
}
BENCHMARK(BM_CreateMoveDestroy_Fd);

void BM_CreateMoveDestroy_FdWithoutTable(benchmark::State& state) {
  const int source = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  for (auto _ : state) {
    FdWithoutTable a(::dup(source));
    benchmark::DoNotOptimize(a);
    FdWithoutTable b = std::move(a);
    benchmark::DoNotOptimize(b);
    FdWithoutTable c = std::move(b);
    benchmark::DoNotOptimize(c);
    FdWithoutTable d = std::move(c);
    benchmark::DoNotOptimize(d);
  }
  ::close(source);
}
BENCHMARK(BM_CreateMoveDestroy_FdWithoutTable);

#ifdef UNCOPYABLE_FD_BENCHMARK_WITH_CHECKS
void BM_CreateMoveDestroy_RawPastTheChecks(benchmark::State& state) {
  auto* const libc_close = reinterpret_cast<int (*)(int)>(::dlsym(RTLD_NEXT, "close"));
  const int source = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  for (auto _ : state) {
    int a = ::dup(source);
    benchmark::DoNotOptimize(a);
    int b = std::exchange(a, -1);
    benchmark::DoNotOptimize(b);
    int c = std::exchange(b, -1);
    benchmark::DoNotOptimize(c);
    int d = std::exchange(c, -1);
    benchmark::DoNotOptimize(d);
    if (d >= 0) libc_close(d);
  }
  libc_close(source);
}
BENCHMARK(BM_CreateMoveDestroy_RawPastTheChecks);
#endif

void BM_CreateMoveDestroy_UniquePtr(benchmark::State& state) {
  const int source = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  for (auto _ : state) {
    UniqueFdPtr a(new int(::dup(source)));
    benchmark::DoNotOptimize(a);
    UniqueFdPtr b = std::move(a);
    benchmark::DoNotOptimize(b);
    UniqueFdPtr c = std::move(b);
    benchmark::DoNotOptimize(c);
    UniqueFdPtr d = std::move(c);
    benchmark::DoNotOptimize(d);
  }
  ::close(source);
}
BENCHMARK(BM_CreateMoveDestroy_UniquePtr);

// Moving alone, no system call: the price of the moved-from bookkeeping.
void BM_MovePingPong_Raw(benchmark::State& state) {
  int a = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int b = -1;
  for (auto _ : state) {
    b = std::exchange(a, -2);
    benchmark::DoNotOptimize(b);
    a = std::exchange(b, -2);
    benchmark::DoNotOptimize(a);
  }
  ::close(a);
}
BENCHMARK(BM_MovePingPong_Raw);

void BM_MovePingPong_Fd(benchmark::State& state) {
  Fd a(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  Fd b;
  for (auto _ : state) {
    b = std::move(a);
    benchmark::DoNotOptimize(b);
    a = std::move(b);
    benchmark::DoNotOptimize(a);
  }
}
BENCHMARK(BM_MovePingPong_Fd);

void BM_MovePingPong_FdWithoutTable(benchmark::State& state) {
  FdWithoutTable a(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  FdWithoutTable b;
  for (auto _ : state) {
    b = std::move(a);
    benchmark::DoNotOptimize(b);
    a = std::move(b);
    benchmark::DoNotOptimize(a);
  }
}
BENCHMARK(BM_MovePingPong_FdWithoutTable);

}  // namespace
