// The rule members of internal/rules.h, on a toy handle that holds all of
// them and writes no move of its own: what they allow, what they abort on
// (the line in the one grammar of check.h), and the message helpers of
// internal/message.h.
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/cord.h"
#include "gtest/gtest.h"
#include "uncopyable/internal/message.h"
#include "uncopyable/internal/rules.h"

namespace uncopyable::internal {
namespace {

// A handle with every rule as a member and `= default` moves, as the
// library's handles are written.
class Widget {
 public:
  static constexpr char kName[] = "Widget";
  static constexpr char kBorrowers[] = "Gadget(s) on it";

  explicit Widget(std::string label) : label_(std::move(label)) {}
  Widget(Widget&&) noexcept = default;
  Widget& operator=(Widget&&) noexcept = default;
  ~Widget() { check_move(*this, Moment::kDestruction); }

  std::string resource() const { return "widget \"" + label_ + "\""; }
  const std::string& label() const { return label_; }
  void hold() { held_ = true; }
  void let_go() { held_ = false; }
  void use(const char* operation) const { process_.check(*this, operation); }
  void close() { lender_.require_none("close()"); }
  int borrowers() const { return lender_.count(); }

  static void check_move(const Widget& widget, Moment moment) {
    if (widget.held_) {
      misuse_on(kName, operation_at<Widget>(moment).c_str(), widget.resource(), "while held");
    }
  }

 private:
  friend struct BorrowTraits<Widget>;
  MoveGuard<Widget> guard_{this};
  Lender<Widget> lender_{this};
  std::string label_;
  bool held_ = false;
  ProcessBound process_;
};

// A borrower of a Widget, also with `= default` moves.
class Gadget {
 public:
  explicit Gadget(Widget* widget) : widget_(widget) {}
  Widget* widget() const { return widget_.get(); }
  void done() { widget_.give_back(); }

