// Misuse of a File or FileLock aborts with one line naming it. Each test
// fails if its check is removed: the statement would run on without dying.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "gtest/gtest.h"
#include "tests/testing/literally.h"
#include "tests/testing/forked_child.h"
#include "tests/testing/temp_path.h"
#include "uncopyable/file.h"
#include "uncopyable/internal/quote.h"

namespace uncopyable {
namespace {

using testing::TempPath;

using testing::literally;

// file "..." as the messages name it (cut past 200 bytes), as a regex.
std::string path_pattern(const std::string& path) {
  return literally("file " + internal::quoted(path));
}

class FileDeathTest : public ::testing::Test {
 protected:
  File open() {
    absl::StatusOr<File> file = File::open(
        FileConfig{.path = temp_.path(), .access = FileAccess::read_write, .create = true});
    EXPECT_TRUE(file.ok()) << file.status();
    return *std::move(file);
  }
  TempPath temp_{"death"};
};

TEST_F(FileDeathTest, AnyOperationOnAMovedFromFile) {
  File file = open();
  File taker = std::move(file);
  char byte;
  // NOLINTBEGIN(bugprone-use-after-move): the misuse under test
  EXPECT_DEATH((void)file.read(absl::MakeSpan(&byte, 1)),
               "^uncopyable: File::read\\(\\) on a moved-from handle\n");
  EXPECT_DEATH((void)file.write("x"), "^uncopyable: File::write\\(\\) on a moved-from handle");
  EXPECT_DEATH((void)file.rebuild(), "^uncopyable: File::rebuild\\(\\) on a moved-from handle");
  EXPECT_DEATH((void)file.fd(), "^uncopyable: File::fd\\(\\) on a moved-from handle");
  EXPECT_DEATH((void)file.lock(LockKind::shared),
               "^uncopyable: File::lock\\(\\) on a moved-from handle");
  // NOLINTEND(bugprone-use-after-move)
}

TEST_F(FileDeathTest, AnyOperationAfterCloseNamesThePath) {
  File file = open();
  ASSERT_TRUE(file.close().ok());
  const std::string closed = "on a closed handle \\(" + path_pattern(temp_.path()) + "\\)";
  EXPECT_DEATH((void)file.write("x"), "^uncopyable: File::write\\(\\) " + closed);
  EXPECT_DEATH((void)file.size(), "^uncopyable: File::size\\(\\) " + closed);
  EXPECT_DEATH((void)file.sync(), "^uncopyable: File::sync\\(\\) " + closed);
  EXPECT_DEATH((void)file.seek(0), "^uncopyable: File::seek\\(\\) " + closed);
  EXPECT_DEATH((void)file.pwrite("x", 0), "^uncopyable: File::pwrite\\(\\) " + closed);
  EXPECT_DEATH((void)file.read_to_end(10), "^uncopyable: File::read_to_end\\(\\) " + closed);
  EXPECT_DEATH((void)file.set_size(0), "^uncopyable: File::set_size\\(\\) " + closed);
}

TEST_F(FileDeathTest, ClosingTwice) {
  File file = open();
  ASSERT_TRUE(file.close().ok());
  EXPECT_DEATH((void)file.close(), "^uncopyable: File::close\\(\\) on a closed handle");
}

TEST_F(FileDeathTest, ALockThatOutlivesItsFile) {
  EXPECT_DEATH(
      {
        std::optional<FileLock> lock;
        {
          File file = open();
          lock.emplace(*file.lock(LockKind::exclusive));
        }  // the File goes first
      },
      "^uncopyable: File::~File\\(\\) while 1 FileLock\\(s\\) on it is alive; they must end "
      "first \\(" +
          path_pattern(temp_.path()) + "\\)\n");
}

TEST_F(FileDeathTest, MovingOrClosingAFileWhileLocked) {
  File file = open();
  absl::StatusOr<FileLock> lock = file.lock(LockKind::exclusive);
  ASSERT_TRUE(lock.ok());
  const std::string alive = " while 1 FileLock\\(s\\) on it is alive; they must end first \\(" +
                            path_pattern(temp_.path()) + "\\)\n";
  EXPECT_DEATH({ File moved = std::move(file); }, "^uncopyable: File::File\\(File&&\\)" + alive);
  File other = open();
  EXPECT_DEATH(other = std::move(file), "^uncopyable: File::operator=\\(File&&\\)" + alive);
  EXPECT_DEATH(file = std::move(other), "^uncopyable: File::operator=\\(File&&\\)" + alive);
  EXPECT_DEATH((void)file.close(), "^uncopyable: File::close\\(\\)" + alive);
  ASSERT_TRUE(lock->unlock().ok());
}

// A File holds one lock at a time. The kernel would grant a second one on
// the same open file description at once (it is the same holder), and the
// first unlock would then drop the lock the second still claims.
TEST_F(FileDeathTest, ASecondLockOnOneFile) {
  File file = open();
  absl::StatusOr<FileLock> lock = file.lock(LockKind::exclusive);
  ASSERT_TRUE(lock.ok()) << lock.status();
  const std::string held =
      " while a FileLock on it is held; a File holds one lock at a time: unlock it first, or "
      "rebuild\\(\\) another File \\(" +
      path_pattern(temp_.path()) + "\\)\n";
  EXPECT_DEATH((void)file.lock(LockKind::exclusive), "^uncopyable: File::lock\\(\\)" + held);
  EXPECT_DEATH((void)file.lock(LockKind::shared), "^uncopyable: File::lock\\(\\)" + held);
  EXPECT_DEATH((void)file.try_lock(LockKind::exclusive),
               "^uncopyable: File::try_lock\\(\\)" + held);
  ASSERT_TRUE(lock->unlock().ok());
  absl::StatusOr<FileLock> again = file.lock(LockKind::shared);  // one at a time is fine
  ASSERT_TRUE(again.ok()) << again.status();
}

// A long path is cut short in a misuse line too, its length said.
TEST_F(FileDeathTest, ALongPathIsCutShort) {
  TempPath long_name(std::string(220, 'n'));
  absl::StatusOr<File> file = File::open(
      FileConfig{.path = long_name.path(), .access = FileAccess::write, .create = true});
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_TRUE(file->close().ok());
  EXPECT_DEATH((void)file->write("x"),
               "^uncopyable: File::write\\(\\) on a closed handle "
               "\\(file \"/[^\"]*\"\\.\\.\\.\"[^\"]*n\" \\(" +
                   std::to_string(long_name.path().size()) + " bytes\\)\\)\n");
}

TEST_F(FileDeathTest, UnlockingTwice) {
  File file = open();
  absl::StatusOr<FileLock> lock = file.lock(LockKind::shared);
  ASSERT_TRUE(lock.ok());
  ASSERT_TRUE(lock->unlock().ok());
  EXPECT_DEATH(
      (void)lock->unlock(),
      "^uncopyable: FileLock::unlock\\(\\) on a lock that is not held: unlocked already\n");
  FileLock taker = *file.lock(LockKind::shared);
  EXPECT_DEATH(
      (void)lock->unlock(),
      "^uncopyable: FileLock::unlock\\(\\) on a lock that is not held: unlocked already\n");
  FileLock moved = std::move(taker);
  // NOLINTNEXTLINE(bugprone-use-after-move): the misuse under test
  EXPECT_DEATH((void)taker.unlock(),
               "^uncopyable: FileLock::unlock\\(\\) on a lock that is not held: moved from\n");
  ASSERT_TRUE(moved.unlock().ok());
}

// A forked child shares the parent's open file description, and with it
// the lock: a child that let go of its copy of the parent's FileLock could
// take the "same" lock again and then really release the parent's. Locking
// an inherited File in a child is refused outright.
TEST_F(FileDeathTest, LockingAFileInheritedFromTheParent) {
  File file = open();
  absl::StatusOr<FileLock> held = file.lock(LockKind::exclusive);
  ASSERT_TRUE(held.ok()) << held.status();
  const std::string line =
      "^uncopyable: File::try_lock\\(\\) in a fork\\(\\)ed child on a File its parent opened: "
      "the two share one lock \\(one open file description\\), so the child's lock would be "
      "the parent's; the child must rebuild\\(\\) its own File \\(" +
      path_pattern(temp_.path()) + "\\)\n";
  EXPECT_DEATH(testing::in_forked_child([&] {
                 (void)held->unlock();  // the child's copy: lets go of nothing
                 (void)file.try_lock(LockKind::exclusive);
               }),
               line);
  ASSERT_TRUE(held->unlock().ok());
  EXPECT_DEATH(testing::in_forked_child([&] { (void)file.lock(LockKind::shared); }),
               "^uncopyable: File::lock\\(\\) in a fork\\(\\)ed child on a File its parent "
               "opened");
}

}  // namespace
}  // namespace uncopyable
