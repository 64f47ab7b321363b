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
               "^uncopyable: Mutex::unlock\\(\\) by thread [0-9]+, which does not hold it; no "
               "thread does \\(mutex \"jobs\"\\)\n");
  EXPECT_DEATH(
      {
        std::thread holder([&] { mutex.lock(); });
        holder.join();  // the lock stays held by the finished thread
        mutex.unlock();
      },
      "^uncopyable: Mutex::unlock\\(\\) by thread [0-9]+, which does not hold it; thread "
      "[0-9]+ does \\(mutex \"jobs\"\\)\n");
}

TEST(MutexDeathTest, RelockingANonRecursiveMutexIsASelfDeadlock) {
  for (MutexKind kind : {MutexKind::normal, MutexKind::error_checking}) {
    Mutex mutex = make({.name = "jobs", .kind = kind});
    EXPECT_DEATH(
        {
          mutex.lock();
          mutex.lock();
        },
        "^uncopyable: Mutex::lock\\(\\) by thread [0-9]+, which already holds it: a "
        "self-deadlock \\(mutex \"jobs\"\\)\n");
  }
}

TEST(MutexDeathTest, DestroyingAHeldMutex) {
  EXPECT_DEATH(
      {
        Mutex mutex = make({.name = "doomed"});
        mutex.lock();
      },
      "^uncopyable: Mutex::~Mutex\\(\\) while held by thread [0-9]+ \\(mutex \"doomed\"\\)\n");
}

TEST(MutexDeathTest, MovingAHeldMutex) {
  Mutex mutex = make({.name = "anchor"});
  EXPECT_DEATH(
      {
        mutex.lock();
        Mutex moved = std::move(mutex);
      },
      "^uncopyable: Mutex::Mutex\\(Mutex&&\\) while held by thread [0-9]+ \\(mutex "
      "\"anchor\"\\)\n");
}

TEST(MutexDeathTest, AssigningToOrFromAHeldMutex) {
  Mutex held = make({.name = "held"});
  Mutex free = make({.name = "free"});
  EXPECT_DEATH(
      {
        held.lock();
        held = std::move(free);  // held's holder would be left holding nothing
      },
      "^uncopyable: Mutex::operator=\\(Mutex&&\\) while held by thread [0-9]+ \\(mutex "
      "\"held\"\\)\n");
  EXPECT_DEATH(
      {
        held.lock();
        free = std::move(held);
      },
      "^uncopyable: Mutex::operator=\\(Mutex&&\\) while held by thread [0-9]+ \\(mutex "
      "\"held\"\\)\n");
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
      "^uncopyable: Mutex::lock\\(\\) while holding mutex \"ledger\", which was taken earlier "
      "while holding this one: a lock-order inversion \\(mutex \"accounts\"\\)\n");
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
      "^uncopyable: Mutex::lock\\(\\) in a fork\\(\\)ed child \\(thread [0-9]+\\), but the "
      "lock was held by thread [0-9]+ when the process forked; the child must rebuild\\(\\) "
      "its own \\(mutex \"forky\"\\)\n");
}

TEST(MutexDeathTest, PlainLockOfARobustMutexWhoseOwnerDied) {
  Mutex mutex = make({.name = "robust", .robust = true});
  EXPECT_DEATH(
      {
        std::thread([&] { mutex.lock(); }).join();
        mutex.lock();
      },
      "^uncopyable: Mutex::lock\\(\\) found that the previous owner died holding it; use "
      "lock_robust\\(\\), which reports this so the guarded data can be repaired \\(mutex "
      "\"robust\"\\)\n");
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
      "^uncopyable: Mutex::lock\\(\\) on a lock made unrecoverable \\(an owner died and it "
      "was never marked consistent\\); rebuild the lock \\(mutex \"broken\"\\)\n");
}

TEST(MutexDeathTest, AssertHeldKnowsWhichThread) {
  Mutex mutex = make({.name = "owned"});
  EXPECT_DEATH(
      {
        std::thread([&] { mutex.lock(); }).join();
        mutex.assert_held();
      },
      "^uncopyable: Mutex::assert_held\\(\\) by thread [0-9]+, which does not hold it; thread "
      "[0-9]+ does \\(mutex \"owned\"\\)\n");
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
        "^uncopyable: Mutex::lock\\(\\) by thread [0-9]+ waits for thread [0-9]+, which "
        "exited while holding it \\(mutex \"jobs\"\\)\n")
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
      "^uncopyable: Mutex::lock\\(\\) by thread [0-9]+ waits for thread [0-9]+, which "
      "exited while holding it \\(mutex \"jobs\"\\)\n");
  EXPECT_DEATH(
      {
        ::alarm(kSecondsBeforeAHang);
        end_holding(mutex);
        (void)mutex.try_lock_for(absl::Hours(1));  // would wait the hour, for nothing
      },
      "^uncopyable: Mutex::try_lock_for\\(\\) by thread [0-9]+ waits for thread [0-9]+, "
      "which exited while holding it \\(mutex \"jobs\"\\)\n");
  EXPECT_DEATH(
      {
        ::alarm(kSecondsBeforeAHang);
        end_holding(mutex);
        (void)mutex.lock_robust();  // not robust: lock_robust() is lock()
      },
      "^uncopyable: Mutex::lock_robust\\(\\) by thread [0-9]+ waits for thread [0-9]+, "
      "which exited while holding it \\(mutex \"jobs\"\\)\n");
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
        "^uncopyable: Mutex::lock\\(\\) by thread [0-9]+ waits for thread [0-9]+, which "
        "exited while holding it \\(mutex \"jobs\"\\)\n")
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
        "^uncopyable: Mutex::mark_consistent\\(\\) on a lock that no dead owner left "
        "inconsistent; call it only after lock_robust\\(\\) returned owner_died \\(mutex "
        "\"jobs\"\\)\n");
  }
  Mutex mutex = make({.name = "jobs", .robust = true});
  EXPECT_DEATH(mutex.mark_consistent(),
               "^uncopyable: Mutex::mark_consistent\\(\\) by thread [0-9]+, which does not "
               "hold it; no thread does \\(mutex \"jobs\"\\)\n");
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
      "^uncopyable: Mutex::lock\\(\\) while holding mutex \"ledger\", which was taken earlier "
      "while holding this one: a lock-order inversion \\(mutex \"accounts\"\\)\n");
}

// A name of 10 MB is quoted short, so the line stays whole.
TEST(MutexDeathTest, ALongNameIsShortenedInTheLine) {
  const std::string long_name(10 << 20, 'n');
  Mutex mutex = make({.name = long_name});
  EXPECT_DEATH(mutex.unlock(),
               "^uncopyable: Mutex::unlock\\(\\) by thread [0-9]+, which does not hold it; no "
               "thread does \\(mutex \"n{100}\"\\.\\.\\.\"n{100}\" \\(10485760 bytes\\)\\)\n");
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
      "^uncopyable: Mutex::lock\\(\\) while holding mutex \"l{100}\"\\.\\.\\.\"l{100}\" "
      "\\(10485760 bytes\\), which was taken earlier while holding this one: a lock-order "
      "inversion \\(mutex \"a{100}\"\\.\\.\\.\"a{100}\" \\(10485760 bytes\\)\\)\n");
}

TEST(MutexDeathTest, UsingAMovedFromMutex) {
  Mutex mutex = make({.name = "gone"});
  Mutex taker = std::move(mutex);
  EXPECT_DEATH(mutex.lock(),  // NOLINT(bugprone-use-after-move)
               "^uncopyable: Mutex::lock\\(\\) on a moved-from handle");
}

}  // namespace
}  // namespace uncopyable
