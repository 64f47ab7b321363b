#include "uncopyable/mutex.h"

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/config.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "uncopyable/config_json.h"
#include "uncopyable/internal/process.h"

namespace uncopyable {
namespace {

using ::testing::HasSubstr;

static_assert(Rebuildable<Mutex>);
static_assert(Config<MutexConfig>);
static_assert(std::is_nothrow_move_constructible_v<Mutex>);
static_assert(!std::is_copy_constructible_v<MutexLock>);
static_assert(!std::is_move_constructible_v<MutexLock>);

Mutex make(MutexConfig config = {}) {
  absl::StatusOr<Mutex> mutex = Mutex::open(config);
  EXPECT_TRUE(mutex.ok()) << mutex.status();
  return *std::move(mutex);
}

// A name for a shared-memory object that no other test run uses.
std::string shm_name(const std::string& what) {
  return "/uncopyable-test-" + std::to_string(::getpid()) + "-" + what;
}

TEST(MutexTest, WorksWithTheStandardGuards) {
  Mutex a = make({.name = "a"});
  Mutex b = make({.name = "b"});
  {
    std::lock_guard<Mutex> hold(a);
    EXPECT_TRUE(a.held_by_this_thread());
  }
  EXPECT_FALSE(a.held_by_this_thread());
  {
    std::unique_lock<Mutex> hold(a, std::defer_lock);
    EXPECT_TRUE(hold.try_lock());
    hold.unlock();
  }
  {
    std::scoped_lock both(a, b);
    a.assert_held();
    b.assert_held();
  }
  {
    MutexLock hold(b);
    b.assert_held();
  }
}

TEST(MutexTest, CountsExactlyUnderContention) {
  Mutex mutex = make({.name = "counter"});
  int counter = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        MutexLock hold(mutex);
        ++counter;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(counter, 80000);
}

TEST(MutexTest, TryLockAndTimeoutFromAnotherThread) {
  Mutex mutex = make();
  mutex.lock();
  bool got = true;
  bool timed = true;
  absl::Duration waited;
  std::thread([&] {
    got = mutex.try_lock();
    const absl::Time start = absl::Now();
    timed = mutex.try_lock_for(absl::Milliseconds(50));
    waited = absl::Now() - start;
  }).join();
  EXPECT_FALSE(got);
  EXPECT_FALSE(timed);
  EXPECT_GE(waited, absl::Milliseconds(45));
  mutex.unlock();
  std::thread([&] {
    timed = mutex.try_lock_for(absl::Seconds(5));
    if (timed) mutex.unlock();
  }).join();
  EXPECT_TRUE(timed);
}

TEST(MutexTest, RecursiveLocksNest) {
  Mutex mutex = make({.kind = MutexKind::recursive});
  mutex.lock();
  mutex.lock();
  EXPECT_TRUE(mutex.try_lock());
  mutex.unlock();
  mutex.unlock();
  mutex.assert_held();
  mutex.unlock();
  EXPECT_FALSE(mutex.held_by_this_thread());
}

TEST(MutexTest, MovesWhileTheLockStaysPut) {
  Mutex mutex = make({.name = "mover"});
  Mutex moved = std::move(mutex);
  {
    MutexLock hold(moved);
    moved.assert_held();
  }
  std::vector<Mutex> many;
  for (int i = 0; i < 10; ++i) many.push_back(make());  // vectors can hold them
  EXPECT_EQ(many.size(), 10u);
}

TEST(MutexTest, RebuildMakesAFreshUnlockedMutex) {
  Mutex mutex = make({.name = "orig", .kind = MutexKind::recursive});
  MutexLock hold(mutex);
  absl::StatusOr<Mutex> fresh = mutex.rebuild();
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ(fresh->config(), mutex.config());
  EXPECT_FALSE(fresh->held_by_this_thread());
  bool other_got = false;
  std::thread([&] {
    other_got = fresh->try_lock();
    if (other_got) fresh->unlock();
  }).join();
  EXPECT_TRUE(other_got);  // independent of the held original
  EXPECT_TRUE(uncopyable::rebuild(MutexConfig{.name = "free"}).ok());
}

TEST(MutexTest, ProcessSharedWorksAcrossFork) {
  Mutex mutex = make({.name = "shared", .process_shared = true});
  // The child takes the lock and keeps it until told; the parent sees it held.
  int go[2], held[2];
  ASSERT_EQ(::pipe(go), 0);
  ASSERT_EQ(::pipe(held), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    mutex.lock();
    (void)!::write(held[1], "h", 1);
    char byte;
    (void)!::read(go[0], &byte, 1);
    mutex.unlock();
    ::_exit(0);
  }
  ::close(held[1]);  // a child that dies early ends the read
  char byte;
  ASSERT_EQ(::read(held[0], &byte, 1), 1);
  EXPECT_FALSE(mutex.try_lock());
  ASSERT_EQ(::write(go[1], "g", 1), 1);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_TRUE(mutex.try_lock_for(absl::Seconds(5)));
  mutex.unlock();
  for (int fd : {go[0], go[1], held[0]}) ::close(fd);
}

// Before, a try by the holder aborted as "a self-deadlock"; a try cannot
// hang, so it says false (POSIX trylock EBUSY, Abseil TryLock, Rust try_lock).
TEST(MutexTest, TryLockByTheHolderSaysFalse) {
  for (MutexKind kind : {MutexKind::normal, MutexKind::error_checking}) {
    for (bool process_shared : {false, true}) {
      SCOPED_TRACE(absl::StrCat(enum_name(kind), process_shared ? " shared" : ""));
      Mutex mutex = make({.name = "jobs", .kind = kind, .process_shared = process_shared,
                          .lock_order_checking = true});
      mutex.lock();
      EXPECT_FALSE(mutex.try_lock());
      EXPECT_FALSE(mutex.try_lock_for(absl::Milliseconds(10)));
      EXPECT_FALSE(mutex.try_lock_for(absl::Hours(1)));  // at once: nothing to wait for
      EXPECT_TRUE(mutex.held_by_this_thread());
      mutex.unlock();
      EXPECT_FALSE(mutex.held_by_this_thread());
      ASSERT_TRUE(mutex.try_lock());
      mutex.unlock();
    }
  }
  Mutex recursive = make({.name = "jobs", .kind = MutexKind::recursive});
  recursive.lock();
  EXPECT_TRUE(recursive.try_lock());
  EXPECT_TRUE(recursive.try_lock_for(absl::Milliseconds(10)));
  recursive.unlock();
  recursive.unlock();
  EXPECT_TRUE(recursive.held_by_this_thread());
  recursive.unlock();
  EXPECT_FALSE(recursive.held_by_this_thread());
}

TEST(MutexTest, RobustMutexReportsAnOwnerThatDied) {
  Mutex mutex = make({.name = "robust", .robust = true, .process_shared = true});
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    mutex.lock();
    ::_exit(0);  // dies holding it
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_EQ(mutex.lock_robust(), LockOutcome::owner_died);
  mutex.assert_held();
  mutex.mark_consistent();
  mutex.unlock();
  EXPECT_EQ(mutex.lock_robust(), LockOutcome::acquired);
  mutex.unlock();
}

TEST(MutexTest, RobustMutexLeftInconsistentBecomesUnrecoverable) {
  Mutex mutex = make({.name = "robust2", .robust = true});
  std::thread([&] { mutex.lock(); }).join();  // the thread ends holding it
  EXPECT_EQ(mutex.lock_robust(), LockOutcome::owner_died);
  mutex.unlock();  // not marked consistent
  EXPECT_EQ(mutex.lock_robust(), LockOutcome::unrecoverable);
  absl::StatusOr<Mutex> fresh = mutex.rebuild();
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->lock_robust(), LockOutcome::acquired);
  fresh->unlock();
}

TEST(MutexTest, NamedSharedLockIsTheSameLockInEveryHandle) {
  const MutexConfig config{.name = "named", .process_shared = true,
                           .shared_memory_name = shm_name("named")};
  Mutex first = make(config);
  absl::StatusOr<Mutex> second = first.rebuild();  // a handle to the same lock
  ASSERT_TRUE(second.ok()) << second.status();
  first.lock();
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // A child opens the lock by name, as another program would.
    absl::StatusOr<Mutex> mine = Mutex::open(config);
    if (!mine.ok()) ::_exit(2);
    ::_exit(mine->try_lock() ? 3 : 0);  // held by the parent: must fail
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  first.unlock();
  EXPECT_TRUE(second->try_lock());
  second->unlock();
  EXPECT_TRUE(Mutex::remove_shared(config).ok());
  EXPECT_EQ(Mutex::remove_shared(config).code(), absl::StatusCode::kNotFound);
}

TEST(MutexTest, LockOrderCheckingAcceptsAConsistentOrder) {
  Mutex a = make({.name = "a", .lock_order_checking = true});
  Mutex b = make({.name = "b", .lock_order_checking = true});
  for (int i = 0; i < 3; ++i) {
    MutexLock first(a);
    MutexLock second(b);
  }
}

// The inversion below is deliberate: ThreadSanitizer rightly reports it, so
// this control is built only where TSan is not watching.
#ifndef ABSL_HAVE_THREAD_SANITIZER
TEST(MutexTest, WithoutCheckingAnInversionIsNotReported) {
  Mutex a = make({.name = "a"});
  Mutex b = make({.name = "b"});
  {
    MutexLock first(a);
    MutexLock second(b);
  }
  {
    MutexLock first(b);
    MutexLock second(a);
  }
}
#endif  // ABSL_HAVE_THREAD_SANITIZER

// --- A wait looks at the holder -----------------------------------------------

// A holder that keeps the lock for several of the wait's 100 ms slices, and
// is alive throughout, is waited for, not reported.
TEST(MutexTest, WaitingOutALiveHolderIsNotReported) {
  for (const MutexConfig& config : {MutexConfig{.name = "plain"},
                                    MutexConfig{.name = "shared", .process_shared = true},
                                    MutexConfig{.name = "checked", .lock_order_checking = true}}) {
    Mutex mutex = make(config);
    std::atomic<bool> held{false};
    std::thread holder([&] {
      MutexLock hold(mutex);
      held = true;
      ::usleep(350 * 1000);
    });
    for (int i = 0; i < 10000 && !held; ++i) ::usleep(1000);
    ASSERT_TRUE(held);
    mutex.lock();  // waits about 350 ms, looking at the holder three times
    mutex.assert_held();
    mutex.unlock();
    holder.join();
    EXPECT_TRUE(mutex.try_lock_for(absl::Milliseconds(250)));  // and free again
    mutex.unlock();
  }
}

TEST(MutexTest, ProcessSharedWaitForALiveChildIsNotReported) {
  Mutex mutex = make({.name = "shared", .process_shared = true});
  int held[2];
  ASSERT_EQ(::pipe(held), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    mutex.lock();
    (void)!::write(held[1], "h", 1);
    ::usleep(350 * 1000);
    mutex.unlock();
    ::_exit(0);
  }
  ::close(held[1]);  // a child that dies early ends the read
  char byte;
  ASSERT_EQ(::read(held[0], &byte, 1), 1);
  mutex.lock();  // waits for the child, alive, through a few looks
  mutex.unlock();
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ::close(held[0]);
}

// The look itself: a thread that exited, and a thread id given to a new
// thread after its holder exited, are told from the holder that is alive.
TEST(MutexTest, LivenessTellsAnExitedHolderFromALiveOne) {
  using mutex_internal::holder_id;
  using mutex_internal::kHolderTidBits;
  using mutex_internal::Liveness;
  using mutex_internal::liveness;
  EXPECT_EQ(liveness(holder_id()), Liveness::alive);
  uint64_t gone = 0;
  std::thread([&] { gone = holder_id(); }).join();
  // The kernel forgets a thread a moment after join() returns.
  Liveness seen = liveness(gone);
  for (int i = 0; i < 1000 && seen != Liveness::exited; ++i) {
    ::usleep(1000);
    seen = liveness(gone);
  }
  EXPECT_EQ(seen, Liveness::exited);
  // This thread's id, written down by a holder at the first clock tick after
  // boot: a thread that started at boot, so not this one, which started
  // later and reuses its id. The holder exited.
  const uint64_t tid = static_cast<uint64_t>(internal::this_thread());
  EXPECT_EQ(liveness((uint64_t{1} << kHolderTidBits) | tid), Liveness::exited);
  // Written down now (or later), by this thread: alive.
  EXPECT_EQ(liveness((holder_id() & ~((uint64_t{1} << kHolderTidBits) - 1)) | tid),
            Liveness::alive);
}

// --- Lock-order graph --------------------------------------------------------------

TEST(MutexTest, UncheckedMutexesNeverTouchTheOrderGraph) {
  Mutex checked = make({.name = "checked", .lock_order_checking = true});
  const mutex_internal::OrderGraphCounts before = mutex_internal::order_graph_counts();
  {
    std::vector<Mutex> plain;
    for (int i = 0; i < 100; ++i) plain.push_back(make({.name = "plain"}));
    for (Mutex& mutex : plain) {
      MutexLock outer(checked);
      MutexLock inner(mutex);
    }
    Mutex moved = std::move(plain[0]);
    plain[1] = std::move(moved);
  }  // all destroyed
  const mutex_internal::OrderGraphCounts after = mutex_internal::order_graph_counts();
  EXPECT_EQ(after.nodes, before.nodes);
  EXPECT_EQ(after.edges, before.edges);
  EXPECT_EQ(after.removals, before.removals);
  EXPECT_EQ(after.removal_steps, before.removal_steps);
}

TEST(MutexTest, ACheckedMutexLeavesTheGraphThroughItsOwnEdges) {
  const MutexConfig checked{.name = "checked", .lock_order_checking = true};
  std::vector<Mutex> chain;  // a graph of some size around it
  for (int i = 0; i < 200; ++i) {
    chain.push_back(make(checked));
    if (i > 0) {
      MutexLock first(chain[i - 1]);
      MutexLock second(chain[i]);
    }
  }
  const mutex_internal::OrderGraphCounts before = mutex_internal::order_graph_counts();
  {
    Mutex middle = make(checked);
    {
      MutexLock a(chain[10]);
      MutexLock b(middle);  // chain[10] -> middle
      MutexLock c(chain[20]);  // middle -> chain[20] (and chain[10] -> chain[20])
    }
    {
      MutexLock a(chain[5]);
      MutexLock b(middle);  // chain[5] -> middle
    }
    const mutex_internal::OrderGraphCounts with = mutex_internal::order_graph_counts();
    EXPECT_EQ(with.nodes, before.nodes + 1);
    EXPECT_EQ(with.edges, before.edges + 4);
  }
  const mutex_internal::OrderGraphCounts after = mutex_internal::order_graph_counts();
  EXPECT_EQ(after.nodes, before.nodes);
  EXPECT_EQ(after.edges, before.edges + 1);  // chain[10] -> chain[20] stays
  EXPECT_EQ(after.removals, before.removals + 1);
  EXPECT_EQ(after.removal_steps, before.removal_steps + 3);  // its three edges, not the graph
}

// A mutex that died leaves no edge behind: a new one, which may get its
// address, starts with none, so taking it in any order is no inversion.
TEST(MutexTest, NoInversionIsReportedAgainstADeadMutexsSuccessor) {
  const MutexConfig checked{.name = "checked", .lock_order_checking = true};
  Mutex a = make(checked);
  const mutex_internal::OrderGraphCounts before = mutex_internal::order_graph_counts();
  for (int i = 0; i < 50; ++i) {
    {
      Mutex b = make(checked);
      MutexLock first(a);
      MutexLock second(b);  // a -> b
    }
    Mutex c = make(checked);
    {
      MutexLock first(c);
      MutexLock second(a);  // c -> a: an inversion only if c inherited a -> b
    }
  }
  const mutex_internal::OrderGraphCounts after = mutex_internal::order_graph_counts();
  EXPECT_EQ(after.nodes, before.nodes);
  EXPECT_EQ(after.edges, before.edges);
}

// --- Long names --------------------------------------------------------------------

TEST(MutexTest, ALongNameIsShortenedInStatusMessages) {
  const std::string long_name(10 << 20, 'n');
  const MutexConfig config{.name = long_name, .process_shared = true,
                           .shared_memory_name = shm_name("absent")};
  const absl::Status missing = Mutex::remove_shared(config);
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_LT(missing.message().size(), 1000u);
  EXPECT_THAT(missing.message(),
              HasSubstr("\" (10485760 bytes): shm_unlink of shared memory \"/uncopyable-test-"));
  EXPECT_THAT(std::string(missing.message()), ::testing::StartsWith("remove_shared mutex \"n"));
  EXPECT_THAT(std::string(missing.message()),
              ::testing::EndsWith("absent\": No such file or directory [ENOENT]"));
  // A shared-memory name longer than the system allows is quoted short too.
  MutexConfig too_long = config;
  too_long.shared_memory_name = "/" + std::string(10 << 20, 's');
  const absl::Status refused = Mutex::remove_shared(too_long);
  EXPECT_FALSE(refused.ok());
  EXPECT_LT(refused.message().size(), 1000u);
  EXPECT_THAT(refused.message(), HasSubstr("ss\" (10485761 bytes): "));
}

TEST(MutexTest, ErrorsNameTheMutex) {
  EXPECT_EQ(Mutex::remove_shared({.name = "jobs"}),
            absl::InvalidArgumentError(
                "remove_shared mutex \"jobs\": it has no shared_memory_name"));
  const std::string absent = shm_name("never-made");
  EXPECT_EQ(Mutex::remove_shared(
                {.name = "jobs", .process_shared = true, .shared_memory_name = absent}),
            absl::NotFoundError("remove_shared mutex \"jobs\": shm_unlink of shared memory \"" +
                                absent + "\": No such file or directory [ENOENT]"));
}

TEST(MutexConfigTest, RulesJsonAndPrinting) {
  EXPECT_EQ(MutexConfig{.name = ""}.validate().message(), "MutexConfig.name: must not be empty");
  EXPECT_EQ(MutexConfig{.shared_memory_name = "/x"}.validate().message(),
            "MutexConfig.shared_memory_name: needs process_shared=true");
  const MutexConfig slashes{.process_shared = true, .shared_memory_name = "/a/b"};
  EXPECT_EQ(slashes.validate().message(),
            "MutexConfig.shared_memory_name: must be \"/\" and 1 to 254 more bytes, none of them "
            "'/' or NUL");
  const MutexConfig config{.name = "jobs", .kind = MutexKind::recursive};
  EXPECT_EQ(to_string(config),
            "MutexConfig{name=\"jobs\", kind=recursive, robust=false, process_shared=false, "
            "shared_memory_name=\"\", lock_order_checking=false}");
  EXPECT_EQ(*from_json<MutexConfig>(to_json(config)), config);
  EXPECT_THAT(Mutex::open(MutexConfig{.name = ""}).status().message(), HasSubstr("name"));
}

}  // namespace
}  // namespace uncopyable
