// What every config with a statement_cache_size promises about it (both
// databases' cache tests call this for their config):
//
//   expect_statement_cache_size_checked_and_carried(
//       SqliteConfig{.path = "/var/lib/app/t.db"}, "SqliteConfig");
#ifndef UNCOPYABLE_TESTS_TESTING_CACHE_SIZE_CHECKS_H_
#define UNCOPYABLE_TESTS_TESTING_CACHE_SIZE_CHECKS_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "uncopyable/config_json.h"
#include "uncopyable/config_url.h"

namespace uncopyable::testing {

// 32 by default; validate() takes 0 to 10000 and names the field and the
// range for anything else; a size set on `valid` (a valid config) travels
// through the URL and JSON forms and shows in to_string(). `type` is how
// validate()'s messages name the config.
template <typename Config>
void expect_statement_cache_size_checked_and_carried(const Config& valid, absl::string_view type) {
  EXPECT_EQ(Config{}.statement_cache_size, 32);
  Config sized = valid;
  for (const int fine : {0, 10000}) {
    sized.statement_cache_size = fine;
    EXPECT_TRUE(sized.validate().ok()) << fine;
  }
  for (const int wrong : {-1, 10001}) {
    sized.statement_cache_size = wrong;
    EXPECT_EQ(sized.validate().message(),
              absl::StrCat(type, ".statement_cache_size: ", wrong,
                           " is out of range [0, 10000]"));
  }
  Config small = valid;
  small.statement_cache_size = 4;
  const std::string url = to_url(small, Secrets::kReveal);
  EXPECT_THAT(url, ::testing::HasSubstr("statement_cache_size=4"));
  EXPECT_EQ(*from_url<Config>(url), small);
  const std::string json = to_json(small, Secrets::kReveal);
  EXPECT_THAT(json, ::testing::HasSubstr("\"statement_cache_size\":4"));
  EXPECT_EQ(*from_json<Config>(json), small);
  EXPECT_THAT(to_string(small), ::testing::HasSubstr("statement_cache_size=4"));
}

}  // namespace uncopyable::testing

#endif  // UNCOPYABLE_TESTS_TESTING_CACHE_SIZE_CHECKS_H_
