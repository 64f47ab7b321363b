// Misuse of a File or FileLock aborts with one line naming it. Each test
// fails if its check is removed: the statement would run on without dying.
#include <memory>
#include <optional>
#include <utility>

#include "gtest/gtest.h"
#include "tests/testing/temp_path.h"
#include "uncopyable/file.h"

namespace uncopyable {
namespace {

using testing::TempPath;

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
  const std::string closed = "on a closed handle \\(path=\"" + temp_.path() + "\"\\)";
  EXPECT_DEATH((void)file.write("x"), "^uncopyable: File::write\\(\\) " + closed);
  EXPECT_DEATH((void)file.size(), "^uncopyable: File::size\\(\\) " + closed);
  EXPECT_DEATH((void)file.sync(), "^uncopyable: File::sync\\(\\) " + closed);
  EXPECT_DEATH((void)file.seek(0), "^uncopyable: File::seek\\(\\) " + closed);
  EXPECT_DEATH((void)file.pwrite("x", 0), "^uncopyable: File::pwrite\\(\\) " + closed);
  EXPECT_DEATH((void)file.read_to_end(10), "^uncopyable: File::read_to_end\\(\\) " + closed);
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
      "^uncopyable: File::~File\\(\\) while 1 FileLock\\(s\\) on it are held \\(path=\"" +
          temp_.path() + "\"\\); unlock first");
}

TEST_F(FileDeathTest, MovingOrClosingAFileWhileLocked) {
  File file = open();
  absl::StatusOr<FileLock> lock = file.lock(LockKind::exclusive);
  ASSERT_TRUE(lock.ok());
  EXPECT_DEATH({ File moved = std::move(file); },
               "^uncopyable: File::File\\(File&&\\) while 1 FileLock\\(s\\) on it are held");
  EXPECT_DEATH((void)file.close(),
               "^uncopyable: File::close\\(\\) while 1 FileLock\\(s\\) on it are held");
  ASSERT_TRUE(lock->unlock().ok());
}

TEST_F(FileDeathTest, UnlockingTwice) {
  File file = open();
  absl::StatusOr<FileLock> lock = file.lock(LockKind::shared);
  ASSERT_TRUE(lock.ok());
  ASSERT_TRUE(lock->unlock().ok());
  EXPECT_DEATH((void)lock->unlock(),
               "^uncopyable: FileLock::unlock\\(\\) on a lock that is not held");
}

}  // namespace
}  // namespace uncopyable
