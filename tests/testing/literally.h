// A text as a regular expression that matches it literally, for death tests
// whose expected line quotes a path or a name:
//
//   EXPECT_DEATH(file.write("x"), "^uncopyable: File::write\\(\\) on a closed handle \\(" +
//                                     literally("path=" + internal::quoted(path)) + "\\)");
#ifndef UNCOPYABLE_TESTS_TESTING_LITERALLY_H_
#define UNCOPYABLE_TESTS_TESTING_LITERALLY_H_

#include <string>
#include <string_view>

namespace uncopyable::testing {

inline std::string literally(std::string_view text) {
  std::string pattern;
  for (const char c : text) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) pattern += '\\';
    pattern += c;
  }
  return pattern;
}

}  // namespace uncopyable::testing

#endif  // UNCOPYABLE_TESTS_TESTING_LITERALLY_H_
