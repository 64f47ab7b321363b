// Misuse of a pipe's ends aborts with one line naming the end and the
// operation. Each test fails if its check is removed: the statement would run
// on without dying.
#include <string>
#include <utility>

#include "gtest/gtest.h"
#include "uncopyable/pipe.h"

namespace uncopyable {
namespace {

Pipe pipe() {
  absl::StatusOr<Pipe> made = make_pipe();
  EXPECT_TRUE(made.ok()) << made.status();
  return *std::move(made);
}

TEST(PipeDeathTest, AnyOperationOnAMovedFromEnd) {
  Pipe ends = pipe();
  PipeReader reader = std::move(ends.reader);
  PipeWriter writer = std::move(ends.writer);
  char byte;
  // NOLINTBEGIN(bugprone-use-after-move): the misuse under test
  EXPECT_DEATH((void)ends.reader.read(absl::MakeSpan(&byte, 1)),
               "^uncopyable: PipeReader::read\\(\\) on a moved-from handle\n");
  EXPECT_DEATH((void)ends.reader.read(absl::Span<char>()),
               "^uncopyable: PipeReader::read\\(\\) on a moved-from handle\n");
  EXPECT_DEATH((void)ends.reader.read_to_end(10),
               "^uncopyable: PipeReader::read_to_end\\(\\) on a moved-from handle\n");
  EXPECT_DEATH((void)ends.reader.fd(), "^uncopyable: PipeReader::fd\\(\\) on a moved-from handle\n");
  EXPECT_DEATH((void)ends.writer.write("x"),
               "^uncopyable: PipeWriter::write\\(\\) on a moved-from handle\n");
  EXPECT_DEATH((void)ends.writer.write(""),
               "^uncopyable: PipeWriter::write\\(\\) on a moved-from handle\n");
  EXPECT_DEATH((void)ends.writer.write_all(""),
               "^uncopyable: PipeWriter::write_all\\(\\) on a moved-from handle\n");
  EXPECT_DEATH((void)ends.writer.close(),
               "^uncopyable: PipeWriter::close\\(\\) on a moved-from handle\n");
  EXPECT_DEATH((void)ends.writer.release(),
               "^uncopyable: PipeWriter::release\\(\\) on a moved-from handle\n");
  // NOLINTEND(bugprone-use-after-move)
}

TEST(PipeDeathTest, AnyOperationAfterCloseAndClosingTwice) {
  Pipe ends = pipe();
  ASSERT_TRUE(ends.reader.close().ok());
  ASSERT_TRUE(ends.writer.close().ok());
  char byte;
  // A closed end names which end it was (its number is gone with it).
  const std::string reader = " on a closed handle \\(pipe read end\\)\n";
  const std::string writer = " on a closed handle \\(pipe write end\\)\n";
  EXPECT_DEATH((void)ends.reader.read(absl::MakeSpan(&byte, 1)),
               "^uncopyable: PipeReader::read\\(\\)" + reader);
  EXPECT_DEATH((void)ends.reader.close(), "^uncopyable: PipeReader::close\\(\\)" + reader);
  EXPECT_DEATH((void)ends.writer.write_all("x"),
               "^uncopyable: PipeWriter::write_all\\(\\)" + writer);
  EXPECT_DEATH((void)ends.writer.close(), "^uncopyable: PipeWriter::close\\(\\)" + writer);
  EXPECT_DEATH((void)ends.writer.fd(), "^uncopyable: PipeWriter::fd\\(\\)" + writer);
}

TEST(PipeDeathTest, AnyOperationAfterRelease) {
  Pipe ends = pipe();
  Fd reader = ends.reader.release();
  Fd writer = ends.writer.release();
  char byte;
  EXPECT_DEATH((void)ends.reader.read(absl::MakeSpan(&byte, 1)),
               "^uncopyable: PipeReader::read\\(\\) on a released handle\n");
  EXPECT_DEATH((void)ends.writer.write("x"),
               "^uncopyable: PipeWriter::write\\(\\) on a released handle\n");
  EXPECT_DEATH((void)ends.writer.release(),
               "^uncopyable: PipeWriter::release\\(\\) on a released handle\n");
  EXPECT_TRUE(reader.close().ok());  // the caller owns them now
  EXPECT_TRUE(writer.close().ok());
}

}  // namespace
}  // namespace uncopyable
