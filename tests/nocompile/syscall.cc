// No-compile cases for the system-call seam: see nocompile_test in
// tests/defs.bzl. Without a case defined this file must compile (the control).
#include "uncopyable/internal/syscall.h"

#include <sys/eventfd.h>
#include <sys/mman.h>

#include <string>

namespace sys = uncopyable::internal::sys;

int control() {
  const int fd = sys::call("eventfd", [&] { return ::eventfd(0, EFD_CLOEXEC); });
  void* mapped = sys::call("mmap", MAP_FAILED, [&] { return ::mmap(nullptr, 1, 0, 0, -1, 0); });
  return fd + (mapped == MAP_FAILED ? 1 : 0);
}

#if defined(NAME_WITH_A_SPACE)
int name_with_a_space() {
  return sys::call("event fd", [&] { return ::eventfd(0, EFD_CLOEXEC); });
}
#endif

#if defined(EMPTY_NAME)
int empty_name() {
  return sys::call("", [&] { return ::eventfd(0, EFD_CLOEXEC); });
}
#endif

#if defined(NAME_MADE_AT_RUN_TIME)
int name_made_at_run_time(const std::string& name) {
  // A fault plan keeps the name: it must be a literal, not a string that dies.
  return sys::call(name.c_str(), [&] { return ::eventfd(0, EFD_CLOEXEC); });
}
#endif

#if defined(POINTER_WITHOUT_ITS_FAILURE)
void* pointer_without_its_failure() {
  // mmap does not fail with -1: say what it fails with.
  return sys::call("mmap", [&] { return ::mmap(nullptr, 1, 0, 0, -1, 0); });
}
#endif
