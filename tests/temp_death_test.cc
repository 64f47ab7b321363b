// Misuse of a TempDir or TempFile aborts with one line naming it. Each test
// fails if its check is removed: the statement would run on without dying.
//
// A death test's child runs the test again from its start and dies: the
// folders it makes are left in the test's own TEST_TMPDIR, which Bazel
// removes.
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>

#include "gtest/gtest.h"
#include "tests/testing/literally.h"
#include "uncopyable/internal/quote.h"
#include "uncopyable/temp.h"

namespace uncopyable {
namespace {

using testing::literally;

std::string test_tmpdir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

TempDir make_dir() {
  absl::StatusOr<TempDir> dir = TempDir::open(TempDirConfig{.parent = test_tmpdir()});
  EXPECT_TRUE(dir.ok()) << dir.status();
  return *std::move(dir);
}

TempFile make_file() {
  absl::StatusOr<TempFile> file = TempFile::open(TempFileConfig{.parent = test_tmpdir()});
  EXPECT_TRUE(file.ok()) << file.status();
  return *std::move(file);
}

// The resource as the messages name it: `kind "..."` (temp dir, temp file,
// file), with the random name as a pattern (each run, and the death test's
// child, makes its own).
std::string path_pattern(const std::string& kind) {
  std::string start = internal::quoted(test_tmpdir() + "/tmp-");
  start.pop_back();  // the closing quote
  return literally(kind + " " + start) + "[a-z2-7]{12}\"";
}

TEST(TempDeathTest, AnyOperationOnAMovedFromTempDir) {
  TempDir dir = make_dir();
  TempDir taker = std::move(dir);
  // NOLINTBEGIN(bugprone-use-after-move): the misuse under test
  EXPECT_DEATH((void)dir.path(), "^uncopyable: TempDir::path\\(\\) on a moved-from handle\n");
  EXPECT_DEATH((void)dir.rebuild(), "^uncopyable: TempDir::rebuild\\(\\) on a moved-from handle\n");
  EXPECT_DEATH((void)dir.close(), "^uncopyable: TempDir::close\\(\\) on a moved-from handle\n");
  // NOLINTEND(bugprone-use-after-move)
}

TEST(TempDeathTest, AnyOperationOnAClosedTempDirNamesItsPath) {
  TempDir dir = make_dir();
  ASSERT_TRUE(dir.close().ok());
  const std::string closed = " on a closed handle \\(" + path_pattern("temp dir") + "\\)\n";
  EXPECT_DEATH((void)dir.path(), "^uncopyable: TempDir::path\\(\\)" + closed);
  EXPECT_DEATH((void)dir.close(), "^uncopyable: TempDir::close\\(\\)" + closed);
}

TEST(TempDeathTest, AnyOperationOnAMovedFromTempFile) {
  TempFile file = make_file();
  TempFile taker = std::move(file);
  // NOLINTBEGIN(bugprone-use-after-move): the misuse under test
  EXPECT_DEATH((void)file.path(), "^uncopyable: TempFile::path\\(\\) on a moved-from handle\n");
  EXPECT_DEATH((void)file.file(), "^uncopyable: TempFile::file\\(\\) on a moved-from handle\n");
  EXPECT_DEATH((void)file.close(), "^uncopyable: TempFile::close\\(\\) on a moved-from handle\n");
  // NOLINTEND(bugprone-use-after-move)
}

TEST(TempDeathTest, AnyOperationOnAClosedTempFileNamesItsPath) {
  TempFile file = make_file();
  ASSERT_TRUE(file.close().ok());
  const std::string closed = " on a closed handle \\(" + path_pattern("temp file") + "\\)\n";
  EXPECT_DEATH((void)file.file(), "^uncopyable: TempFile::file\\(\\)" + closed);
  EXPECT_DEATH((void)file.rebuild(), "^uncopyable: TempFile::rebuild\\(\\)" + closed);
  EXPECT_DEATH((void)file.close(), "^uncopyable: TempFile::close\\(\\)" + closed);
}

// The File a TempFile lends is closed by the TempFile: closing it yourself
// is caught by the File's own check when the TempFile closes it.
TEST(TempDeathTest, ClosingTheLentFileYourself) {
  TempFile file = make_file();
  ASSERT_TRUE(file.file().close().ok());
  EXPECT_DEATH((void)file.close(), "^uncopyable: File::close\\(\\) on a closed handle \\(" +
                                       path_pattern("file") + "\\)\n");
}

}  // namespace
}  // namespace uncopyable
