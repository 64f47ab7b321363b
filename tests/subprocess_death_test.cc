// Misuse of a Subprocess aborts with one line naming it. Each test fails if
// its check is removed: the statement would run on without dying.
#include <signal.h>

#include <utility>

#include "gtest/gtest.h"
#include "tests/testing/forked_child.h"
#include "uncopyable/pipe.h"
#include "uncopyable/subprocess.h"

namespace uncopyable {
namespace {

using testing::in_forked_child;

// A child that runs until its stdin, a pipe this test holds, closes: one
// left behind by a death-test process that aborted ends with it.
class SubprocessDeathTest : public ::testing::Test {
 protected:
  Subprocess cat() {
    absl::StatusOr<Subprocess> child = Subprocess::spawn(
        {.argv = {"/bin/cat"}, .passed_fds = {0}, .standard_output = StandardStream::null},
        {input_->reader.fd()});
    EXPECT_TRUE(child.ok()) << child.status();
    return *std::move(child);
  }
  absl::StatusOr<Pipe> input_ = make_pipe();
};

TEST_F(SubprocessDeathTest, AnyOperationOnAMovedFromSubprocess) {
  Subprocess child = cat();
  Subprocess taker = std::move(child);
  // NOLINTBEGIN(bugprone-use-after-move): the misuse under test
  EXPECT_DEATH((void)child.wait(), "^uncopyable: Subprocess::wait\\(\\) on a moved-from handle\n");
  EXPECT_DEATH((void)child.wait(absl::Seconds(1)),
               "^uncopyable: Subprocess::wait\\(\\) on a moved-from handle\n");
  EXPECT_DEATH((void)child.kill(SIGTERM),
               "^uncopyable: Subprocess::kill\\(\\) on a moved-from handle\n");
  EXPECT_DEATH((void)child.pid(), "^uncopyable: Subprocess::pid\\(\\) on a moved-from handle\n");
  EXPECT_DEATH((void)child.fd(), "^uncopyable: Subprocess::fd\\(\\) on a moved-from handle\n");
  EXPECT_DEATH((void)child.rebuild(),
               "^uncopyable: Subprocess::rebuild\\(\\) on a moved-from handle\n");
  EXPECT_DEATH((void)child.close(), "^uncopyable: Subprocess::close\\(\\) on a moved-from handle\n");
  // NOLINTEND(bugprone-use-after-move)
}

TEST_F(SubprocessDeathTest, AnyOperationAfterCloseNamesTheProgram) {
  Subprocess child = cat();
  ASSERT_TRUE(child.close().ok());
  const std::string closed = "on a closed handle \\(subprocess \"/bin/cat\"\\)\n";
  EXPECT_DEATH((void)child.wait(), "^uncopyable: Subprocess::wait\\(\\) " + closed);
  EXPECT_DEATH((void)child.kill(SIGTERM), "^uncopyable: Subprocess::kill\\(\\) " + closed);
  EXPECT_DEATH((void)child.close(), "^uncopyable: Subprocess::close\\(\\) " + closed);
  EXPECT_DEATH((void)child.rebuild({}), "^uncopyable: Subprocess::rebuild\\(\\) " + closed);
}

// The child process belongs to the process that spawned it: a fork()ed
// child must not wait for it (it could not: it is not its child) nor kill it.
TEST_F(SubprocessDeathTest, WaitOrKillInAForkedChild) {
  Subprocess child = cat();
  const std::string message =
      "^uncopyable: Subprocess::(wait|kill)\\(\\) in a fork\\(\\)ed child: the process belongs "
      "to the process that spawned it, which alone waits for and kills it \\(subprocess "
      "\"/bin/cat\" pid [0-9]+\\)\n";
  EXPECT_DEATH(in_forked_child([&] { (void)child.wait(); }), message);
  EXPECT_DEATH(in_forked_child([&] { (void)child.wait(absl::Milliseconds(1)); }), message);
  EXPECT_DEATH(in_forked_child([&] { (void)child.kill(SIGKILL); }), message);
  // The parent's child was not touched.
  EXPECT_EQ(child.wait(absl::ZeroDuration()).status().code(), absl::StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace uncopyable
