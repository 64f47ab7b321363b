#include "uncopyable/internal/process.h"

#include <pthread.h>
#include <unistd.h>

#include "uncopyable/check.h"

namespace uncopyable::internal {

std::atomic<uint32_t> fork_generation{0};
ABSL_CONST_INIT thread_local pid_t cached_thread_id ABSL_ATTRIBUTE_INITIAL_EXEC = 0;

pid_t this_thread_slow() {
  cached_thread_id = ::gettid();
  return cached_thread_id;
}

namespace {

void after_fork_in_child() {
  fork_generation.fetch_add(1, std::memory_order_relaxed);
  cached_thread_id = 0;  // the child's only thread has a new id
}

}  // namespace

void used_by_two_threads(const char* type, const char* operation, pid_t thread, pid_t other,
                         const std::string& resource) {
  misuse_on(type, operation, resource,
            "by thread %d while thread %d is in a call on it; a connection serves one thread at "
            "a time",
            static_cast<int>(thread), static_cast<int>(other));
}

void watch_forks() {
  static const bool registered = (::pthread_atfork(nullptr, nullptr, &after_fork_in_child), true);
  (void)registered;
}

}  // namespace uncopyable::internal
