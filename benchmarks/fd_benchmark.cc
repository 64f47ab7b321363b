// Fd against a raw int (and against std::unique_ptr with a deleter, the
// standard library's way to own one): create, move, destroy.
//
//   ./bazelw run -c opt //benchmarks:fd_benchmark --
//       --benchmark_repetitions=9 --benchmark_report_aggregates_only=true
//
// Pairs to compare (Raw vs Fd vs UniquePtr) share the rest of their name.
// Results and the exact command are in docs/benchmarks.md.
#include <fcntl.h>
#include <unistd.h>

#include <memory>
#include <utility>

#include "benchmark/benchmark.h"
#include "uncopyable/fd.h"
#include "uncopyable/internal/syscall.h"

namespace {

using uncopyable::Fd;

// What each operation is, in words: printed above the results, and the row
// labels of //benchmarks:report.
const bool described = [] {
  benchmark::AddCustomContext("BM_OpenClose", "`open` + `close` of `/dev/null`");
  benchmark::AddCustomContext("BM_CreateMoveDestroy", "`dup`, moved through three owners, `close`");
  benchmark::AddCustomContext("BM_MovePingPong", "two moves, no system call");
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

}  // namespace
