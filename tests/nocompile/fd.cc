// No-compile cases for Fd: see nocompile_test in tests/defs.bzl. Without a
// case defined this file must compile (the control).
#include "uncopyable/fd.h"

#include <utility>

void control() {
  uncopyable::Fd fd;
  uncopyable::Fd moved = std::move(fd);  // moving is how ownership travels
  int number = moved ? moved.get() : -1;  // get() shows the number
  (void)number;
}

#if defined(COPY_CONSTRUCT)
void copy_construct(const uncopyable::Fd& fd) {
  uncopyable::Fd copy = fd;  // two owners of one descriptor
}
#endif

#if defined(COPY_ASSIGN)
void copy_assign(const uncopyable::Fd& fd) {
  uncopyable::Fd other;
  other = fd;  // two owners of one descriptor
}
#endif

#if defined(IMPLICIT_INT)
void implicit_int(const uncopyable::Fd& fd) {
  int number = fd;  // the number without saying so
  (void)number;
}
#endif

#if defined(PASS_AS_INT)
int takes_int(int fd);
int pass_as_int(const uncopyable::Fd& fd) { return takes_int(fd); }
#endif

#if defined(VIEW_OF_TEMPORARY)
uncopyable::FdView view_of_temporary() {
  return uncopyable::FdView(uncopyable::Fd());  // dangles at once
}
#endif
