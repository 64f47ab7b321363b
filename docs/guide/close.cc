// docs/guide.md, "Close explicitly where the error matters": close() reports
// what close(2) said, naming the path; the destructor closes too, but has
// nobody to tell. The failures are injected (//:fault_injection).
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "docs/guide/guide_testing.h"
#include "gtest/gtest.h"
#include "uncopyable/file.h"
#include "uncopyable/testing/fault_injection.h"

namespace guide {
namespace {

using uncopyable::testing::FaultInjector;
using uncopyable::testing::Syscall;

// [guide:close]
absl::Status save(const uncopyable::FileConfig& config, absl::string_view data) {
  absl::StatusOr<uncopyable::File> file = uncopyable::rebuild(config);
  if (!file.ok()) return file.status();
  if (absl::Status s = file->write(data); !s.ok()) return s;  // the destructor closes
  if (absl::Status s = file->sync(); !s.ok()) return s;        // (quietly) on these paths
  return file->close();  // the last chance to hear that the data did not make it
}
// [end]

// [guide:close-quietly]
// Reads only: a failed close loses nothing here, so the destructor may close.
absl::StatusOr<std::string> first_line(const uncopyable::FileConfig& config) {
  absl::StatusOr<uncopyable::File> file = uncopyable::rebuild(config);
  if (!file.ok()) return file.status();
  std::string buffer(256, '\0');
  absl::StatusOr<size_t> got = file->read(absl::MakeSpan(buffer));
  if (!got.ok()) return got.status();
  buffer.resize(*got);
  return buffer.substr(0, buffer.find('\n'));
}
// [end]

class CloseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    enter_scratch_directory();
    ::unlink(config_.path.c_str());
  }
  const uncopyable::FileConfig config_{.path = "results.txt",
                                       .access = uncopyable::FileAccess::write,
                                       .create = true,
                                       .truncate = true};
};

TEST_F(CloseTest, SavedDataIsThere) {
  ASSERT_TRUE(save(config_, "ann 3\nbob 1\n").ok());
  absl::StatusOr<std::string> line = first_line({.path = config_.path});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(*line, "ann 3");
}

TEST_F(CloseTest, AFailedCloseReachesTheCallerAndNamesThePath) {
  absl::Status saved;
  {
    FaultInjector fault;
    fault.fail_nth(1, EIO, Syscall::kClose);
    saved = save(config_, "ann 3\n");
    EXPECT_EQ(fault.injected(), 1) << fault.describe();
  }
  EXPECT_FALSE(saved.ok());
  EXPECT_TRUE(absl::StrContains(saved.message(), "close file \"results.txt\"")) << saved;
  EXPECT_TRUE(absl::StrContains(saved.message(), "[EIO]")) << saved;
}

TEST_F(CloseTest, TheDestructorClosesQuietly) {
  ASSERT_TRUE(save(config_, "ann 3\n").ok());
  absl::StatusOr<std::string> line;
  {
    FaultInjector fault;
    fault.fail_nth(1, EIO, Syscall::kClose);
    line = first_line({.path = config_.path});
    EXPECT_EQ(fault.injected(), 1) << fault.describe();  // it did fail, and nobody heard
  }
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(*line, "ann 3");
}

}  // namespace
}  // namespace guide
