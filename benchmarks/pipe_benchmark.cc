// Pipe against raw system calls, and Subprocess spawn + wait against
// posix_spawn + waitpid:
//
//   ./bazelw run -c opt //benchmarks:pipe_benchmark --
//       --benchmark_repetitions=15 --benchmark_enable_random_interleaving=true
//       --benchmark_report_aggregates_only=true
//
// A PipeWriter write costs two sigprocmask calls more than write(2): the
// price of EPIPE without SIGPIPE (see pipe.h). BM_WriteRead64B_RawBlocked
// does by hand what the Pipe does, for the comparison that is fair.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "benchmark/benchmark.h"
#include "uncopyable/pipe.h"
#include "uncopyable/subprocess.h"

extern char** environ;  // NOLINT: POSIX declares it nowhere else

namespace {

const bool described = [] {
  benchmark::AddCustomContext("BM_WriteRead64B", "64 bytes written to a pipe, then read back");
  benchmark::AddCustomContext("BM_SpawnWait", "spawn /bin/true and wait for it");
  // What each contender is, for //benchmarks:report (see benchmarks/report.h).
  benchmark::AddCustomContext("contender RawBlocked", "baseline variant: raw, `SIGPIPE` blocked");
  benchmark::AddCustomContext("contender Pipe", "uncopyable: `uncopyable::Pipe`");
  benchmark::AddCustomContext("contender Subprocess", "uncopyable: `uncopyable::Subprocess`");
  return true;
}();

void BM_WriteRead64B_Raw(benchmark::State& state) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) std::abort();
  char buffer[64] = {};
  for (auto _ : state) {
    if (::write(fds[1], buffer, sizeof buffer) != sizeof buffer) std::abort();
    if (::read(fds[0], buffer, sizeof buffer) != sizeof buffer) std::abort();
  }
  ::close(fds[0]);
  ::close(fds[1]);
}
BENCHMARK(BM_WriteRead64B_Raw);

// The same, with SIGPIPE blocked around each write, as a PipeWriter does.
void BM_WriteRead64B_RawBlocked(benchmark::State& state) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) std::abort();
  char buffer[64] = {};
  sigset_t sigpipe;
  sigemptyset(&sigpipe);
  sigaddset(&sigpipe, SIGPIPE);
  for (auto _ : state) {
    sigset_t before;
    ::pthread_sigmask(SIG_BLOCK, &sigpipe, &before);
    if (::write(fds[1], buffer, sizeof buffer) != sizeof buffer) std::abort();
    ::pthread_sigmask(SIG_SETMASK, &before, nullptr);
    if (::read(fds[0], buffer, sizeof buffer) != sizeof buffer) std::abort();
  }
  ::close(fds[0]);
  ::close(fds[1]);
}
BENCHMARK(BM_WriteRead64B_RawBlocked);

void BM_WriteRead64B_Pipe(benchmark::State& state) {
  absl::StatusOr<uncopyable::Pipe> pipe = uncopyable::make_pipe();
  if (!pipe.ok()) std::abort();
  char buffer[64] = {};
  for (auto _ : state) {
    if (!pipe->writer.write_all(absl::string_view(buffer, sizeof buffer)).ok()) std::abort();
    absl::StatusOr<size_t> got = pipe->reader.read(absl::MakeSpan(buffer));
    if (!got.ok() || *got != sizeof buffer) std::abort();
  }
}
BENCHMARK(BM_WriteRead64B_Pipe);

void BM_SpawnWait_Raw(benchmark::State& state) {
  char program[] = "/bin/true";
  char* argv[] = {program, nullptr};
  for (auto _ : state) {
    pid_t pid = 0;
    if (::posix_spawn(&pid, program, nullptr, nullptr, argv, environ) != 0) std::abort();
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid || status != 0) std::abort();
  }
}
BENCHMARK(BM_SpawnWait_Raw);

void BM_SpawnWait_Subprocess(benchmark::State& state) {
  const uncopyable::SubprocessConfig config{.argv = {"/bin/true"}};
  for (auto _ : state) {
    absl::StatusOr<uncopyable::Subprocess> child = uncopyable::rebuild(config);
    if (!child.ok()) std::abort();
    absl::StatusOr<uncopyable::ExitStatus> status = child->wait();
    if (!status.ok() || !status->success()) std::abort();
  }
}
BENCHMARK(BM_SpawnWait_Subprocess);

}  // namespace
