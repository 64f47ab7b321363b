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

std::string where() { return "test \"db\""; }

TEST(SingleUserTest, OneThreadMayNestAndReenter) {
  SingleUser user;
  {
    SingleUser::Scope outer = user.enter("Conn", "commit()", where);
    SingleUser::Scope inner = user.enter("Conn", "execute()", where);
    user.check("Conn", "get()", where);
  }
  SingleUser::Scope again = user.enter("Conn", "execute()", where);
}

TEST(SingleUserTest, ThreadsTakingTurnsAreFine) {
  SingleUser user;
  for (int i = 0; i < 4; ++i) {
    std::thread([&] { SingleUser::Scope s = user.enter("Conn", "execute()", where); }).join();
  }
  SingleUser::Scope mine = user.enter("Conn", "execute()", where);
}

// Thread A is inside a call; thread B arrives. Without the check, B would
// simply run on and the statement would not die.
void second_thread_enters_while_first_is_inside(bool check_only) {
  SingleUser user;
  absl::Notification inside;
  absl::Notification done;
  std::thread first([&] {
    SingleUser::Scope in_use = user.enter("PostgresConnection", "query()", where);
    inside.Notify();
    done.WaitForNotificationWithTimeout(absl::Seconds(10));
  });
  inside.WaitForNotification();
  if (check_only) {
    user.check("PostgresResult", "get()", where);
  } else {
    SingleUser::Scope second = user.enter("PostgresConnection", "execute()", where);
  }
  done.Notify();
  first.join();
}

TEST(SingleUserDeathTest, SecondThreadInsideACallAborts) {
  EXPECT_DEATH(second_thread_enters_while_first_is_inside(false),
               "^uncopyable: PostgresConnection::execute\\(\\) by thread [0-9]+ while thread "
               "[0-9]+ is in a call on it; a connection serves one thread at a time "
               "\\(test \"db\"\\)\n");
}

TEST(SingleUserDeathTest, CheckSeesTheOtherThread) {
  EXPECT_DEATH(second_thread_enters_while_first_is_inside(true),
               "^uncopyable: PostgresResult::get\\(\\) by thread [0-9]+ while thread [0-9]+ is in "
               "a call on it");
}

// A handle moved away from under a thread that is inside a call on it: that
// thread would go on using a resource with another owner now.
void move_while_another_thread_is_inside(bool assign) {
  SingleUser user;
  absl::Notification inside;
  absl::Notification done;
  std::thread first([&] {
    SingleUser::Scope in_use = user.enter("SqliteConnection", "execute()", where);
    inside.Notify();
    done.WaitForNotificationWithTimeout(absl::Seconds(10));
  });
  inside.WaitForNotification();
  if (assign) {
    SingleUser other;
    other = std::move(user);
  } else {
    SingleUser other(std::move(user));
  }
  done.Notify();
  first.join();
}

TEST(SingleUserDeathTest, MovingWhileAnotherThreadIsInsideAborts) {
  EXPECT_DEATH(move_while_another_thread_is_inside(false),
               "^uncopyable: a connection was moved by thread [0-9]+ while thread [0-9]+ is in a "
               "call on it; a connection serves one thread at a time\n");
  EXPECT_DEATH(move_while_another_thread_is_inside(true),
               "^uncopyable: a connection was moved by thread [0-9]+ while thread [0-9]+ is in a "
               "call on it");
}

TEST(SingleUserTest, MovingBetweenCallsIsFine) {
  SingleUser user;
  { SingleUser::Scope s = user.enter("Conn", "execute()", where); }
  SingleUser other(std::move(user));
  SingleUser::Scope s = other.enter("Conn", "execute()", where);
  SingleUser third;
  third = std::move(other);  // this thread's own call: allowed
}

}  // namespace
}  // namespace uncopyable::internal
