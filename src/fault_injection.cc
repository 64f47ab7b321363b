#include "uncopyable/testing/fault_injection.h"

#include <atomic>
#include <cstring>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "uncopyable/check.h"

namespace uncopyable::testing {
namespace {

std::atomic<FaultInjector*> armed{nullptr};

int handle(Syscall call, const char* name) noexcept {
  FaultInjector* injector = armed.load(std::memory_order_acquire);
  return injector == nullptr ? 0 : injector->take(call, name);
}

}  // namespace

FaultInjector::FaultInjector() : thread_(std::this_thread::get_id()) {
  FaultInjector* expected = nullptr;
  UNCOPYABLE_CHECK(armed.compare_exchange_strong(expected, this),
                   "FaultInjector: a second injector armed while one is");
  internal::set_fault_handler(&handle);
}

FaultInjector::~FaultInjector() {
  internal::set_fault_handler(nullptr);
  armed.store(nullptr, std::memory_order_release);
}

void FaultInjector::fail_nth(int n, int error, std::optional<Syscall> only,
                             int times) {
  plan(n, error, times);
  if (only == Syscall::kNamed) {
    only_named_ = true;
  } else if (only.has_value()) {
    only_ = internal::syscall_name(*only);
  }
}

void FaultInjector::fail_nth(int n, int error, absl::string_view only, int times) {
  plan(n, error, times);
  if (!only.empty()) only_ = std::string(only);
}

void FaultInjector::plan(int n, int error, int times) {
  UNCOPYABLE_CHECK(n >= 1 && times >= 1 && error > 0,
                   "FaultInjector::fail_nth(%d, %d, times=%d): needs n >= 1, "
                   "errno > 0, "
                   "times >= 1", n, error, times);
  calls_.clear();
  names_.clear();
  only_.reset();
  only_named_ = false;
  first_ = n;
  times_ = times;
  error_ = error;
  matching_ = 0;
  injected_ = 0;
}

int FaultInjector::take(Syscall call, const char* name) {
  if (std::this_thread::get_id() != thread_) return 0;
  calls_.push_back(call);
  names_.emplace_back(name);
  if (first_ == 0 || (only_.has_value() && *only_ != name) ||
      (only_named_ && call != Syscall::kNamed)) {
    return 0;
  }
  ++matching_;
  if (matching_ < first_ || matching_ >= first_ + times_) return 0;
  ++injected_;
  return error_;
}

std::string FaultInjector::describe() const {
  const std::string seen = absl::StrJoin(names_, ", ");
  if (first_ == 0) return absl::StrCat("counted [", seen, "], failed none");
  return absl::StrCat("failed ", only_ ? *only_ : only_named_ ? "sys::call()" : "",
                      only_ || only_named_ ? " " : "", "call #", first_,
                      times_ > 1 ? absl::StrCat(" and the ", times_ - 1,
                                                " after it")
                                 : "",
                      " with ", strerrorname_np(error_), " (",
                      injected_, " injected) of [", seen, "]");
}

}  // namespace uncopyable::testing
