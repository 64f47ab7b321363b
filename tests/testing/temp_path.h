// A fresh path under the test's temporary directory, removed (with anything
// left at it) when the TempPath goes. The name does not depend on the
// process, so a death test's re-executed child gets the same path.
#ifndef UNCOPYABLE_TESTS_TESTING_TEMP_PATH_H_
#define UNCOPYABLE_TESTS_TESTING_TEMP_PATH_H_

#include <unistd.h>

#include <cstdlib>
#include <string>

#include "gtest/gtest.h"

namespace uncopyable::testing {

class TempPath {
 public:
  // `name` must be unique within the test.
  explicit TempPath(const std::string& name) {
    const char* root = std::getenv("TEST_TMPDIR");
    const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::string(root != nullptr ? root : "/tmp") + "/" +
            (test != nullptr ? std::string(test->test_suite_name()) + "." + test->name() : "") +
            "-" + name;
    ::unlink(path_.c_str());
  }
  ~TempPath() { ::unlink(path_.c_str()); }
  TempPath(const TempPath&) = delete;
  TempPath& operator=(const TempPath&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace uncopyable::testing

#endif  // UNCOPYABLE_TESTS_TESTING_TEMP_PATH_H_
