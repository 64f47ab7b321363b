// uncopyable/testing/fault_injection.h: fail the Nth system call on purpose.
//
// Every system call uncopyable makes goes through one seam
// (internal/syscall.h). A FaultInjector arms it for the calling thread: it
// records each call that thread makes and fails the ones it was told to.
// The usual test is a sweep: count the calls an operation makes, then run it
// again once per call, failing that one, and check that each run ends in the
// right result or a clear Status with nothing leaked.
//
//   int calls;
//   {
//     FaultInjector count;  // fails nothing, only records
//     ASSERT_OK(operation());
//     calls = count.calls_seen();
//   }
//   for (int n = 1; n <= calls; ++n) {
//     FaultInjector fault;
//     fault.fail_nth(n, EIO);
//     absl::Status status = operation();
//     EXPECT_FALSE(status.ok()) << fault.describe();
//   }
//
// One injector may be armed at a time in a process; arming a second is
// misuse. Calls made by other threads are neither counted nor failed.
#ifndef UNCOPYABLE_TESTING_FAULT_INJECTION_H_
#define UNCOPYABLE_TESTING_FAULT_INJECTION_H_

#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "uncopyable/internal/syscall.h"

namespace uncopyable::testing {

using ::uncopyable::internal::Syscall;

class FaultInjector {
 public:
  // Arms the seam for the calling thread; fails nothing until told to.
  FaultInjector();
  // Disarms the seam.
  ~FaultInjector();
  FaultInjector(const FaultInjector&) = delete;
  FaultInjector& operator=(const FaultInjector&) = delete;

  // Fails the calling thread's `n`th system call from now on (1-based,
  // counting only calls to `only` if given) and the `times - 1` matching
  // calls after it, each with `error`. Replaces any earlier plan.
  void fail_nth(int n, int error, std::optional<Syscall> only = std::nullopt,
                int times = 1);

  // The calls seen since arming (or since the last fail_nth), in order.
  const std::vector<Syscall>& calls() const { return calls_; }
  int calls_seen() const { return static_cast<int>(calls_.size()); }
  // How many calls were failed.
  int injected() const { return injected_; }

  // "failed call #3 (write) of [open, write, write, close] with EIO": for
  // test messages.
  std::string describe() const;

  // Called by the seam: the errno to fail `call` with, or 0.
  int take(Syscall call);

 private:
  std::thread::id thread_;
  std::vector<Syscall> calls_;
  std::optional<Syscall> only_;
  int first_ = 0;  // 0: fail nothing
  int times_ = 0;
  int error_ = 0;
  int matching_ = 0;
  int injected_ = 0;
};

}  // namespace uncopyable::testing

#endif  // UNCOPYABLE_TESTING_FAULT_INJECTION_H_
