// Misuse of a MappedFile aborts with one line naming it. Each test fails if
// its check is removed: the statement would run on without dying (or, for
// mutable_bytes(), die of SIGSEGV without the line).
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "gtest/gtest.h"
#include "tests/testing/literally.h"
#include "uncopyable/internal/quote.h"
#include "uncopyable/mapped_file.h"
#include "uncopyable/temp.h"

namespace uncopyable {
namespace {

using testing::literally;

class MappedFileDeathTest : public ::testing::Test {
 protected:
  // The file is made again by the death test's child (it runs the test from
  // its start), under its own random name: the pattern allows for that.
  MappedFile map(MapAccess access = MapAccess::read) {
    absl::StatusOr<MappedFile> mapped = MappedFile::open(MappedFileConfig{
        .file = {.path = temp_.path(), .access = FileAccess::read_write}, .access = access});
    EXPECT_TRUE(mapped.ok()) << mapped.status();
    return *std::move(mapped);
  }
  static std::string path_pattern() {
    std::string start = internal::quoted(test_tmpdir() + "/tmp-");
    start.pop_back();  // the closing quote
    return literally("mapped file " + start) + "[a-z2-7]{12}\"";
  }
  static std::string test_tmpdir() {
    const char* dir = std::getenv("TEST_TMPDIR");
    return dir != nullptr ? dir : "/tmp";
  }
  static TempFile scratch() {
    absl::StatusOr<TempFile> temp = TempFile::open(TempFileConfig{.parent = test_tmpdir()});
    EXPECT_TRUE(temp.ok()) << temp.status();
    EXPECT_TRUE(temp->file().write("mapped bytes").ok());
    return *std::move(temp);
  }
  TempFile temp_ = scratch();
};

TEST_F(MappedFileDeathTest, AnyOperationOnAMovedFromMappedFile) {
  MappedFile mapped = map();
  MappedFile taker = std::move(mapped);
  // NOLINTBEGIN(bugprone-use-after-move): the misuse under test
  EXPECT_DEATH((void)mapped.bytes(),
               "^uncopyable: MappedFile::bytes\\(\\) on a moved-from handle\n");
  EXPECT_DEATH((void)mapped.size(), "^uncopyable: MappedFile::size\\(\\) on a moved-from handle\n");
  EXPECT_DEATH((void)mapped.sync(), "^uncopyable: MappedFile::sync\\(\\) on a moved-from handle\n");
  EXPECT_DEATH((void)mapped.rebuild(),
               "^uncopyable: MappedFile::rebuild\\(\\) on a moved-from handle\n");
  // NOLINTEND(bugprone-use-after-move)
}

TEST_F(MappedFileDeathTest, AnyOperationAfterCloseNamesThePath) {
  MappedFile mapped = map(MapAccess::read_write);
  ASSERT_TRUE(mapped.close().ok());
  const std::string closed = " on a closed handle \\(" + path_pattern() + "\\)\n";
  EXPECT_DEATH((void)mapped.bytes(), "^uncopyable: MappedFile::bytes\\(\\)" + closed);
  EXPECT_DEATH((void)mapped.mutable_bytes(),
               "^uncopyable: MappedFile::mutable_bytes\\(\\)" + closed);
  EXPECT_DEATH((void)mapped.sync(), "^uncopyable: MappedFile::sync\\(\\)" + closed);
  EXPECT_DEATH((void)mapped.close(), "^uncopyable: MappedFile::close\\(\\)" + closed);
}

// The memory is PROT_READ: writing through it would be a SIGSEGV somewhere
// later; asking for it writable is caught where it is asked.
TEST_F(MappedFileDeathTest, WritableBytesOfAReadOnlyMapping) {
  MappedFile mapped = map(MapAccess::read);
  EXPECT_DEATH(std::memcpy(mapped.mutable_bytes().data(), "x", 1),
               "^uncopyable: MappedFile::mutable_bytes\\(\\) on a read-only mapping; map it with "
               "access=read_write \\(" +
                   path_pattern() + "\\)\n");
}

}  // namespace
}  // namespace uncopyable
