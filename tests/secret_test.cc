// A secret never shows itself on any printing path unless asked by name.
#include "uncopyable/secret.h"

#include <sstream>
#include <string>

#include "absl/hash/hash.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/example_configs.h"
#include "uncopyable/config_json.h"
#include "uncopyable/config_url.h"

namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing_configs::DbConfig;
using testing_configs::Everything;
using uncopyable::Secret;

constexpr char kPassword[] = "correct horse battery staple";

struct StringSink {
  void Append(absl::string_view text) { out.append(text.data(), text.size()); }
  void Append(size_t count, char c) { out.append(count, c); }
  std::string out;
};

DbConfig db() {
  return DbConfig{.dbname = "shop", .user = "ann", .password = Secret<std::string>(kPassword)};
}

// Every way the library or GoogleTest can turn a value into text.
template <typename T>
std::vector<std::string> printed(const T& value) {
  std::vector<std::string> out;
  std::ostringstream stream;
  stream << value;
  out.push_back(stream.str());
  StringSink sink;
  AbslStringify(sink, value);
  out.push_back(sink.out);
  out.push_back(::testing::PrintToString(value));
  return out;
}

TEST(SecretTest, ComparesAndHashesLikeItsValue) {
  EXPECT_EQ(Secret<std::string>("a"), Secret<std::string>("a"));
  EXPECT_NE(Secret<std::string>("a"), Secret<std::string>("b"));
  EXPECT_EQ(absl::Hash<Secret<std::string>>()(Secret<std::string>("a")),
            absl::Hash<Secret<std::string>>()(Secret<std::string>("a")));
  EXPECT_EQ(Secret<std::string>(kPassword).reveal(), kPassword);
  EXPECT_TRUE(Secret<std::string>().empty());
}

TEST(SecretTest, NoPrintingPathShowsIt) {
  for (const std::string& text : printed(Secret<std::string>(kPassword))) {
    EXPECT_EQ(text, "***");
  }
  for (const std::string& text : printed(db())) {
    EXPECT_THAT(text, Not(HasSubstr(kPassword)));
    EXPECT_THAT(text, HasSubstr("password=***"));
  }
  EXPECT_THAT(uncopyable::to_string(db()), Not(HasSubstr(kPassword)));
  EXPECT_THAT(uncopyable::field_text(db().password), Not(HasSubstr(kPassword)));
}

TEST(SecretTest, ExportsRedactUnlessAskedByName) {
  EXPECT_THAT(uncopyable::to_json(db()), Not(HasSubstr(kPassword)));
  EXPECT_THAT(uncopyable::to_json(db()), HasSubstr("\"password\":\"***\""));
  EXPECT_THAT(uncopyable::to_url(db()), Not(HasSubstr("horse")));
  EXPECT_THAT(uncopyable::to_url(db()), HasSubstr("ann:***@"));
  EXPECT_THAT(uncopyable::to_json(db(), uncopyable::Secrets::kReveal), HasSubstr(kPassword));
  EXPECT_THAT(uncopyable::to_url(db(), uncopyable::Secrets::kReveal),
              HasSubstr("correct%20horse%20battery%20staple"));
}

TEST(SecretTest, ErrorsAboutAConfigWithASecretNeverShowIt) {
  DbConfig broken = db();
  broken.port = 0;
  EXPECT_THAT(broken.validate().message(), Not(HasSubstr(kPassword)));
  const std::string json = uncopyable::to_json(broken, uncopyable::Secrets::kReveal);
  EXPECT_THAT(uncopyable::from_json<DbConfig>(json).status().message(),
              Not(HasSubstr(kPassword)));
  const std::string url = uncopyable::to_url(broken, uncopyable::Secrets::kReveal);
  EXPECT_THAT(uncopyable::from_url<DbConfig>(url).status().message(),
              Not(HasSubstr("horse")));
  EXPECT_THAT(uncopyable::from_json<DbConfig>(R"({"dbname":"x","password":7})").status().message(),
              Not(HasSubstr("7")));
}

}  // namespace
