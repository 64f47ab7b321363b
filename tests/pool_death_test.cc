// Misuse of a Pool and its leases aborts with one line naming it.
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "uncopyable/file.h"
#include "uncopyable/pool.h"

namespace uncopyable {
namespace {

class PoolDeathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* root = std::getenv("TEST_TMPDIR");
    path_ = absl::StrCat(root != nullptr ? root : "/tmp", "/pool-death");
  }
  void TearDown() override { ::unlink(path_.c_str()); }
  Pool<File> open() const {
    absl::StatusOr<Pool<File>> pool = Pool<File>::open({.handle = {.path = path_, .access = FileAccess::write, .create = true}});
    EXPECT_TRUE(pool.ok()) << pool.status();
    return *std::move(pool);
  }
  std::string path_;
};

TEST_F(PoolDeathTest, DestroyedWithALeaseAlive) {
  EXPECT_DEATH(
      {
        std::optional<PoolLease<File>> lease;
        auto pool = std::make_unique<Pool<File>>(open());
        lease.emplace(*pool->acquire());
        pool.reset();
      },
      "^uncopyable: Pool::~Pool\\(\\) while 1 PoolLease\\(s\\) or acquire\\(\\) call\\(s\\) on it "
      "is alive; they must end first \\(pool of file \".*/pool-death\"\\)\n$");
}

TEST_F(PoolDeathTest, DestroyedWhileAnAcquireWaits) {
  EXPECT_DEATH(
      {
        auto pool = std::make_unique<Pool<File>>(
            *Pool<File>::open({.handle = {.path = path_, .access = FileAccess::write, .create = true}, .pool = {.max_size = 1}}));
        auto held = pool->acquire();
        std::thread waiter([&] { (void)pool->acquire(); });
        while (pool->metrics().waiters == 0) absl::SleepFor(absl::Milliseconds(1));
        pool.reset();  // a lease and a waiting acquire()
        waiter.join();
      },
      "^uncopyable: Pool::~Pool\\(\\) while 2 PoolLease\\(s\\) or acquire\\(\\) call\\(s\\) on "
      "it are alive; they must end first");
}

TEST_F(PoolDeathTest, AssignedOverWithALeaseAlive) {
  EXPECT_DEATH(
      {
        Pool<File> pool = open();
        Pool<File> other = open();
        auto lease = pool.acquire();
        pool = std::move(other);
      },
      "^uncopyable: Pool::operator=\\(Pool&&\\) while 1 PoolLease\\(s\\) or acquire\\(\\) "
      "call\\(s\\) on it is alive; they must end first \\(pool of file \".*/pool-death\"\\)\n$");
}

TEST_F(PoolDeathTest, MovingAPoolWithALeaseAliveIsFine) {
  Pool<File> pool = open();
  auto lease = pool.acquire();
  ASSERT_TRUE(lease.ok());
  Pool<File> moved = std::move(pool);
  lease->release();
}

TEST_F(PoolDeathTest, LeaseAfterMove) {
  Pool<File> pool = open();
  EXPECT_DEATH(
      {
        auto lease = pool.acquire();
        PoolLease<File> mine = *std::move(lease);
        (void)lease->get();
      },
      "^uncopyable: PoolLease::get\\(\\) on a moved-from handle\n$");
  EXPECT_DEATH(
      {
        auto lease = pool.acquire();
        PoolLease<File> mine = *std::move(lease);
        lease->mark_broken();
      },
      "^uncopyable: PoolLease::mark_broken\\(\\) on a moved-from handle\n$");
}

TEST_F(PoolDeathTest, LeaseReleasedTwice) {
  Pool<File> pool = open();
  EXPECT_DEATH(
      {
        auto lease = pool.acquire();
        lease->release();
        lease->release();
      },
      "^uncopyable: PoolLease::release\\(\\) on a closed handle \\(a lease\\)\n$");
}

TEST_F(PoolDeathTest, DestroyedInItsOwnLeakHandler) {
  EXPECT_DEATH(
      {
        auto* pool = new std::optional<Pool<File>>(*Pool<File>::open(
            {.handle = {.path = path_, .access = FileAccess::write, .create = true},
             .pool = {.leak_threshold = absl::Milliseconds(1)}}));
        (*pool)->set_leak_handler([pool](const PoolLeak&) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the lease ends first
          pool->reset();
        });
        // Reported after 1ms; by the time the handler destroys the pool,
        // the lease has ended (no users: it gets as far as stop()).
        auto lease = (*pool)->acquire();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        lease->release();
        std::this_thread::sleep_for(std::chrono::seconds(10));  // the abort comes first
      },
      "^uncopyable: Pool::~Pool\\(\\) from its own thread, in its leak handler \\(pool of "
      "file .*\\)\n$");
}

TEST_F(PoolDeathTest, PoolAfterMove) {
  Pool<File> pool = open();
  Pool<File> mine = std::move(pool);
  EXPECT_DEATH((void)pool.resource(),
               "^uncopyable: Pool::resource\\(\\) on a moved-from handle\n$");
  EXPECT_DEATH((void)pool.acquire(), "^uncopyable: Pool::acquire\\(\\) on a moved-from handle\n$");
  EXPECT_DEATH((void)pool.metrics(), "^uncopyable: Pool::metrics\\(\\) on a moved-from handle\n$");
}

}  // namespace
}  // namespace uncopyable
