// The pieces every message and every thread check is built from:
// internal::internal::quoted() keeps user data short and printable, and SingleUser
// catches two threads inside one connection at once.
#include <atomic>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "uncopyable/internal/quote.h"
#include "uncopyable/internal/single_user.h"

namespace uncopyable::internal {
namespace {

TEST(QuotedTest, ShortTextIsQuotedWhole) {
  EXPECT_EQ(internal::quoted("/tmp/t.db"), "\"/tmp/t.db\"");
  EXPECT_EQ(internal::quoted(""), "\"\"");
}

TEST(QuotedTest, ControlAndNonAsciiBytesAreEscaped) {
  EXPECT_EQ(internal::quoted(std::string("a\nb\"\xff\0", 6)), "\"a\\nb\\\"\\xff\\x00\"");
}

TEST(QuotedTest, LongTextIsCutAndItsLengthSaid) {
  const std::string path = std::string(10 << 20, 'a') + "/journal.db";
  const std::string text = internal::quoted(path);
  EXPECT_LT(text.size(), 300u);
  // The start and the end (the file's name) survive.
  EXPECT_TRUE(absl::StartsWith(text, "\"" + std::string(kQuotedBytes / 2, 'a') + "\"...\"a"))
      << text;
  EXPECT_TRUE(absl::EndsWith(text, "a/journal.db\" (10485771 bytes)")) << text;
}

TEST(QuotedTest, CutAtTheLimitNotBefore) {
  EXPECT_EQ(internal::quoted(std::string(kQuotedBytes, 'x')), "\"" + std::string(kQuotedBytes, 'x') + "\"");
  EXPECT_TRUE(absl::EndsWith(internal::quoted(std::string(kQuotedBytes + 1, 'x')), "(201 bytes)"));
}

TEST(ShortenedTest, ServerTextIsEscapedAndCut) {
  EXPECT_EQ(internal::shortened("ERROR: bad \x80 byte"), "ERROR: bad \\x80 byte");
  const std::string text = internal::shortened(std::string(1 << 20, 'e'));
  EXPECT_LT(text.size(), 500u);
  EXPECT_TRUE(absl::EndsWith(text, "(1048576 bytes)")) << text;
}

// A handle with only the thread rule, as a member, and `= default` moves.
struct Conn {
  static constexpr char kName[] = "Conn";
  Conn() = default;
  Conn(Conn&&) noexcept = default;
  Conn& operator=(Conn&&) noexcept = default;
  std::string resource() const { return "test \"db\""; }
  SingleUser<Conn> user{this};
};

TEST(SingleUserTest, OneThreadMayNestAndReenter) {
  Conn conn;
  {
    SingleUserScope outer = conn.user.enter("Conn", "commit()");
    SingleUserScope inner = conn.user.enter("Conn", "execute()");
    conn.user.check("Conn", "get()");
  }
  SingleUserScope again = conn.user.enter("Conn", "execute()");
}

TEST(SingleUserTest, ThreadsTakingTurnsAreFine) {
  Conn conn;
  for (int i = 0; i < 4; ++i) {
    std::thread([&] { SingleUserScope s = conn.user.enter("Conn", "execute()"); }).join();
  }
  SingleUserScope mine = conn.user.enter("Conn", "execute()");
}

// Thread A is inside a call; thread B arrives. Without the check, B would
// simply run on and the statement would not die.
void second_thread_enters_while_first_is_inside(bool check_only) {
  Conn conn;
  absl::Notification inside;
  absl::Notification done;
  std::thread first([&] {
    SingleUserScope in_use = conn.user.enter("Conn", "query()");
    inside.Notify();
    done.WaitForNotificationWithTimeout(absl::Seconds(10));
  });
  inside.WaitForNotification();
  if (check_only) {
    conn.user.check("Cursor", "get()");
  } else {
    SingleUserScope second = conn.user.enter("Conn", "execute()");
  }
  done.Notify();
  first.join();
}

TEST(SingleUserDeathTest, SecondThreadInsideACallAborts) {
  EXPECT_DEATH(second_thread_enters_while_first_is_inside(false),
               "^uncopyable: Conn::execute\\(\\) by thread [0-9]+ while thread [0-9]+ is in a "
               "call on it; a connection serves one thread at a time \\(test \"db\"\\)\n");
}

TEST(SingleUserDeathTest, CheckSeesTheOtherThread) {
  EXPECT_DEATH(second_thread_enters_while_first_is_inside(true),
               "^uncopyable: Cursor::get\\(\\) by thread [0-9]+ while thread [0-9]+ is in a call "
               "on it; a connection serves one thread at a time \\(test \"db\"\\)\n");
}

// A handle moved away from under a thread that is inside a call on it: that
// thread would go on using a resource with another owner now. The line
// names the move and the resource, found through the handle.
void move_while_another_thread_is_inside(bool assign) {
  Conn conn;
  absl::Notification inside;
  absl::Notification done;
  std::thread first([&] {
    SingleUserScope in_use = conn.user.enter("Conn", "execute()");
    inside.Notify();
    done.WaitForNotificationWithTimeout(absl::Seconds(10));
  });
  inside.WaitForNotification();
  if (assign) {
    Conn other;
    other = std::move(conn);
  } else {
    Conn other(std::move(conn));
  }
  done.Notify();
  first.join();
}

TEST(SingleUserDeathTest, MovingWhileAnotherThreadIsInsideAborts) {
  EXPECT_DEATH(move_while_another_thread_is_inside(false),
               "^uncopyable: Conn::Conn\\(Conn&&\\) by thread [0-9]+ while thread [0-9]+ is in a "
               "call on it; a connection serves one thread at a time \\(test \"db\"\\)\n");
  EXPECT_DEATH(move_while_another_thread_is_inside(true),
               "^uncopyable: Conn::operator=\\(Conn&&\\) by thread [0-9]+ while thread [0-9]+ is "
               "in a call on it; a connection serves one thread at a time \\(test \"db\"\\)\n");
}

TEST(SingleUserTest, MovingBetweenCallsIsFine) {
  Conn conn;
  { SingleUserScope s = conn.user.enter("Conn", "execute()"); }
  Conn other(std::move(conn));
  SingleUserScope s = other.user.enter("Conn", "execute()");
  Conn third;
  third = std::move(other);  // this thread's own call: allowed
}

}  // namespace
}  // namespace uncopyable::internal
