#include "uncopyable/config_json.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/config_generator.h"
#include "tests/testing/example_configs.h"
#include "uncopyable/file.h"

namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing_configs::ConfigGenerator;
using testing_configs::DbConfig;
using testing_configs::Everything;
using uncopyable::from_json;
using uncopyable::Secret;
using uncopyable::Secrets;
using uncopyable::to_json;

Everything sample() {
  Everything c;
  c.name = "svc";
  c.token = Secret<std::string>("hunter2");
  c.tags = {"a"};
  return c;
}

std::string error_of(absl::string_view json) {
  absl::StatusOr<Everything> parsed = from_json<Everything>(json);
  EXPECT_FALSE(parsed.ok()) << json;
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(parsed.status().message());
}

TEST(ConfigJsonTest, WritesFieldsInOrderWithSecretsRedacted) {
  EXPECT_EQ(to_json(sample()),
            "{\"name\":\"svc\",\"enabled\":true,\"offset\":-5,\"port\":8080,\"big\":1,"
            "\"ratio\":5E-1,\"color\":\"green\",\"timeout\":\"1.5s\",\"token\":\"***\","
            "\"limit\":null,\"tags\":[\"a\"],\"retry\":{\"attempts\":3,\"backoff\":\"100ms\"},"
            "\"peer\":\"tcp://127.0.0.1:80\"}");
}

TEST(ConfigJsonTest, RoundTripsWithSecretsRevealed) {
  const Everything original = sample();
  absl::StatusOr<Everything> back = from_json<Everything>(to_json(original, Secrets::kReveal));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, original);
  EXPECT_EQ(back->token.reveal(), "hunter2");
}

TEST(ConfigJsonTest, PropertyRoundTripOfGeneratedConfigs) {
  for (uint64_t seed : {1u, 2u, 3u}) {
    ConfigGenerator generator(seed);
    for (int i = 0; i < 300; ++i) {
      const Everything everything = generator.everything();
      const std::string json = to_json(everything, Secrets::kReveal);
      absl::StatusOr<Everything> back = from_json<Everything>(json);
      ASSERT_TRUE(back.ok()) << back.status() << "\nseed " << seed << " case " << i << ": " << json;
      ASSERT_EQ(*back, everything) << "seed " << seed << " case " << i << ": " << json;

      const DbConfig db = generator.db();
      absl::StatusOr<DbConfig> db_back = from_json<DbConfig>(to_json(db, Secrets::kReveal));
      ASSERT_TRUE(db_back.ok()) << db_back.status() << " seed " << seed << " case " << i;
      ASSERT_EQ(*db_back, db) << "seed " << seed << " case " << i;
    }
  }
}

TEST(ConfigJsonTest, AbsentFieldsTakeTheirDefaults) {
  absl::StatusOr<Everything> parsed = from_json<Everything>(R"({"name": "only"})");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  Everything expected;
  expected.name = "only";
  EXPECT_EQ(*parsed, expected);
  absl::StatusOr<Everything> nested = from_json<Everything>(R"({"name": "n", "retry": {}})");
  ASSERT_TRUE(nested.ok()) << nested.status();
  EXPECT_EQ(nested->retry.attempts, 3);
}

TEST(ConfigJsonTest, MissingRequiredFieldIsNamed) {
  EXPECT_EQ(error_of("{}"), "Everything.name: required field is missing");
}

TEST(ConfigJsonTest, UnknownFieldIsNamedWithTheKnownOnes) {
  EXPECT_EQ(error_of(R"({"name": "n", "nmae": 1})"),
            "Everything: unknown field \"nmae\" (fields: name, enabled, offset, port, big, "
            "ratio, color, timeout, token, limit, tags, retry, peer)");
  EXPECT_EQ(error_of(R"({"name": "n", "retry": {"tries": 1}})"),
            "Everything.retry: unknown field \"tries\" (fields: attempts, backoff)");
}

TEST(ConfigJsonTest, WrongTypesAreNamed) {
  EXPECT_EQ(error_of(R"({"name": 5})"), "Everything.name: expected a string, got an integer");
  EXPECT_EQ(error_of(R"({"name": "n", "enabled": "yes"})"),
            "Everything.enabled: expected a boolean, got a string");
  EXPECT_EQ(error_of(R"({"name": "n", "port": 80.5})"),
            "Everything.port: expected an integer, got a number");
  EXPECT_EQ(error_of(R"({"name": "n", "port": null})"),
            "Everything.port: expected an integer, got null");
  EXPECT_EQ(error_of(R"({"name": "n", "ratio": "half"})"),
            "Everything.ratio: expected a number, got a string");
  EXPECT_EQ(error_of(R"({"name": "n", "timeout": 5})"),
            "Everything.timeout: expected a string, got an integer");
  EXPECT_EQ(error_of(R"({"name": "n", "tags": "a"})"),
            "Everything.tags: expected an array, got a string");
  EXPECT_EQ(error_of(R"({"name": "n", "tags": ["a", 1]})"),
            "Everything.tags[1]: expected a string, got an integer");
  EXPECT_EQ(error_of(R"({"name": "n", "retry": []})"),
            "Everything.retry: expected an object, got an array");
  EXPECT_EQ(error_of(R"({"name": "n", "limit": "7"})"),
            "Everything.limit: expected an integer, got a string");
  EXPECT_EQ(error_of("[]"), "Everything: expected an object, got an array");
}

