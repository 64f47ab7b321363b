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
  ~TempPath() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  TempPath(const TempPath&) = delete;
  TempPath& operator=(const TempPath&) = delete;

  // A path short enough for a Unix socket (sun_path holds 107 bytes, less
  // than Bazel's test directories take): under /tmp, named by process.
  static TempPath for_socket(const std::string& name) {
    TempPath temp(name);
    temp.path_ = "/tmp/uncopyable-" + std::to_string(::getpid()) + "-" + name;
    ::unlink(temp.path_.c_str());
    return temp;
  }
  TempPath(TempPath&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace uncopyable::testing

#endif  // UNCOPYABLE_TESTS_TESTING_TEMP_PATH_H_