 private:
  Borrowed<Widget> widget_;
};

TEST(RulesTest, MembersFindTheirHandleAfterEveryMove) {
  std::vector<Widget> widgets;
  for (int i = 0; i < 100; ++i) widgets.emplace_back(std::to_string(i));  // moves as it grows
  Widget last = std::move(widgets.back());
  widgets.pop_back();
  Widget assigned("x");
  assigned = std::move(last);
  // The guard reads the moved-to handle: held, it refuses to move.
  assigned.hold();
  EXPECT_DEATH({ Widget moved = std::move(assigned); },
               "^uncopyable: Widget::Widget\\(Widget&&\\) while held \\(widget \"99\"\\)\n");
  assigned.let_go();
  EXPECT_EQ(widgets[42].resource(), "widget \"42\"");
}

TEST(RulesTest, BorrowersAreCountedAndGiveBackOnceWhateverMoves) {
  Widget widget("w");
  {
    Gadget first(&widget);
    EXPECT_EQ(widget.borrowers(), 1);
    Gadget second = std::move(first);  // still one borrow
    EXPECT_EQ(widget.borrowers(), 1);
    EXPECT_EQ(second.widget(), &widget);
    EXPECT_EQ(first.widget(), nullptr);  // NOLINT(bugprone-use-after-move)
    Gadget third(&widget);
    EXPECT_EQ(widget.borrowers(), 2);
    third = std::move(second);  // third's own borrow is given back
    EXPECT_EQ(widget.borrowers(), 1);
    third.done();
    EXPECT_EQ(widget.borrowers(), 0);
    third.done();  // giving back twice gives back once
    EXPECT_EQ(widget.borrowers(), 0);
  }
  EXPECT_EQ(widget.borrowers(), 0);
  Widget moved = std::move(widget);  // no borrower: fine
  moved.close();
}

TEST(RulesDeathTest, MovingAHandleWithABorrowerAborts) {
  Widget widget("w");
  Gadget gadget(&widget);
  EXPECT_DEATH({ Widget moved = std::move(widget); },
               "^uncopyable: Widget::Widget\\(Widget&&\\) while 1 Gadget\\(s\\) on it is "
               "alive; they must end first \\(widget \"w\"\\)\n");
}

TEST(RulesDeathTest, AssigningToOrFromAHandleWithBorrowersAborts) {
  Widget lender("lender");
  Widget other("other");
  Gadget a(&lender);
  Gadget b(&lender);
  EXPECT_DEATH(other = std::move(lender),
               "^uncopyable: Widget::operator=\\(Widget&&\\) while 2 Gadget\\(s\\) on it are "
               "alive; they must end first \\(widget \"lender\"\\)\n");
  EXPECT_DEATH(lender = std::move(other),
               "^uncopyable: Widget::operator=\\(Widget&&\\) while 2 .* \\(widget \"lender\"\\)");
}

TEST(RulesDeathTest, DestroyingOrClosingAHandleWithABorrowerAborts) {
  EXPECT_DEATH(
      {
        std::optional<Widget> widget(std::in_place, "w");
        Gadget gadget(&*widget);
        widget.reset();
      },
      "^uncopyable: Widget::~Widget\\(\\) while 1 Gadget\\(s\\) on it is alive");
  Widget widget("w");
  Gadget gadget(&widget);
  EXPECT_DEATH(widget.close(), "^uncopyable: Widget::close\\(\\) while 1 Gadget");
  gadget.done();
  widget.close();
}

TEST(RulesDeathTest, AssigningToAHeldHandleAbortsAsMovingOneDoes) {
  Widget held("h");
  held.hold();
  EXPECT_DEATH(held = Widget("new"),
               "^uncopyable: Widget::operator=\\(Widget&&\\) while held \\(widget \"h\"\\)");
  EXPECT_DEATH({ Widget gone("g"); gone.hold(); },
               "^uncopyable: Widget::~Widget\\(\\) while held \\(widget \"g\"\\)");
  held.let_go();
}

TEST(RulesTest, ProcessBoundTellsAForkedChild) {
  Widget widget("w");
  widget.use("use()");  // the process it was made in
  Widget moved = std::move(widget);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The moved handle still belongs to the parent; this aborts (SIGABRT).
    moved.use("use()");
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << status;
  EXPECT_EQ(WTERMSIG(status), SIGABRT);
}

TEST(RulesDeathTest, ProcessBoundLineNamesTheHandle) {
  Widget widget("w");
  EXPECT_DEATH(
      {
        if (::fork() == 0) {
          widget.use("use()");
          ::_exit(0);
        }
        ::wait(nullptr);
        ::abort();  // the parent: make the expected line come from the child only
      },
      "uncopyable: Widget::use\\(\\) in a fork\\(\\)ed child on what its parent made; the "
      "child must rebuild\\(\\) its own from config\\(\\) \\(widget \"w\"\\)");
}

TEST(RulesTest, KeptSurvivesASelfMoveAndMovesOtherwise) {
  Kept<std::string> retired(std::string(100, 'x'));  // longer than the small-string buffer
  Kept<std::string>& alias = retired;
  retired = std::move(alias);
  EXPECT_EQ(retired, std::string(100, 'x'));
  Kept<std::string> other;
  other = std::move(retired);
  EXPECT_EQ(other, std::string(100, 'x'));
  other = "plain assignment";
  EXPECT_EQ(other, "plain assignment");
  Kept<std::vector<int>> numbers;
  numbers.push_back(3);
  Kept<std::vector<int>>& same = numbers;
  numbers = std::move(same);
  EXPECT_EQ(numbers.size(), 1u);
}

TEST(MessageTest, ErrorsReadOperationResourceWhat) {
  const absl::Status error = error_on(absl::StatusCode::kNotFound, "open", "file \"/t\"", "gone");
  EXPECT_EQ(error, absl::NotFoundError("open file \"/t\": gone"));
  EXPECT_EQ(errno_error_on(ENOSPC, "write", "file \"/t\"", "after 4 of 8 bytes"),
            absl::ResourceExhaustedError(
                "write file \"/t\": after 4 of 8 bytes: No space left on device [ENOSPC]"));
  EXPECT_EQ(errno_error_on(ENOENT, "open", "file \"/t\""),
            absl::NotFoundError("open file \"/t\": No such file or directory [ENOENT]"));
  EXPECT_EQ(status_on(absl::UnavailableError("down"), "commit", "sqlite \"a\""),
            absl::UnavailableError("commit sqlite \"a\": down"));
  EXPECT_TRUE(status_on(absl::OkStatus(), "commit", "sqlite \"a\"").ok());
  // Payloads (a database's own error code) travel on.
  absl::Status coded = absl::AbortedError("x");
  coded.SetPayload("type.test/code", absl::Cord("23505"));
  EXPECT_EQ(status_on(coded, "commit", "db").GetPayload("type.test/code"), absl::Cord("23505"));
}

TEST(MisuseOnDeathTest, OneShapeAndNoParenthesesWithoutAResource) {
  EXPECT_DEATH(misuse_on("File", "read()", "file \"/t\"", "on a %s handle", "closed"),
               "^uncopyable: File::read\\(\\) on a closed handle \\(file \"/t\"\\)\n");
  EXPECT_DEATH(misuse_on("Fd", "get()", "", "on a moved-from handle"),
               "^uncopyable: Fd::get\\(\\) on a moved-from handle\n");
}

}  // namespace
}  // namespace uncopyable::internal
