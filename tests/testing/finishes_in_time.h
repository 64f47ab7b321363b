// Tests of calls that must not hang (on a full pipe, a peer that never
// answers, a lock held elsewhere): the call runs in a death-test child that
// an alarm ends, so a hang fails the test instead of stalling it.
//
//   ASSERT_NO_FATAL_FAILURE(finishes_in_time([&] {
//     return is(File::open({.path = fifo}).status(), absl::StatusCode::kFailedPrecondition);
//   }));
#ifndef UNCOPYABLE_TESTS_TESTING_FINISHES_IN_TIME_H_
#define UNCOPYABLE_TESTS_TESTING_FINISHES_IN_TIME_H_

#include <unistd.h>

#include <cstdio>
#include <functional>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace uncopyable::testing {

// Runs `check` in a death-test child that SIGALRM ends after 10 s, and
// asserts that it returned true: a call that would hang fails the test (the
// child dies of the alarm) instead of stalling it. Wrap in
// ASSERT_NO_FATAL_FAILURE, so that the test stops before it makes the same
// call itself.
inline void finishes_in_time(const std::function<bool()>& check) {
  ASSERT_EXIT(
      {
        ::alarm(10);
        ::_exit(check() ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

// Whether `status` has `code`; if not, prints it to the death-test child's
// stderr (shown if it fails).
inline bool is(const absl::Status& status, absl::StatusCode code) {
  if (status.code() != code) std::fprintf(stderr, "got %s\n", status.ToString().c_str());
  return status.code() == code;
}

}  // namespace uncopyable::testing

#endif  // UNCOPYABLE_TESTS_TESTING_FINISHES_IN_TIME_H_
