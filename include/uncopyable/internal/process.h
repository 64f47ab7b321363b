// uncopyable/internal/process.h: which thread is this, and has the process
// forked since a resource was made?
//
// Handles that must not cross fork() (a lock held at fork time, a database
// connection) record the fork generation they were made or taken in and
// compare it with the current one: a load and a compare, where getpid() would
// be a system call.
#ifndef UNCOPYABLE_INTERNAL_PROCESS_H_
#define UNCOPYABLE_INTERNAL_PROCESS_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"

namespace uncopyable::internal {

// Incremented in every fork()ed child, once watch_forks() has run.
extern std::atomic<uint32_t> fork_generation;

// Makes fork_generation count forks and this_thread() forget the parent's
// thread id in a child. Idempotent; every handle that cares calls it when it
// is made.
void watch_forks();

inline uint32_t current_fork_generation() {
  return fork_generation.load(std::memory_order_relaxed);
}

// Aborts: `type`::`operation` was called (or, for a move, made) by `thread`
// while `other` was in a call on the same resource, `resource` naming it:
//   uncopyable: <type>::<operation> by thread <thread> while thread <other>
//   is in a call on it; a connection serves one thread at a time (<resource>)
// (see single_user.h; "not in a forked child" is rules.h's ProcessBound).
[[noreturn]] void used_by_two_threads(const char* type, const char* operation, pid_t thread,
                                      pid_t other, const std::string& resource);

// This thread's id (gettid), 0 until first asked; reset in a forked child.
ABSL_CONST_INIT extern thread_local pid_t cached_thread_id ABSL_ATTRIBUTE_INITIAL_EXEC;
pid_t this_thread_slow();
inline pid_t this_thread() {
  const pid_t id = cached_thread_id;
  return ABSL_PREDICT_TRUE(id != 0) ? id : this_thread_slow();
}

}  // namespace uncopyable::internal

#endif  // UNCOPYABLE_INTERNAL_PROCESS_H_
