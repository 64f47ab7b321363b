// //:fd_ownership_checks: the C library's functions that close descriptors,
// checked against the ownership table (see uncopyable/fd_ownership.h).
//
// Each function here has the C library's name, so a program linked with this
// file (alwayslink, in the executable itself) calls it instead of the C
// library's: so do the shared libraries it loads. It checks the table, then
// calls the next definition of the same name, found with dlsym(RTLD_NEXT):
// the C library's, or a sanitizer's interceptor in front of it (see next()). Nothing here
// runs before main() or needs a constructor: the table is zero in the
// program image, and the next definitions are looked up on first use.
#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>  // NOLINT(modernize-deprecated-headers): POSIX fileno()
#include <unistd.h>

#include <atomic>
#include <climits>

#include "absl/base/optimization.h"
#include "uncopyable/check.h"
#include "uncopyable/internal/fd_table.h"

namespace {

using uncopyable::misuse_on;
using uncopyable::internal::fd_table::describe;
using uncopyable::internal::fd_table::first_owned;
using uncopyable::internal::fd_table::owner_of;
using uncopyable::internal::fd_table::OwnerText;
using uncopyable::internal::fd_table::Tag;

// The definition of `name` after this one, looked up once (two threads may
// both look it up; they find the same). A sanitizer linked statically (as
// clang links them) defines `name` in the program too, where this file's
// definition wins, so its interceptor is asked for by its own name first:
// ThreadSanitizer must still see every close. A sanitizer in a shared
// library (as GCC links them) is simply the next definition.
template <typename Function>
Function next(std::atomic<Function>& found, const char* name) noexcept {
  Function function = found.load(std::memory_order_acquire);
  if (ABSL_PREDICT_FALSE(function == nullptr)) {
    void* address = nullptr;
    for (const char* prefix : {"__interceptor_", "___interceptor_"}) {
      char interceptor[64];
      snprintf(interceptor, sizeof interceptor, "%s%s", prefix, name);
      if ((address = ::dlsym(RTLD_DEFAULT, interceptor)) != nullptr) break;
    }
    if (address == nullptr) address = ::dlsym(RTLD_NEXT, name);
    if (address == nullptr) {
      char call[32];
      snprintf(call, sizeof call, "%s()", name);
      misuse_on("", call, "",
                "has no definition after //:fd_ownership_checks' own (a statically linked "
                "program?); the checks need a dynamically linked C library");
    }
    function = reinterpret_cast<Function>(address);
    found.store(function, std::memory_order_release);
  }
  return function;
}

std::atomic<int (*)(int)> next_close{nullptr};
std::atomic<int (*)(int, int)> next_dup2{nullptr};
std::atomic<int (*)(int, int, int)> next_dup3{nullptr};
std::atomic<int (*)(unsigned, unsigned, int)> next_close_range{nullptr};
std::atomic<void (*)(int)> next_closefrom{nullptr};
std::atomic<int (*)(FILE*)> next_fclose{nullptr};
std::atomic<int (*)(DIR*)> next_closedir{nullptr};

// Aborts if `fd` is owned: "uncopyable: ::<call> <what> <owner's type>;
// only its owner may close it (<owner's resource>)", the C library's
// function standing for "Type::op()" in the grammar of misuse_on(). `call`
// and `what` are formatted already.
void require_unowned(int fd, const char* call, const char* what) {
  if (const Tag tag = owner_of(fd); ABSL_PREDICT_FALSE(tag != 0)) {
    const OwnerText owner = describe(tag);
    misuse_on("", call, owner.resource, "%s %s; only its owner may close it", what,
              owner.type.c_str());
  }
}

// The same for a stream on `fd` that `call` would close.
void require_unowned_by_stream(const char* call, int fd) {
  char what[64];
  snprintf(what, sizeof what, "of a stream on %d, a descriptor owned by", fd);
  require_unowned(fd, call, what);
}

// Aborts if a descriptor in [first, last] is owned. A descriptor found owned
// whose owner closes it meanwhile (another thread) is no misuse: the search
// goes on past it, so that one such race cannot hide the others.
void require_none_owned(const char* call, unsigned first, unsigned last) {
  for (int fd = first_owned(first, last); ABSL_PREDICT_FALSE(fd >= 0);
       fd = static_cast<unsigned>(fd) < last ? first_owned(static_cast<unsigned>(fd) + 1, last)
                                             : -1) {
    char what[64];
    snprintf(what, sizeof what, "would close %d, a descriptor owned by", fd);
    require_unowned(fd, call, what);
  }
}

}  // namespace

extern "C" {

// The C library declares these with reserved parameter names (__fd,
// __fd2, __dirp), which a definition outside it should not use: the plain
// names here are right, though clang-tidy reports them as inconsistent.
// NOLINTBEGIN(readability-inconsistent-declaration-parameter-name)

int close(int fd) {
  if (ABSL_PREDICT_FALSE(owner_of(fd) != 0)) {
    char call[32];
    snprintf(call, sizeof call, "close(%d)", fd);
    require_unowned(fd, call, "of a descriptor owned by");
  }
  return next(next_close, "close")(fd);
}

// dup2 and dup3 close `target` first, silently, when it is open.
int dup2(int old, int target) noexcept {
  if (ABSL_PREDICT_FALSE(old != target && owner_of(target) != 0)) {
    char call[48];
    snprintf(call, sizeof call, "dup2(%d, %d)", old, target);
    require_unowned(target, call, "onto a descriptor owned by");
  }
  return next(next_dup2, "dup2")(old, target);
}

int dup3(int old, int target, int flags) noexcept {
  if (ABSL_PREDICT_FALSE(old != target && owner_of(target) != 0)) {
    char call[48];
    snprintf(call, sizeof call, "dup3(%d, %d)", old, target);
    require_unowned(target, call, "onto a descriptor owned by");
  }
  return next(next_dup3, "dup3")(old, target, flags);
}

// With CLOSE_RANGE_CLOEXEC it only marks the range close-on-exec.
int close_range(unsigned first, unsigned last, int flags) noexcept {
  if ((flags & CLOSE_RANGE_CLOEXEC) == 0) {
    char call[64];
    snprintf(call, sizeof call, "close_range(%u, %u, %d)", first, last, flags);
    require_none_owned(call, first, last);
  }
  return next(next_close_range, "close_range")(first, last, flags);
}

void closefrom(int lowest) noexcept {
  char call[32];
  snprintf(call, sizeof call, "closefrom(%d)", lowest);
  require_none_owned(call, lowest < 0 ? 0U : static_cast<unsigned>(lowest), UINT_MAX);
  next(next_closefrom, "closefrom")(lowest);
}

// The C library closes a stream's descriptor without calling close(), so the
// stream functions are checked themselves.
int fclose(FILE* stream) {
  if (stream != nullptr) require_unowned_by_stream("fclose()", ::fileno(stream));
  return next(next_fclose, "fclose")(stream);
}

int closedir(DIR* dir) {
  require_unowned_by_stream("closedir()", ::dirfd(dir));
  return next(next_closedir, "closedir")(dir);
}

// NOLINTEND(readability-inconsistent-declaration-parameter-name)

}  // extern "C"
