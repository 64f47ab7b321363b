// docs/guide.md, "Keep and copy its config": a config is a value. Take it
// from a live handle, change the copy, compare, hash, print, send it; the
// secrets in it print as ***.
#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "docs/guide/guide_testing.h"
#include "gtest/gtest.h"
#include "uncopyable/config.h"
#include "uncopyable/config_json.h"
#include "uncopyable/postgres.h"
#include "uncopyable/secret.h"
#include "uncopyable/sqlite.h"

namespace guide {
namespace {

TEST(KeepConfigTest, AConfigIsAValue) {
  enter_scratch_directory();
  absl::StatusOr<uncopyable::SqliteConnection> opened =
      uncopyable::rebuild(uncopyable::SqliteConfig{.path = "scores.db"});
  ASSERT_TRUE(opened.ok()) << opened.status();
  uncopyable::SqliteConnection& db = *opened;

  // [guide:keep-config]
  uncopyable::SqliteConfig reader = db.config();  // a copy: plain data
  reader.mode = uncopyable::SqliteMode::ro;       // changes the copy, not the connection
  bool same = reader == db.config();              // false
  absl::flat_hash_set<uncopyable::SqliteConfig> known = {db.config(), reader};
  std::string line = uncopyable::to_string(reader);  // SqliteConfig{path="scores.db", mode=ro, ...}
  std::string json = uncopyable::to_json(reader);    // {"path":"scores.db","mode":"ro",...}
  // [end]

  EXPECT_FALSE(same);
  EXPECT_EQ(db.config().mode, uncopyable::SqliteMode::rwc);  // the connection is untouched
  EXPECT_EQ(known.size(), 2u);
  EXPECT_TRUE(known.contains(db.config()));
  EXPECT_TRUE(absl::StartsWith(line, "SqliteConfig{path=\"scores.db\", mode=ro, ")) << line;
  EXPECT_TRUE(absl::StartsWith(json, R"({"path":"scores.db","mode":"ro",)")) << json;
  absl::StatusOr<uncopyable::SqliteConfig> back = uncopyable::from_json<uncopyable::SqliteConfig>(json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, reader);

  // And the copy builds what it describes: a read-only connection.
  absl::StatusOr<uncopyable::SqliteConnection> read_only = uncopyable::rebuild(reader);
  ASSERT_TRUE(read_only.ok()) << read_only.status();
  EXPECT_TRUE(db.execute("CREATE TABLE scores (player TEXT)").ok());
  EXPECT_FALSE(read_only->execute("INSERT INTO scores VALUES ('ann')").ok());
}

TEST(KeepConfigTest, SecretsPrintAsStars) {
  // [guide:secrets]
  uncopyable::PostgresConfig config{.host = "db.internal", .dbname = "tournament",
                                    .user = "app",
                                    .password = uncopyable::Secret<std::string>("s3cret")};
  std::string line = uncopyable::to_string(config);  // ..., password=***, ...
  std::string json = uncopyable::to_json(config);    // ..."password":"***",...
  std::string full = uncopyable::to_json(config, uncopyable::Secrets::kReveal);
  // [end]

  EXPECT_TRUE(absl::StrContains(line, "password=***")) << line;
  EXPECT_FALSE(absl::StrContains(line, "s3cret")) << line;
  EXPECT_TRUE(absl::StrContains(json, R"("password":"***")")) << json;
  EXPECT_FALSE(absl::StrContains(json, "s3cret")) << json;
  EXPECT_TRUE(absl::StrContains(full, R"("password":"s3cret")")) << full;

  // Only the revealed form rebuilds the same config; the safe one says why not.
  absl::StatusOr<uncopyable::PostgresConfig> back =
      uncopyable::from_json<uncopyable::PostgresConfig>(full);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, config);
  absl::StatusOr<uncopyable::PostgresConfig> redacted =
      uncopyable::from_json<uncopyable::PostgresConfig>(json);
  ASSERT_FALSE(redacted.ok());
  EXPECT_TRUE(absl::StrContains(redacted.status().message(), "***")) << redacted.status();
}

}  // namespace
}  // namespace guide
