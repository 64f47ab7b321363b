// Misuse of the owner core aborts with one line that starts "uncopyable:" and
// names the handle and the misuse. Each test here fails if its check is
// removed: the statement would then run on without dying.
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <utility>

#include "gtest/gtest.h"
#include "tests/testing/recording_traits.h"
#include "uncopyable/fd.h"
#include "uncopyable/unique_handle.h"

namespace uncopyable {
namespace {

using Token = UniqueHandle<testing::RecordingTraits>;

TEST(UniqueHandleDeathTest, GetOnMovedFrom) {
  Token handle(1);
  Token taker = std::move(handle);
  EXPECT_DEATH((void)handle.get(),  // NOLINT(bugprone-use-after-move)
               "^uncopyable: Token::get\\(\\) on a moved-from handle\n");
}

TEST(UniqueHandleDeathTest, GetOnEmpty) {
  Token handle;
  EXPECT_DEATH((void)handle.get(),
               "^uncopyable: Token::get\\(\\) on an empty handle");
}

TEST(UniqueHandleDeathTest, GetAfterClose) {
  Token handle(1);
  handle.close().IgnoreError();
  EXPECT_DEATH((void)handle.get(),
               "^uncopyable: Token::get\\(\\) on a closed handle");
}

TEST(UniqueHandleDeathTest, GetAfterRelease) {
  Token handle(1);
  (void)handle.release();
  EXPECT_DEATH((void)handle.get(),
               "^uncopyable: Token::get\\(\\) on a released handle");
}

TEST(UniqueHandleDeathTest, ReleaseOfEmpty) {
  Token handle;
  EXPECT_DEATH((void)handle.release(),
               "^uncopyable: Token::release\\(\\) on an empty handle");
}

TEST(UniqueHandleDeathTest, CloseTwice) {
  Token handle(1);
  handle.close().IgnoreError();
  EXPECT_DEATH(handle.close().IgnoreError(),
               "^uncopyable: Token::close\\(\\) on a closed handle");
}

TEST(UniqueHandleDeathTest, CloseMovedFrom) {
  Token handle(1);
  Token taker = std::move(handle);
  EXPECT_DEATH(handle.close().IgnoreError(),  // NOLINT(bugprone-use-after-move)
               "^uncopyable: Token::close\\(\\) on a moved-from handle");
}

TEST(UniqueHandleDeathTest, ResetToTheValueAlreadyHeld) {
  Token handle(4);
  EXPECT_DEATH(handle.reset(4),
               "^uncopyable: Token::reset\\(4\\): the value it already holds "
               "would be closed and kept");
}

TEST(UniqueHandleDeathTest, ResetToAnInvalidValue) {
  Token handle(4);
  EXPECT_DEATH(handle.reset(0),
               "^uncopyable: Token::reset\\(0\\): adopting an invalid value");
}

TEST(UniqueHandleDeathTest, AdoptingAnInvalidValue) {
  EXPECT_DEATH(Token(-7), "^uncopyable: Token::Token\\(-7\\): adopting an invalid value");
}

TEST(FdDeathTest, AdoptingANegativeFd) {
  EXPECT_DEATH(Fd(-5), "^uncopyable: Fd::Fd\\(-5\\): adopting an invalid value");
  EXPECT_DEATH(Fd(-1), "^uncopyable: Fd::Fd\\(-1\\): adopting an invalid value");
}

TEST(FdDeathTest, GetOnMovedFromFd) {
  Fd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  Fd taker = std::move(fd);
  EXPECT_DEATH((void)fd.get(),  // NOLINT(bugprone-use-after-move)
               "^uncopyable: Fd::get\\(\\) on a moved-from handle\n");
}

TEST(FdDeathTest, CloseTwice) {
  Fd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fd.close().ok());
  EXPECT_DEATH(fd.close().IgnoreError(),
               "^uncopyable: Fd::close\\(\\) on a closed handle");
}

TEST(FdDeathTest, BorrowingFromAnEmptyFd) {
  Fd fd;
  EXPECT_DEATH(FdView{fd}, "^uncopyable: Fd::get\\(\\) on an empty handle");
}

TEST(FdDeathTest, BorrowingANegativeNumber) {
  EXPECT_DEATH(FdView(-3),
               "^uncopyable: FdView::FdView\\(-3\\) borrowing a negative descriptor\n");
}

TEST(FdDeathTest, DescriptorClosedBehindTheOwnersBack) {
  EXPECT_DEATH(
      {
        Fd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        // Someone else closes what fd owns, by a way the ownership checks
        // (linked into every test) cannot see: ::close() would abort first.
        ::syscall(SYS_close, fd.get());
        fd.close().IgnoreError();
      },
      "^uncopyable: Fd::close\\(\\) found the descriptor not open; something closed it "
      "behind its owner's back \\(fd [0-9]+\\)\n");
}

TEST(CheckDeathTest, MessageIsOneLineWithThePrefix) {
  EXPECT_DEATH(misuse("Thing::%s on %d", "frob()", 3),
               "^uncopyable: Thing::frob\\(\\) on 3\n$");
}

TEST(CheckDeathTest, LongMessagesAreCutNotOverrun) {
  const std::string long_text(5000, 'x');
  EXPECT_DEATH(misuse("%s", long_text.c_str()), "^uncopyable: x{1000,1011}\n$");
}

}  // namespace
}  // namespace uncopyable
