// Mutex against std::mutex and absl::Mutex, side by side:
//
//   ./bazelw run -c opt //benchmarks:mutex_benchmark --
//       --benchmark_repetitions=15 --benchmark_enable_random_interleaving=true
//       --benchmark_report_aggregates_only=true
//
// Uncontended lock + unlock; 2 and 4 threads contending for one lock (time
// per critical section, all threads together); and what lock-order checking
// costs when it is on. Results are in docs/benchmarks.md.
//
// glibc takes a shortcut while a process has only one thread (its locks skip
// the atomic instructions), and a process never goes back once it has had a
// second. So that every benchmark runs in the same kind of process, one idle
// thread is started before them all: a mutex is for programs with threads.
// UNCOPYABLE_SINGLE_THREADED=1 leaves it out, to see the other kind (then run
// only the Uncontended benchmarks).
#include <cstdlib>
#include <mutex>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "benchmark/benchmark.h"
#include "uncopyable/mutex.h"

namespace {

using uncopyable::Mutex;
using uncopyable::MutexConfig;
using uncopyable::MutexKind;

// What each operation is, in words: printed above the results, and the row
// labels of //benchmarks:report.
const bool described = [] {
  benchmark::AddCustomContext("BM_Uncontended", "uncontended lock + unlock");
  benchmark::AddCustomContext("BM_Contended", "contended lock + unlock");
  return true;
}();

const bool multi_threaded = [] {
  const char* single = std::getenv("UNCOPYABLE_SINGLE_THREADED");
  if (single != nullptr && single[0] == '1') return false;
  std::thread([] {}).join();  // the process has had a second thread now
  return true;
}();

Mutex& shared_mutex(const MutexConfig& config) {
  static Mutex* mutex = new Mutex(*Mutex::open(config));
  return *mutex;
}

template <typename Lock>
void critical_section(benchmark::State& state, Lock& lock) {
  static int counter = 0;
  for (auto _ : state) {
    lock.lock();
    benchmark::DoNotOptimize(++counter);
    lock.unlock();
  }
}

void BM_Uncontended_StdMutex(benchmark::State& state) {
  std::mutex mutex;
  critical_section(state, mutex);
}
BENCHMARK(BM_Uncontended_StdMutex);

void BM_Uncontended_AbslMutex(benchmark::State& state) {
  absl::Mutex mutex;
  for (auto _ : state) {
    mutex.Lock();
    benchmark::ClobberMemory();
    mutex.Unlock();
  }
}
BENCHMARK(BM_Uncontended_AbslMutex);

void BM_Uncontended_Mutex(benchmark::State& state) {
  Mutex mutex = *Mutex::open({});  // error_checking, the default
  critical_section(state, mutex);
}
BENCHMARK(BM_Uncontended_Mutex);

void BM_Uncontended_MutexNormal(benchmark::State& state) {
  Mutex mutex = *Mutex::open({.kind = MutexKind::normal});
  critical_section(state, mutex);
}
BENCHMARK(BM_Uncontended_MutexNormal);

void BM_Uncontended_MutexOrderChecking(benchmark::State& state) {
  Mutex mutex = *Mutex::open({.lock_order_checking = true});
  critical_section(state, mutex);
}
BENCHMARK(BM_Uncontended_MutexOrderChecking);

// One lock, contended by every benchmark thread.
void BM_Contended_StdMutex(benchmark::State& state) {
  static std::mutex mutex;
  critical_section(state, mutex);
}
BENCHMARK(BM_Contended_StdMutex)->Threads(2)->Threads(4)->UseRealTime();

void BM_Contended_AbslMutex(benchmark::State& state) {
  static absl::Mutex mutex;
  for (auto _ : state) {
    mutex.Lock();
    benchmark::ClobberMemory();
    mutex.Unlock();
  }
}
BENCHMARK(BM_Contended_AbslMutex)->Threads(2)->Threads(4)->UseRealTime();

void BM_Contended_Mutex(benchmark::State& state) {
  critical_section(state, shared_mutex({.name = "contended"}));
}
BENCHMARK(BM_Contended_Mutex)->Threads(2)->Threads(4)->UseRealTime();

}  // namespace
