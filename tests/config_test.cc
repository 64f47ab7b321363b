// The generic config machinery, shown on test-only configs: regular value
// type, hashing, printing, rules, text forms of fields.
#include "uncopyable/config.h"

#include <sstream>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/config_generator.h"
#include "tests/testing/example_configs.h"

namespace {

using ::testing::HasSubstr;
using testing_configs::Color;
using testing_configs::ConfigGenerator;
using testing_configs::DbConfig;
using testing_configs::Everything;
using testing_configs::Retry;
using uncopyable::Secret;

static_assert(uncopyable::Config<Everything>);
static_assert(uncopyable::Config<DbConfig>);
static_assert(std::regular<Everything>);
static_assert(uncopyable::config_name<Everything>() == "Everything");
static_assert(uncopyable::has_field<Everything>("timeout"));
static_assert(!uncopyable::has_field<Everything>("timeouts"));
static_assert(uncopyable::is_required<Everything>("name"));
static_assert(!uncopyable::is_required<Everything>("port"));

// A sink for AbslStringify, which this Abseil's StrCat does not call yet.
struct StringSink {
  void Append(absl::string_view text) { out.append(text.data(), text.size()); }
  void Append(size_t count, char c) { out.append(count, c); }
  std::string out;
};

template <typename T>
std::string stringify(const T& value) {
  StringSink sink;
  AbslStringify(sink, value);
  return sink.out;
}

Everything sample() {
  Everything c;
  c.name = "say \"hi\"";
  c.token = Secret<std::string>("hunter2");
  c.limit = 7;
  c.tags = {"a", "b"};
  return c;
}

constexpr char kSamplePrinted[] =
    "Everything{name=\"say \\\"hi\\\"\", enabled=true, offset=-5, port=8080, big=1, "
    "ratio=0.5, color=green, timeout=1.5s, token=***, limit=7, tags=[\"a\", \"b\"], "
    "retry=Retry{attempts=3, backoff=100ms}, peer=tcp://127.0.0.1:80}";

TEST(ConfigTest, PrintsEveryFieldByName) {
  EXPECT_EQ(uncopyable::to_string(sample()), kSamplePrinted);
}

TEST(ConfigTest, EveryPrintingPathAgrees) {
  std::ostringstream stream;
  stream << sample();
  EXPECT_EQ(stream.str(), kSamplePrinted);
  EXPECT_EQ(stringify(sample()), kSamplePrinted);
  EXPECT_EQ(::testing::PrintToString(sample()), kSamplePrinted);
}

TEST(ConfigTest, EmptyOptionalPrintsAsNone) {
  Everything c = sample();
  c.limit.reset();
  EXPECT_THAT(uncopyable::to_string(c), HasSubstr("limit=none"));
}

TEST(ConfigTest, EnumsPrintByNameAndUnknownValuesByNumber) {
  EXPECT_EQ(uncopyable::enum_name(Color::blue), "blue");
  EXPECT_EQ(uncopyable::enum_name(static_cast<Color>(42)), "(42)");
  EXPECT_EQ(uncopyable::enum_names<Color>(), "red, green, blue");
  EXPECT_EQ(uncopyable::enum_from_name<Color>("red"), Color::red);
  EXPECT_EQ(uncopyable::enum_from_name<Color>("Red"), std::nullopt);
}

TEST(ConfigTest, EqualityComparesEveryField) {
  const Everything a = sample();
  Everything b = a;
  EXPECT_EQ(a, b);
  uncopyable::for_each_field(b, [&](absl::string_view name, auto& field) {
    Everything c = a;
    // Change just this field of c and nothing else.
    uncopyable::for_each_field(c, [&](absl::string_view other, auto& same) {
      if constexpr (std::is_same_v<decltype(same), decltype(field)>) {
        if (other == name) {
          if constexpr (std::is_same_v<std::decay_t<decltype(same)>, bool>) {
            same = !same;
          } else if constexpr (std::is_arithmetic_v<std::decay_t<decltype(same)>>) {
            same = same + 1;
          } else if constexpr (std::is_same_v<std::decay_t<decltype(same)>, std::string>) {
            same += "!";
          } else if constexpr (std::is_same_v<std::decay_t<decltype(same)>, Color>) {
            same = Color::red;
          } else if constexpr (std::is_same_v<std::decay_t<decltype(same)>, absl::Duration>) {
            same += absl::Nanoseconds(1);
          } else if constexpr (std::is_same_v<std::decay_t<decltype(same)>, Secret<std::string>>) {
            same = Secret<std::string>("other");
          } else if constexpr (std::is_same_v<std::decay_t<decltype(same)>, std::optional<int32_t>>) {
            same.reset();
          } else if constexpr (std::is_same_v<std::decay_t<decltype(same)>, std::vector<std::string>>) {
            same.push_back("c");
          } else if constexpr (std::is_same_v<std::decay_t<decltype(same)>, Retry>) {
            same.attempts += 1;
          } else {
            same = uncopyable::Endpoint::unix_socket("/x");
          }
        }
      }
    });
    EXPECT_NE(a, c) << "changing " << name << " must make the configs differ";
    EXPECT_NE(absl::Hash<Everything>()(a), absl::Hash<Everything>()(c)) << name;
  });
}

TEST(ConfigTest, HashIsConsistentWithEquality) {
  ConfigGenerator generator(20261125);
  std::vector<Everything> values = {Everything{}, sample()};
  for (int i = 0; i < 50; ++i) values.push_back(generator.everything());
  values.push_back(values.back());  // equal values must hash equal
  EXPECT_TRUE(absl::VerifyTypeImplementsAbslHashCorrectly(values));
  std::vector<DbConfig> dbs;
  for (int i = 0; i < 50; ++i) dbs.push_back(generator.db());
  EXPECT_TRUE(absl::VerifyTypeImplementsAbslHashCorrectly(dbs));
}

TEST(ConfigTest, ConfigsKeyAHashMap) {
  absl::flat_hash_map<DbConfig, int> connections;
  DbConfig a{.dbname = "shop"};
  DbConfig b{.dbname = "shop", .password = Secret<std::string>("x")};
  connections[a] = 1;
  connections[b] = 2;
  connections[DbConfig{.dbname = "shop"}] += 10;
  EXPECT_EQ(connections.size(), 2u);
  EXPECT_EQ(connections[a], 11);
}

TEST(ConfigTest, PropertyCopiesAreEqualAndHashEqual) {
  const uint64_t seed = 7;
  ConfigGenerator generator(seed);
  for (int i = 0; i < 200; ++i) {
    const Everything original = generator.everything();
    const Everything copy = original;  // NOLINT(performance-unnecessary-copy-initialization)
    ASSERT_EQ(copy, original) << "seed " << seed << " case " << i;
    ASSERT_EQ(absl::Hash<Everything>()(copy), absl::Hash<Everything>()(original));
    ASSERT_TRUE(original.validate().ok()) << original.validate() << " seed " << seed;
    ASSERT_EQ(uncopyable::to_string(copy), uncopyable::to_string(original));
  }
}

TEST(ConfigRulesTest, FirstBrokenRuleNamesConfigAndField) {
  Everything c = sample();
  EXPECT_TRUE(c.validate().ok()) << c.validate();
  c.name.clear();
  EXPECT_EQ(c.validate(), absl::InvalidArgumentError("Everything.name: must not be empty"));
  c = sample();
  c.port = 0;
  EXPECT_EQ(c.validate(),
            absl::InvalidArgumentError("Everything.port: 0 is out of range [1, 65535]"));
  c = sample();
  c.timeout = absl::Seconds(-2);
  EXPECT_EQ(c.validate(), absl::InvalidArgumentError("Everything.timeout: -2s is negative"));
  c = sample();
  c.ratio = 2;
  EXPECT_EQ(c.validate(), absl::InvalidArgumentError("Everything.ratio: must be within [0, 1]"));
  c = sample();
  c.retry.attempts = 0;
  EXPECT_EQ(c.validate(), absl::InvalidArgumentError(
                              "Everything.retry: Retry.attempts: 0 is out of range [1, 100]"));
  c = sample();
  c.peer = uncopyable::Endpoint::unix_socket("");
  EXPECT_EQ(c.validate(), absl::InvalidArgumentError(
                              "Everything.peer: Endpoint: the socket path is empty"));
  DbConfig db{.dbname = "x", .connect_timeout = absl::InfiniteDuration()};
  EXPECT_EQ(db.validate(),
            absl::InvalidArgumentError("DbConfig.connect_timeout: must be finite"));
}

TEST(FieldTextTest, WritesEachKind) {
  using uncopyable::field_text;
  EXPECT_EQ(field_text(true), "true");
  EXPECT_EQ(field_text(int32_t{-3}), "-3");
  EXPECT_EQ(field_text(uint16_t{443}), "443");
  EXPECT_EQ(field_text(Color::blue), "blue");
  EXPECT_EQ(field_text(absl::Milliseconds(1500)), "1.5s");
  EXPECT_EQ(field_text(std::string("a b")), "a b");
  EXPECT_EQ(field_text(Secret<std::string>("pw")), "***");
  EXPECT_EQ(field_text(Secret<std::string>("pw"), uncopyable::Secrets::kReveal), "pw");
  EXPECT_EQ(field_text(uncopyable::Endpoint::tcp("::1", 5)), "tcp://[::1]:5");
}

TEST(FieldTextTest, ParsesEachKindStrictly) {
  using uncopyable::parse_field_text;
  bool flag = false;
  EXPECT_TRUE(parse_field_text("true", flag).ok());
  EXPECT_TRUE(flag);
  EXPECT_TRUE(parse_field_text("0", flag).ok());
  EXPECT_FALSE(flag);
  EXPECT_EQ(parse_field_text("yes", flag).message(), "\"yes\" is not a boolean (true or false)");

  uint16_t port = 0;
  EXPECT_TRUE(parse_field_text("65535", port).ok());
  EXPECT_EQ(port, 65535);
  EXPECT_EQ(parse_field_text("65536", port).message(), "65536 is out of range [0, 65535]");
  EXPECT_EQ(parse_field_text("-1", port).message(), "\"-1\" is not a non-negative integer");
  EXPECT_EQ(parse_field_text(" 1", port).message(), "\" 1\" is not a non-negative integer");
  EXPECT_EQ(parse_field_text("", port).message(), "\"\" is not a non-negative integer");
  EXPECT_EQ(parse_field_text("99999999999999999999999", port).message(),
            "\"99999999999999999999999\" is not a non-negative integer");

  int32_t offset = 0;
  EXPECT_TRUE(parse_field_text("-2147483648", offset).ok());
  EXPECT_EQ(offset, INT32_MIN);
  EXPECT_EQ(parse_field_text("2147483648", offset).message(),
            "2147483648 is out of range [-2147483648, 2147483647]");
  EXPECT_EQ(parse_field_text("1e3", offset).message(), "\"1e3\" is not an integer");

  double ratio = 0;
  EXPECT_TRUE(parse_field_text("0.25", ratio).ok());
  EXPECT_EQ(ratio, 0.25);
  EXPECT_EQ(parse_field_text("nan", ratio).message(), "\"nan\" is not a finite number");

  Color color = Color::red;
  EXPECT_TRUE(parse_field_text("blue", color).ok());
  EXPECT_EQ(color, Color::blue);
  EXPECT_EQ(parse_field_text("purple", color).message(),
            "\"purple\" is not one of red, green, blue");

  absl::Duration duration;
  EXPECT_TRUE(parse_field_text("1.5s", duration).ok());
  EXPECT_EQ(duration, absl::Milliseconds(1500));
  EXPECT_TRUE(parse_field_text("5", duration).ok());
  EXPECT_EQ(duration, absl::Seconds(5));
  EXPECT_EQ(parse_field_text("5 sec", duration).message(),
            "\"5 sec\" is not a duration (write it like \"1.5s\", \"250ms\" or \"2m\")");

  Secret<std::string> secret;
  EXPECT_TRUE(parse_field_text("pw", secret).ok());
  EXPECT_EQ(secret.reveal(), "pw");
  EXPECT_THAT(parse_field_text("***", secret).message(),
              HasSubstr("holds the redaction mark \"***\", not a secret"));
}

TEST(FieldTextTest, HostileTextIsCutShortInMessages) {
  uint16_t port = 0;
  const std::string huge(100000, '9');
  const absl::Status status = uncopyable::parse_field_text(huge, port);
  EXPECT_LT(status.message().size(), 200u);
  EXPECT_THAT(status.message(), HasSubstr("(100000 bytes)"));
}

}  // namespace
