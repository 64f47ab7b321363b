// Misuse of a Mutex aborts with one line that names it. Each test fails if
// its check is removed: the statement would run on (or hang, bounded by the
// test's timeout) without the expected message.
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <utility>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/testing/forked_child.h"
#include "uncopyable/mutex.h"

namespace uncopyable {
namespace {

Mutex make(MutexConfig config) { return *Mutex::open(config); }

TEST(MutexDeathTest, UnlockingAMutexThisThreadDoesNotHold) {
  Mutex mutex = make({.name = "jobs"});
  EXPECT_DEATH(mutex.unlock(),
               "^uncopyable: Mutex \"jobs\": unlock\\(\\) by thread [0-9]+, which does not hold "
               "it \\(no thread does\\)\n");
  EXPECT_DEATH(
      {
        std::thread holder([&] { mutex.lock(); });
        holder.join();  // the lock stays held by the finished thread
        mutex.unlock();
      },
      "^uncopyable: Mutex \"jobs\": unlock\\(\\) by thread [0-9]+, which does not hold it "
      "\\(thread [0-9]+ does\\)");
}

TEST(MutexDeathTest, RelockingANonRecursiveMutexIsASelfDeadlock) {
  for (MutexKind kind : {MutexKind::normal, MutexKind::error_checking}) {
    Mutex mutex = make({.name = "jobs", .kind = kind});
    EXPECT_DEATH(
        {
          mutex.lock();
          mutex.lock();
        },
        "^uncopyable: Mutex \"jobs\": lock\\(\\) by thread [0-9]+, which already holds it: a "
        "self-deadlock");
  }
}

TEST(MutexDeathTest, DestroyingAHeldMutex) {
  EXPECT_DEATH(
      {
        Mutex mutex = make({.name = "doomed"});
        mutex.lock();
      },
      "^uncopyable: Mutex \"doomed\": destroyed while held by thread [0-9]+");
}

TEST(MutexDeathTest, MovingAHeldMutex) {
  Mutex mutex = make({.name = "anchor"});
  EXPECT_DEATH(
      {
        mutex.lock();
        Mutex moved = std::move(mutex);
      },
      "^uncopyable: Mutex \"anchor\": moved while held by thread [0-9]+");
}

TEST(MutexDeathTest, LockOrderInversionNamesBoth) {
  Mutex accounts = make({.name = "accounts", .lock_order_checking = true});
  Mutex ledger = make({.name = "ledger", .lock_order_checking = true});
  {
    MutexLock first(accounts);
    MutexLock second(ledger);
  }
  EXPECT_DEATH(
      {
        MutexLock first(ledger);
        MutexLock second(accounts);
      },
      "^uncopyable: Mutex \"accounts\": lock-order inversion: \"accounts\" is being acquired "
      "while holding \"ledger\", but earlier \"ledger\" was acquired while holding "
      "\"accounts\"");
}

TEST(MutexDeathTest, UsingInAForkedChildAMutexHeldAtFork) {
  Mutex mutex = make({.name = "forky"});
  EXPECT_DEATH(
      {
        mutex.lock();
        uncopyable::testing::in_forked_child([&] {
          mutex.lock();  // would hang forever: nobody in the child holds it
        });
      },
      "^uncopyable: Mutex \"forky\": lock\\(\\) in a fork\\(\\)ed child \\(thread [0-9]+\\), but "
      "the lock was held by thread [0-9]+ when the process forked; the child must rebuild\\(\\) "
      "its own");
}

TEST(MutexDeathTest, PlainLockOfARobustMutexWhoseOwnerDied) {
  Mutex mutex = make({.name = "robust", .robust = true});
  EXPECT_DEATH(
      {
        std::thread([&] { mutex.lock(); }).join();
        mutex.lock();
      },
      "^uncopyable: Mutex \"robust\": lock\\(\\) found that the previous owner died holding it; "
      "use lock_robust\\(\\)");
}

TEST(MutexDeathTest, PlainLockOfAnUnrecoverableRobustMutex) {
  Mutex mutex = make({.name = "broken", .robust = true});
  EXPECT_DEATH(
      {
        std::thread([&] { mutex.lock(); }).join();
        if (mutex.lock_robust() != LockOutcome::owner_died) ::_exit(3);
        mutex.unlock();  // without mark_consistent(): unrecoverable
        mutex.lock();
      },
      "^uncopyable: Mutex \"broken\": lock\\(\\) on a lock made unrecoverable \\(an owner "
      "died and it was never marked consistent\\); rebuild the lock");
}

TEST(MutexDeathTest, AssertHeldKnowsWhichThread) {
  Mutex mutex = make({.name = "owned"});
  EXPECT_DEATH(
      {
        std::thread([&] { mutex.lock(); }).join();
        mutex.assert_held();
      },
      "^uncopyable: Mutex \"owned\": assert_held\\(\\) by thread [0-9]+, which does not hold it "
      "\\(thread [0-9]+ does\\)");
}

// A thread that takes `mutex` and ends holding it.
void end_holding(Mutex& mutex) {
  std::thread([&] { mutex.lock(); }).join();
}

// Each statement below would wait forever without the check: the alarm ends
// it, so that the test fails (killed by SIGALRM, no message) rather than hangs.
constexpr unsigned kSecondsBeforeAHang = 10;

TEST(MutexDeathTest, WaitingForAHolderThreadThatExited) {
  for (const MutexConfig& config :
       {MutexConfig{.name = "jobs"}, MutexConfig{.name = "jobs", .kind = MutexKind::normal},
        MutexConfig{.name = "jobs", .kind = MutexKind::recursive},
        MutexConfig{.name = "jobs", .process_shared = true},
        MutexConfig{.name = "jobs", .lock_order_checking = true}}) {
    Mutex mutex = make(config);
    EXPECT_DEATH(
        {
          ::alarm(kSecondsBeforeAHang);
          end_holding(mutex);
          mutex.lock();
        },
        "^uncopyable: Mutex \"jobs\": lock\\(\\) by thread [0-9]+ waits for thread [0-9]+, "
        "which exited while holding it\n")
        << to_string(config);
  }
}

TEST(MutexDeathTest, EveryWaitLooksAtTheHolder) {
  Mutex mutex = make({.name = "jobs"});
  EXPECT_DEATH(
      {
        ::alarm(kSecondsBeforeAHang);
        end_holding(mutex);
        MutexLock hold(mutex);
      },
      "^uncopyable: Mutex \"jobs\": lock\\(\\) by thread [0-9]+ waits for thread [0-9]+, "
      "which exited while holding it\n");
  EXPECT_DEATH(
      {
        ::alarm(kSecondsBeforeAHang);
        end_holding(mutex);
        (void)mutex.try_lock_for(absl::Hours(1));  // would wait the hour, for nothing
      },
      "^uncopyable: Mutex \"jobs\": try_lock_for\\(\\) by thread [0-9]+ waits for thread "
      "[0-9]+, which exited while holding it\n");
  EXPECT_DEATH(
      {
        ::alarm(kSecondsBeforeAHang);
        end_holding(mutex);
        (void)mutex.lock_robust();  // not robust: lock_robust() is lock()
      },
      "^uncopyable: Mutex \"jobs\": lock_robust\\(\\) by thread [0-9]+ waits for thread "
      "[0-9]+, which exited while holding it\n");
}

// A process-shared lock held by a process that exited, whether or not its
// parent has waited for it yet (a zombie unlocks nothing either).
TEST(MutexDeathTest, WaitingForAHolderProcessThatExited) {
  Mutex mutex = make({.name = "jobs", .process_shared = true});
  for (const bool reaped : {false, true}) {
    EXPECT_DEATH(
        {
          ::alarm(kSecondsBeforeAHang);
          const pid_t child = ::fork();
          if (child == 0) {
            mutex.lock();
            ::_exit(0);  // ends holding it
          }
          siginfo_t info;
          const int keep = reaped ? 0 : WNOWAIT;
          if (::waitid(P_PID, child, &info, WEXITED | keep) != 0) ::_exit(3);
          mutex.lock();
        },
        "^uncopyable: Mutex \"jobs\": lock\\(\\) by thread [0-9]+ waits for thread [0-9]+, "
        "which exited while holding it\n")
        << (reaped ? "reaped" : "a zombie");
  }
}

TEST(MutexDeathTest, MarkingConsistentWhatNoDeadOwnerLeftInconsistent) {
  for (const bool robust : {true, false}) {
    Mutex mutex = make({.name = "jobs", .robust = robust});
    EXPECT_DEATH(
        {
          mutex.lock();
          mutex.mark_consistent();
        },
        "^uncopyable: Mutex \"jobs\": mark_consistent\\(\\) on a lock that no dead owner "
        "left inconsistent; call it only after lock_robust\\(\\) returned owner_died\n");
  }
  Mutex mutex = make({.name = "jobs", .robust = true});
  EXPECT_DEATH(mutex.mark_consistent(),
               "^uncopyable: Mutex \"jobs\": mark_consistent\\(\\) by thread [0-9]+, which does "
               "not hold it \\(no thread does\\)\n");
}

TEST(MutexDeathTest, AnInversionIsFoundAfterOtherCheckedMutexesDied) {
  const MutexConfig checked{.name = "other", .lock_order_checking = true};
  Mutex accounts = make({.name = "accounts", .lock_order_checking = true});
  Mutex ledger = make({.name = "ledger", .lock_order_checking = true});
  for (int i = 0; i < 20; ++i) {
    Mutex before = make(checked);
    Mutex after = make(checked);
    MutexLock a(before);
    MutexLock b(accounts);
    MutexLock c(ledger);
    MutexLock d(after);
  }  // each pair dies with edges to and from both
  EXPECT_DEATH(
      {
        MutexLock first(ledger);
        MutexLock second(accounts);
      },
      "^uncopyable: Mutex \"accounts\": lock-order inversion: \"accounts\" is being acquired "
      "while holding \"ledger\", but earlier \"ledger\" was acquired while holding "
      "\"accounts\"\n");
}

// A name of 10 MB is quoted short, so the line stays whole.
TEST(MutexDeathTest, ALongNameIsShortenedInTheLine) {
  const std::string long_name(10 << 20, 'n');
  Mutex mutex = make({.name = long_name});
  EXPECT_DEATH(mutex.unlock(),
               "^uncopyable: Mutex \"n{100}\"\\.\\.\\.\"n{100}\" \\(10485760 bytes\\): unlock\\(\\) by "
               "thread [0-9]+, which does not hold it \\(no thread does\\)\n");
  Mutex accounts = make({.name = std::string(10 << 20, 'a'), .lock_order_checking = true});
  Mutex ledger = make({.name = std::string(10 << 20, 'l'), .lock_order_checking = true});
  {
    MutexLock first(accounts);
    MutexLock second(ledger);
  }
  EXPECT_DEATH(
      {
        MutexLock first(ledger);
        MutexLock second(accounts);
      },
      "^uncopyable: Mutex \"a{50}\"\\.\\.\\.\"a{50}\" \\(10485760 bytes\\): lock-order "
      "inversion: \"a{50}\"\\.\\.\\.\"a{50}\" \\(10485760 bytes\\) is being acquired while "
      "holding \"l{50}\"\\.\\.\\.\"l{50}\" \\(10485760 bytes\\), but earlier "
      "\"l{50}\"\\.\\.\\.\"l{50}\" \\(10485760 bytes\\) was acquired while holding "
      "\"a{50}\"\\.\\.\\.\"a{50}\" \\(10485760 bytes\\)\n");
}

TEST(MutexDeathTest, UsingAMovedFromMutex) {
  Mutex mutex = make({.name = "gone"});
  Mutex taker = std::move(mutex);
  EXPECT_DEATH(mutex.lock(),  // NOLINT(bugprone-use-after-move)
               "^uncopyable: Mutex::lock\\(\\) on a moved-from handle");
}

}  // namespace
}  // namespace uncopyable