TEST(ConfigJsonTest, BadValuesAreNamed) {
  EXPECT_EQ(error_of(R"({"name": "n", "port": 70000})"),
            "Everything.port: 70000 is out of range [0, 65535]");
  EXPECT_EQ(error_of(R"({"name": "n", "port": -1})"),
            "Everything.port: \"-1\" is not a non-negative integer");
  EXPECT_EQ(error_of(R"({"name": "n", "color": "purple"})"),
            "Everything.color: \"purple\" is not one of red, green, blue");
  EXPECT_EQ(error_of(R"({"name": "n", "timeout": "soon"})"),
            "Everything.timeout: \"soon\" is not a duration (write it like \"1.5s\", \"250ms\" "
            "or \"2m\")");
  EXPECT_EQ(error_of(R"({"name": "n", "retry": {"backoff": "1x"}})"),
            "Everything.retry.backoff: \"1x\" is not a duration (write it like \"1.5s\", "
            "\"250ms\" or \"2m\")");
  EXPECT_EQ(error_of(R"({"name": "n", "peer": "http://x"})"),
            "Everything.peer: Endpoint: scheme must be tcp, unix or unix-abstract, got \"http\"");
}

TEST(ConfigJsonTest, ParsedConfigsAreValidated) {
  EXPECT_EQ(error_of(R"({"name": ""})"), "Everything.name: must not be empty");
  EXPECT_EQ(error_of(R"({"name": "n", "timeout": "-1s"})"), "Everything.timeout: -1s is negative");
}

TEST(ConfigJsonTest, BrokenJsonSaysWhere) {
  EXPECT_THAT(error_of(R"({"name": "n",)"), HasSubstr("Everything: invalid JSON at byte"));
  EXPECT_THAT(error_of(R"({"name": "n"} trailing)"),
              HasSubstr("Everything: invalid JSON at byte 14"));
  EXPECT_THAT(error_of(""), HasSubstr("Everything: invalid JSON at byte 0"));
  EXPECT_THAT(error_of(std::string(100, '[') + std::string(100, ']')),
              HasSubstr("Everything: invalid JSON at byte 32"));
}

TEST(ConfigJsonTest, HostileKeysAreCutShortInMessages) {
  const std::string key(10000, 'k');
  const std::string message = error_of("{\"name\": \"n\", \"" + key + "\": 1}");
  EXPECT_LT(message.size(), 400u);
  EXPECT_THAT(message, HasSubstr("(10000 bytes)"));
}

// Boost.JSON keeps the last of duplicate keys; a config reader must not:
// {"path":"/tmp/x","path":"/etc/shadow"} is neither path.
TEST(ConfigJsonTest, AKeyGivenTwiceIsRefusedAtAnyDepth) {
  absl::StatusOr<uncopyable::FileConfig> file =
      from_json<uncopyable::FileConfig>(R"({"path":"/tmp/x","path":"/etc/shadow"})");
  EXPECT_EQ(file.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(file.status().message(),
            "FileConfig: duplicate key \"path\" (each may be given once)");
  EXPECT_EQ(error_of(R"({"name": "a", "enabled": true, "name": "b"})"),
            "Everything: duplicate key \"name\" (each may be given once)");
  EXPECT_EQ(error_of(R"({"name": "n", "retry": {"attempts": 1, "attempts": 2}})"),
            "Everything.retry: duplicate key \"attempts\" (each may be given once)");
  // Unknown keys are not read, but are not given twice either.
  EXPECT_EQ(error_of(R"({"name": "n", "x": {"y": 1, "y": 1}})"),
            "Everything.x: duplicate key \"y\" (each may be given once)");
  EXPECT_EQ(error_of(R"({"name": "n", "tags": ["a", {}, {"k": 1, "k": 2}]})"),
            "Everything.tags[2]: duplicate key \"k\" (each may be given once)");
  // A hostile key is cut short here too.
  const std::string key(10000, 'k');
  const std::string message = error_of("{\"" + key + "\": 1, \"" + key + "\": 2}");
  EXPECT_LT(message.size(), 400u);
  EXPECT_THAT(message, HasSubstr("(10000 bytes)"));
}

// Configs in configs, in lists: each object has its own keys.
struct Pair {
  UNCOPYABLE_CONFIG(Pair, left, right, more)
  testing_configs::Retry left{};
  testing_configs::Retry right{};
  std::vector<testing_configs::Retry> more{};
  absl::Status validate() const { return absl::OkStatus(); }
};

TEST(ConfigJsonTest, TheSameKeyInSiblingObjectsIsFine) {
  absl::StatusOr<Pair> pair = from_json<Pair>(
      R"({"left": {"attempts": 1}, "right": {"attempts": 2},
          "more": [{"attempts": 3}, {"attempts": 4, "backoff": "1s"}]})");
  ASSERT_TRUE(pair.ok()) << pair.status();
  EXPECT_EQ(pair->right.attempts, 2);
  EXPECT_EQ(pair->more[1].attempts, 4);
  EXPECT_EQ(from_json<Pair>(R"({"more": [{"attempts": 3}, {"attempts": 4, "attempts": 5}]})")
                .status()
                .message(),
            "Pair.more[1]: duplicate key \"attempts\" (each may be given once)");
}

TEST(ConfigJsonTest, RedactedSecretDoesNotReadBackAsASecret) {
  EXPECT_EQ(error_of(to_json(sample())),
            "Everything.token: holds the redaction mark \"***\", not a secret: export with "
            "Secrets::kReveal to carry secrets");
}

TEST(ConfigJsonTest, ErrorsNeverQuoteASecret) {
  // A secret of the wrong type is reported without its value.
  EXPECT_THAT(error_of(R"({"name": "n", "token": ["hunter2"]})"),
              Not(HasSubstr("hunter2")));
}

}  // namespace
