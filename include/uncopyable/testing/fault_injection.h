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
// A plan may aim at one kind of call, by its enum or by its name; the name
// is how a call made through internal::sys::call() (one the seam has no
// wrapper for) is aimed at:
//
//   fault.fail_nth(1, EMFILE, Syscall::kPipe2);  // or "pipe2"
//   fault.fail_nth(1, EMFILE, "eventfd");        // sys::call("eventfd", ...)
//
// One injector may be armed at a time in a process; arming a second is
// misuse. Calls made by other threads are neither counted nor failed.
#ifndef UNCOPYABLE_TESTING_FAULT_INJECTION_H_
#define UNCOPYABLE_TESTING_FAULT_INJECTION_H_

#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/string_view.h"
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
  // counting only calls to `only` if given; Syscall::kNamed counts the calls
  // made through sys::call(), whatever their names) and the `times - 1`
  // matching calls after it, each with `error`. Replaces any earlier plan.
  void fail_nth(int n, int error, std::optional<Syscall> only = std::nullopt,
                int times = 1);
  // The same, counting only the calls named `only`: the name a wrapper's
  // call has (internal::syscall_name(): "open", "pipe2", ...) or the
  // SyscallName given to internal::sys::call() ("eventfd"). An empty name
  // counts every call, as no `only` does.
  void fail_nth(int n, int error, absl::string_view only, int times = 1);

  // The calls seen since arming (or since the last fail_nth), in order; a
  // call made through sys::call() is Syscall::kNamed here, and its name is
  // in call_names().
  const std::vector<Syscall>& calls() const { return calls_; }
  // The names of the same calls: "open", "read", "eventfd", ...
  const std::vector<absl::string_view>& call_names() const { return names_; }
  int calls_seen() const { return static_cast<int>(calls_.size()); }
  // How many calls were failed.
  int injected() const { return injected_; }

  // "failed call #3 (write) of [open, write, write, close] with EIO": for
  // test messages.
  std::string describe() const;

  // Called by the seam: the errno to fail `call` (named `name`) with, or 0.
  int take(Syscall call, const char* name);
  int take(Syscall call) { return take(call, internal::syscall_name(call)); }

 private:
  void plan(int n, int error, int times);

  std::thread::id thread_;
  std::vector<Syscall> calls_;
  std::vector<absl::string_view> names_;  // each a string literal's
  std::optional<std::string> only_;  // count only the calls of this name
  bool only_named_ = false;           // count only calls through sys::call()
  int first_ = 0;  // 0: fail nothing
  int times_ = 0;
  int error_ = 0;
  int matching_ = 0;
  int injected_ = 0;
};

}  // namespace uncopyable::testing

#endif  // UNCOPYABLE_TESTING_FAULT_INJECTION_H_
