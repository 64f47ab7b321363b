// Misuse of a Mutex aborts with one line that names it. Each test fails if
// its check is removed: the statement would run on (or hang, bounded by the
// test's timeout) without the expected message.
#include <unistd.h>

#include <thread>
#include <utility>

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

TEST(MutexDeathTest, UsingAMovedFromMutex) {
  Mutex mutex = make({.name = "gone"});
  Mutex taker = std::move(mutex);
  EXPECT_DEATH(mutex.lock(),  // NOLINT(bugprone-use-after-move)
               "^uncopyable: Mutex::lock\\(\\) on a moved-from handle");
}

}  // namespace
}  // namespace uncopyable
