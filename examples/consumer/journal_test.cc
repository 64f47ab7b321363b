// GoogleTest from uncopyable_dependencies(), testing a handle from the
// dependency: the test builds and runs in the consumer's workspace.
#include <cstdlib>
#include <string>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "uncopyable/file.h"

namespace {

static_assert(!std::is_copy_constructible_v<uncopyable::File>);
static_assert(std::is_nothrow_move_constructible_v<uncopyable::File>);

TEST(ConsumerTest, AMissingFileIsAStatusThatNamesThePath) {
  const std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/absent/journal");
  absl::StatusOr<uncopyable::File> file = uncopyable::rebuild(uncopyable::FileConfig{.path = path});
  ASSERT_FALSE(file.ok());
  EXPECT_TRUE(absl::IsNotFound(file.status())) << file.status();
  EXPECT_NE(file.status().message().find(path), std::string::npos) << file.status();
}

}  // namespace
