// What the guide's tests share: a scratch directory to work in, and the
// death-test pattern for a misuse message exactly as docs/guide.md quotes it.
#ifndef UNCOPYABLE_DOCS_GUIDE_GUIDE_TESTING_H_
#define UNCOPYABLE_DOCS_GUIDE_GUIDE_TESTING_H_

#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace guide {

// Makes the test's temporary directory the working directory, so that the
// examples use short relative paths ("journal.log") and the messages they
// print are the same on every machine. A death test's child runs the test
// again from the start, so it gets the same directory.
inline void enter_scratch_directory() {
  const char* dir = std::getenv("TEST_TMPDIR");
  ASSERT_NE(dir, nullptr) << "run me with bazel test";
  ASSERT_EQ(::chdir(dir), 0) << dir;
}

// The death-test pattern for `message`, one whole line of stderr, quoted as
// the guide quotes it. The guide's check (guide_check.py) finds each
// message in these files by its R"msg(...)msg" quotes, so write them so.
// <thread>, <fd> and <port> stand for a number that changes from run to run.
inline std::string printed(absl::string_view message) {
  std::string pattern = "^";
  while (!message.empty()) {
    bool placeholder = false;
    for (absl::string_view number : {"<thread>", "<fd>", "<port>"}) {
      if (absl::StartsWith(message, number)) {
        pattern += "[0-9]+";
        message.remove_prefix(number.size());
        placeholder = true;
        break;
      }
    }
    if (placeholder) continue;
    const char c = message.front();
    message.remove_prefix(1);
    if (absl::string_view("\\.^$|()[*+?{").find(c) != absl::string_view::npos) {
      pattern += '\\';
    }
    pattern += c;
  }
  return pattern + "\n$";
}

}  // namespace guide

#endif  // UNCOPYABLE_DOCS_GUIDE_GUIDE_TESTING_H_
