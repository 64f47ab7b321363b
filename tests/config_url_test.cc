#include "uncopyable/config_url.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/config_generator.h"
#include "tests/testing/example_configs.h"

namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing_configs::ConfigGenerator;
using testing_configs::DbConfig;
using testing_configs::OpenMode;
using testing_configs::SslMode;
using testing_configs::StoreConfig;
using uncopyable::from_url;
using uncopyable::Secret;
using uncopyable::Secrets;
using uncopyable::to_url;

static_assert(uncopyable::HasUrlForm<DbConfig>);
static_assert(!uncopyable::HasUrlForm<testing_configs::Everything>);

DbConfig shop() {
  return DbConfig{.host = "db.internal",
                  .port = 5433,
                  .dbname = "shop",
                  .user = "ann",
                  .password = Secret<std::string>("s3cret"),
                  .sslmode = SslMode::require,
                  .connect_timeout = absl::Seconds(5),
                  .application_name = ""};
}

std::string db_error(absl::string_view url) {
  absl::StatusOr<DbConfig> parsed = from_url<DbConfig>(url);
  EXPECT_FALSE(parsed.ok()) << url;
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(parsed.status().message());
}

TEST(ConfigUrlTest, ReadsEveryPart) {
  absl::StatusOr<DbConfig> parsed = from_url<DbConfig>(
      "postgresql://ann:s3cret@db.internal:5433/shop?sslmode=require&connect_timeout=5");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, shop());
}

TEST(ConfigUrlTest, WritesOnlyWhatDiffersFromTheDefault) {
  EXPECT_EQ(to_url(shop(), Secrets::kReveal),
            "postgresql://ann:s3cret@db.internal:5433/shop?sslmode=require&connect_timeout=5s");
  EXPECT_EQ(to_url(DbConfig{.dbname = "x"}), "postgresql://localhost:5432/x");
}

TEST(ConfigUrlTest, PasswordIsRedactedUnlessRevealed) {
  EXPECT_EQ(to_url(shop()),
            "postgresql://ann:***@db.internal:5433/shop?sslmode=require&connect_timeout=5s");
  EXPECT_THAT(db_error(to_url(shop())),
              HasSubstr("DbConfig.password: holds the redaction mark \"***\""));
}

TEST(ConfigUrlTest, PercentEncodingRoundTrips) {
  DbConfig config = shop();
  config.user = "a@b:c/d";
  config.password = Secret<std::string>("p@ss:w/rd?#&= %");
  config.dbname = "my db/2?";
  config.application_name = "tool & co=1+2";
  const std::string url = to_url(config, Secrets::kReveal);
  EXPECT_EQ(url,
            "postgresql://a%40b%3Ac%2Fd:p%40ss%3Aw%2Frd%3F%23%26%3D%20%25@db.internal:5433/"
            "my%20db%2F2%3F?sslmode=require&connect_timeout=5s&application_name=tool%20%26%20co%3D1%2B2");
  absl::StatusOr<DbConfig> back = from_url<DbConfig>(url);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, config);
}

TEST(ConfigUrlTest, Ipv6LiteralsGoInBrackets) {
  DbConfig config = shop();
  config.host = "::1";
  EXPECT_THAT(to_url(config), HasSubstr("@[::1]:5433/"));
  absl::StatusOr<DbConfig> back = from_url<DbConfig>("postgresql://[2001:db8::7]:6000/shop");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->host, "2001:db8::7");
  EXPECT_EQ(back->port, 6000);
  EXPECT_THAT(db_error("postgresql://[::zz]/shop"), HasSubstr("DbConfig: not a valid URL"));
}

TEST(ConfigUrlTest, SocketDirectoryHostIsEncoded) {
  DbConfig config{.host = "/run/postgresql", .dbname = "shop"};
  const std::string url = to_url(config);
  EXPECT_EQ(url, "postgresql://%2Frun%2Fpostgresql:5432/shop");
  absl::StatusOr<DbConfig> back = from_url<DbConfig>(url);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, config);
}

TEST(ConfigUrlTest, PathFormKeepsTheWholePath) {
  const StoreConfig absolute{.path = "/tmp/t.db", .mode = OpenMode::ro};
  EXPECT_EQ(to_url(absolute), "store:///tmp/t.db?mode=ro");
  const StoreConfig relative{.path = "data/t.db"};
  EXPECT_EQ(to_url(relative), "store:data/t.db");
  const StoreConfig memory{.path = ":memory:"};
  EXPECT_EQ(to_url(memory), "store::memory:");
  for (const StoreConfig& config : {absolute, relative, memory,
                                    StoreConfig{.path = "//odd/./path/../"},
                                    StoreConfig{.path = "/./x"}}) {
    absl::StatusOr<StoreConfig> back = from_url<StoreConfig>(to_url(config));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, config) << to_url(config);
  }
  absl::StatusOr<StoreConfig> plain = from_url<StoreConfig>("store:/tmp/t.db");
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->path, "/tmp/t.db");
}

TEST(ConfigUrlTest, PropertyRoundTripOfGeneratedConfigs) {
  for (uint64_t seed : {11u, 12u, 13u}) {
    ConfigGenerator generator(seed);
    for (int i = 0; i < 300; ++i) {
      const DbConfig db = generator.db();
      const std::string url = to_url(db, Secrets::kReveal);
      absl::StatusOr<DbConfig> back = from_url<DbConfig>(url);
      ASSERT_TRUE(back.ok()) << back.status() << "\nseed " << seed << " case " << i << ": " << url;
      ASSERT_EQ(*back, db) << "seed " << seed << " case " << i << ": " << url;

      const StoreConfig store = generator.store();
      const std::string store_url = to_url(store);
      absl::StatusOr<StoreConfig> store_back = from_url<StoreConfig>(store_url);
      ASSERT_TRUE(store_back.ok()) << store_back.status() << " seed " << seed << ": " << store_url;
      ASSERT_EQ(*store_back, store) << "seed " << seed << " case " << i << ": " << store_url;
    }
  }
}

