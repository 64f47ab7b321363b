// GoogleTest in a CMake project, testing a handle of the installed
// uncopyable, with its opt-in descriptor ownership checks linked in.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <type_traits>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "uncopyable/file.h"

namespace {

static_assert(!std::is_copy_constructible_v<uncopyable::File>);
static_assert(std::is_nothrow_move_constructible_v<uncopyable::File>);

TEST(ChecklistTest, AMissingFileIsAStatusThatNamesThePath) {
  const std::string path = "/nonexistent-uncopyable-consumer/checklist.txt";
  absl::StatusOr<uncopyable::File> file = uncopyable::rebuild(uncopyable::FileConfig{.path = path});
  ASSERT_FALSE(file.ok());
  EXPECT_TRUE(absl::IsNotFound(file.status())) << file.status();
  EXPECT_NE(file.status().message().find(path), std::string::npos) << file.status();
}

// uncopyable::fd_ownership_checks came with the package and works: a stray
// close() of a descriptor a File owns aborts, naming the owner.
TEST(ChecklistDeathTest, AStrayCloseOfAFilesDescriptorAborts) {
  EXPECT_DEATH(
      {
        absl::StatusOr<uncopyable::File> file = uncopyable::rebuild(
            uncopyable::FileConfig{.path = "/dev/null", .allow_special_files = true});
        if (!file.ok()) {
          std::fprintf(stderr, "%s\n", file.status().ToString().c_str());
          std::exit(1);
        }
        ::close(file->fd().get());
      },
      "uncopyable: ::close\\([0-9]+\\) of a descriptor owned by File");
}

}  // namespace
