// docs/guide.md, "Never copy a resource": what to write instead of a copy.
// Lend the handle (a reference, or an FdView for the bare descriptor), or
// give it away (std::move). The copy itself is never_copy_nocompile.cc.
#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "docs/guide/guide_testing.h"
#include "gtest/gtest.h"
#include "uncopyable/fd.h"
#include "uncopyable/file.h"

namespace guide {
namespace {

// [guide:lend]
// Lends the file for the call: the caller still owns it afterwards.
absl::Status append_line(uncopyable::File& log, absl::string_view line) {
  return log.write(absl::StrCat(line, "\n"));
}

// Lends only the descriptor: an FdView never closes anything.
bool is_terminal(uncopyable::FdView fd) { return ::isatty(fd.get()) == 1; }
// [end]

// [guide:give]
// Takes ownership: the caller moves the handle in and keeps nothing.
class Journal {
 public:
  explicit Journal(uncopyable::File file) : file_(std::move(file)) {}

  absl::Status record(absl::string_view event) { return append_line(file_, event); }

 private:
  uncopyable::File file_;
};
// [end]

absl::StatusOr<Journal> open_journal(const uncopyable::FileConfig& config) {
  // [guide:lend-then-give]
  absl::StatusOr<uncopyable::File> log = uncopyable::rebuild(config);
  if (!log.ok()) return log.status();
  if (absl::Status s = append_line(*log, "opened"); !s.ok()) return s;  // lent
  Journal journal(*std::move(log));  // given: `log` now holds a moved-from File
  // [end]
  return journal;
}

std::string contents(const std::string& path) {
  absl::StatusOr<uncopyable::File> file = uncopyable::rebuild(uncopyable::FileConfig{.path = path});
  EXPECT_TRUE(file.ok()) << file.status();
  std::string text(4096, '\0');
  absl::StatusOr<size_t> got = file->read(absl::MakeSpan(text));
  EXPECT_TRUE(got.ok()) << got.status();
  text.resize(got.ok() ? *got : 0);
  return text;
}

class NeverCopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    enter_scratch_directory();
    ::unlink(config_.path.c_str());
  }
  const uncopyable::FileConfig config_{
      .path = "journal.log", .access = uncopyable::FileAccess::write, .create = true,
      .append = true};
};

TEST_F(NeverCopyTest, LendingLeavesTheHandleWithItsOwner) {
  absl::StatusOr<uncopyable::File> log = uncopyable::rebuild(config_);
  ASSERT_TRUE(log.ok()) << log.status();
  const int number = log->fd().get();
  ASSERT_TRUE(append_line(*log, "one").ok());
  EXPECT_FALSE(is_terminal(log->fd()));
  // Still open, still the same descriptor: nobody closed it behind our back.
  EXPECT_EQ(log->fd().get(), number);
  EXPECT_NE(::fcntl(number, F_GETFD), -1);
  ASSERT_TRUE(append_line(*log, "two").ok());
  ASSERT_TRUE(log->close().ok());
  EXPECT_EQ(contents("journal.log"), "one\ntwo\n");
}

TEST_F(NeverCopyTest, GivingMovesTheOneDescriptor) {
  absl::StatusOr<Journal> journal = open_journal(config_);
  ASSERT_TRUE(journal.ok()) << journal.status();
  ASSERT_TRUE(journal->record("started").ok());
  Journal moved = *std::move(journal);  // the Journal moves as its File does
  ASSERT_TRUE(moved.record("stopped").ok());
  EXPECT_EQ(contents("journal.log"), "opened\nstarted\nstopped\n");
}

TEST_F(NeverCopyTest, TheOpenErrorNamesThePath) {
  absl::StatusOr<Journal> journal = open_journal({.path = "no/such/dir/journal.log"});
  ASSERT_FALSE(journal.ok());
  EXPECT_NE(journal.status().message().find("no/such/dir/journal.log"), absl::string_view::npos)
      << journal.status();
}

}  // namespace
}  // namespace guide