TEST(ConfigUrlTest, BadInputIsNamed) {
  EXPECT_EQ(db_error("mysql://h/shop"), "DbConfig: URL scheme must be postgresql, got \"mysql\"");
  EXPECT_EQ(db_error("postgresql://h/shop?sslmod=require"),
            "DbConfig: unknown URL parameter \"sslmod\" (parameters: sslmode, connect_timeout, "
            "application_name)");
  EXPECT_EQ(db_error("postgresql://h/shop?port=1"),
            "DbConfig: unknown URL parameter \"port\" (parameters: sslmode, connect_timeout, "
            "application_name)");
  EXPECT_EQ(db_error("postgresql://h/shop?sslmode=require&sslmode=disable"),
            "DbConfig: URL parameter \"sslmode\" given twice");
  EXPECT_EQ(db_error("postgresql://h/shop?sslmode"),
            "DbConfig: URL parameter \"sslmode\" has no value");
  EXPECT_EQ(db_error("postgresql://h/shop#top"),
            "DbConfig: a URL fragment (#...) has no meaning here");
  EXPECT_EQ(db_error("postgresql://h:70000/shop"),
            "DbConfig.port: 70000 is out of range [0, 65535]");
  EXPECT_EQ(db_error("postgresql://h:0/shop"),
            "DbConfig.port: 0 is out of range [1, 65535]");
  EXPECT_EQ(db_error("postgresql://h/shop?sslmode=maybe"),
            "DbConfig.sslmode: \"maybe\" is not one of disable, prefer, require, verify_full");
  EXPECT_EQ(db_error("postgresql://h/shop?connect_timeout=-1s"),
            "DbConfig.connect_timeout: -1s is negative");
  EXPECT_EQ(db_error("postgresql://h"), "DbConfig.dbname: required field is missing");
  EXPECT_EQ(db_error("postgresql://h/"), "DbConfig.dbname: required field is missing");
  EXPECT_THAT(db_error("postgresql://h/sh%zzop"), HasSubstr("DbConfig: not a valid URL"));
  EXPECT_THAT(db_error("not a url"), HasSubstr("DbConfig: not a valid URL"));
  EXPECT_THAT(db_error(""), HasSubstr("DbConfig: not a valid URL"));
  EXPECT_EQ(db_error("store:///x"), "DbConfig: URL scheme must be postgresql, got \"store\"");
  EXPECT_EQ(from_url<StoreConfig>("store://u:p@/x").status().message(),
            "StoreConfig: a user name has no meaning in this URL");
  EXPECT_EQ(from_url<StoreConfig>("store://host/x").status().message(),
            "StoreConfig: a host has no meaning in this URL");
}

// Inputs the fuzzer found that Boost.URL 1.81 gets wrong: "host:word" taken
// as host, empty port and path; an empty query before a fragment overruns.
TEST(ConfigUrlTest, BoostUrlPitfallsAreCaught) {
  EXPECT_EQ(db_error("postgresql://ann:estors3cretus?#inuonet=c:"),
            "DbConfig: not a valid URL (after host:port the path must start with '/')");
  EXPECT_EQ(db_error("postgresql://h:5432shop"),
            "DbConfig: not a valid URL (after host:port the path must start with '/')");
  EXPECT_EQ(db_error("postgresql://h/shop?#frag"),
            "DbConfig: a URL fragment (#...) has no meaning here");
  absl::StatusOr<DbConfig> trailing = from_url<DbConfig>("postgresql://h/shop?");
  ASSERT_TRUE(trailing.ok()) << trailing.status();
  EXPECT_EQ(trailing->dbname, "shop");
}

TEST(ConfigUrlTest, ErrorsNeverQuoteThePassword) {
  for (const char* url : {"postgresql://ann:hunter2@h:99999/shop",
                          "postgresql://ann:hunter2@h/shop?bogus=1",
                          "postgresql://ann:hunter2@[bad/shop",
                          "postgresql://ann:hunter2@h/shop#frag",
                          "mysql://ann:hunter2@h/shop"}) {
    EXPECT_THAT(db_error(url), Not(HasSubstr("hunter2"))) << url;
  }
}

TEST(ConfigUrlTest, HostileUrlsEndInErrorsNotCrashes) {
  const std::string long_param(100000, 'p');
  EXPECT_LT(db_error("postgresql://h/shop?" + long_param + "=1").size(), 400u);
  EXPECT_EQ(db_error("postgresql://h/shop?application_name=a%00b"),
            "DbConfig: %00 (a NUL byte) is not allowed in a URL");
  EXPECT_EQ(db_error("postgresql://h/sh%00op"),
            "DbConfig: %00 (a NUL byte) is not allowed in a URL");
  // A literal '+' is a plus sign, as written.
  absl::StatusOr<DbConfig> plus = from_url<DbConfig>("postgresql://h/shop?application_name=a+b");
  ASSERT_TRUE(plus.ok()) << plus.status();
  EXPECT_EQ(plus->application_name, "a+b");
  std::string many = "postgresql://h/shop?";
  for (int i = 0; i < 10000; ++i) many += "sslmode=require&";
  EXPECT_THAT(db_error(many), HasSubstr("given twice"));
}

}  // namespace
