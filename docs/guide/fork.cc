// docs/guide.md, "Never carry a connection across fork": the child builds
// its own connection from the parent's config. (What happens when it uses
// the parent's instead is in checks_death_test.cc.)
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "docs/guide/guide_testing.h"
#include "gtest/gtest.h"
#include "uncopyable/sqlite.h"

namespace guide {
namespace {

// Records a run from a child process; returns the child's pid, or an error.
absl::StatusOr<pid_t> record_in_child(const uncopyable::SqliteConnection& db) {
  // [guide:fork]
  const uncopyable::SqliteConfig config = db.config();  // data: fine on both sides
  const pid_t child = ::fork();
  if (child == 0) {
    // `db` belongs to the parent. The child opens its own, from the config:
    absl::StatusOr<uncopyable::SqliteConnection> own = uncopyable::rebuild(config);
    const bool ok = own.ok() && own->execute("INSERT INTO runs VALUES ('child')").ok() &&
                    own->close().ok();
    ::_exit(ok ? 0 : 1);
  }
  // [end]
  if (child < 0) return absl::ErrnoToStatus(errno, "fork");
  return child;
}

int64_t count_runs(uncopyable::SqliteConnection& db) {
  absl::StatusOr<uncopyable::Statement> count = db.prepare("SELECT count(*) FROM runs");
  EXPECT_TRUE(count.ok()) << count.status();
  absl::StatusOr<bool> row = count->step();
  EXPECT_TRUE(row.ok() && *row) << row.status();
  return count->get_int64(0);
}

TEST(ForkTest, TheChildRebuildsItsOwnConnection) {
  enter_scratch_directory();
  ::unlink("runs.db");
  absl::StatusOr<uncopyable::SqliteConnection> db =
      uncopyable::rebuild(uncopyable::SqliteConfig{.path = "runs.db"});
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE(db->execute("CREATE TABLE runs (who TEXT); INSERT INTO runs VALUES ('parent')").ok());

  absl::StatusOr<pid_t> child = record_in_child(*db);
  ASSERT_TRUE(child.ok()) << child.status();
  int status = 0;
  ASSERT_EQ(::waitpid(*child, &status, 0), *child);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);

  // The parent's connection is untouched by the child, and sees its row.
  EXPECT_EQ(count_runs(*db), 2);
  EXPECT_TRUE(db->close().ok());
}

}  // namespace
}  // namespace guide
