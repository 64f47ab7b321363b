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
// BM_DestroyChecked and BM_DestroyUnchecked: what destroying 1024 mutexes
// costs while the lock-order graph holds N checked mutexes (a chain of
// edges); the time is for all 1024. Neither should grow with N: a
// checked mutex leaves the graph in time proportional to its own edges, an
// unchecked one never touches it.
//
//   ./bazelw run -c opt //benchmarks:mutex_benchmark -- --benchmark_filter=Destroy
//
// glibc takes a shortcut while a process has only one thread (its locks skip
// the atomic instructions), and a process never goes back once it has had a
// second. So that every benchmark runs in the same kind of process, one idle
// thread is started before them all: a mutex is for programs with threads.
// UNCOPYABLE_SINGLE_THREADED=1 leaves it out, to see the other kind (then run
// only the Uncontended benchmarks).
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

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
  benchmark::AddCustomContext("BM_DestroyChecked",
                              "destroying 1024 checked mutexes (4 edges each) beside N others");
  benchmark::AddCustomContext("BM_DestroyUnchecked",
                              "destroying 1024 unchecked mutexes beside N checked ones");
  // What each contender is, for //benchmarks:report (see benchmarks/report.h).
  benchmark::AddCustomContext("contender StdMutex", "baseline: `std::mutex`");
  benchmark::AddCustomContext("contender Mutex", "uncopyable: `uncopyable::Mutex`");
  benchmark::AddCustomContext("contender MutexNormal", "uncopyable variant: `Mutex`, normal kind");
  benchmark::AddCustomContext("contender MutexOrderChecking",
                              "uncopyable variant: `Mutex`, lock-order checking");
  benchmark::AddCustomContext("contender AbslMutex", "peer: `absl::Mutex`");
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

// The checked mutexes that stay alive, in a chain: each was taken while
// holding the one before it. Grown or shrunk to `size` (never timed), so each
// benchmark sees a graph of exactly its N whatever ran before it.
std::vector<Mutex>& population(size_t size) {
  static auto* mutexes = new std::vector<Mutex>;  // never destroyed: the graph outlives main
  while (mutexes->size() > size) mutexes->pop_back();
  mutexes->reserve(size);
  while (mutexes->size() < size) {
    mutexes->push_back(*Mutex::open({.name = "population", .lock_order_checking = true}));
    if (mutexes->size() >= 2) {
      uncopyable::MutexLock first((*mutexes)[mutexes->size() - 2]);
      uncopyable::MutexLock second(mutexes->back());
    }
  }
  return *mutexes;
}

constexpr int kDestroyed = 1024;

// 1024 fresh mutexes; checked ones get edges into the graph: each is taken
// while holding a member of the population and the fresh one before it, so
// most have four edges (two from members, two among the fresh).
std::vector<Mutex> fresh_mutexes(std::vector<Mutex>& graph, bool checked) {
  std::vector<Mutex> fresh;
  fresh.reserve(kDestroyed);
  for (int i = 0; i < kDestroyed; ++i) {
    fresh.push_back(*Mutex::open({.name = "fresh", .lock_order_checking = checked}));
    if (!checked || i == 0) continue;
    uncopyable::MutexLock member(graph[(static_cast<size_t>(i) * 7919) % graph.size()]);
    uncopyable::MutexLock before(fresh[i - 1]);
    uncopyable::MutexLock mine(fresh[i]);
  }
  return fresh;
}

void destroy_in_graph(benchmark::State& state, bool checked) {
  std::vector<Mutex>& graph = population(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<Mutex> fresh = fresh_mutexes(graph, checked);
    state.ResumeTiming();
    while (!fresh.empty()) fresh.pop_back();
  }
  state.SetItemsProcessed(state.iterations() * kDestroyed);
}

void BM_DestroyChecked_Mutex(benchmark::State& state) { destroy_in_graph(state, true); }
BENCHMARK(BM_DestroyChecked_Mutex)->ArgName("N")->Arg(1 << 11)->Arg(1 << 17);

void BM_DestroyUnchecked_Mutex(benchmark::State& state) { destroy_in_graph(state, false); }
BENCHMARK(BM_DestroyUnchecked_Mutex)->ArgName("N")->Arg(1 << 11)->Arg(1 << 17);

}  // namespace
