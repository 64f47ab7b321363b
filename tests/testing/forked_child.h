// Death tests about misuse in a fork()ed child. The misuse aborts in the
// child, where EXPECT_DEATH cannot see it; the death-test process passes the
// child's fate on by exiting the way it did:
//
//   EXPECT_DEATH(uncopyable::testing::in_forked_child([&] { (void)db.execute("SELECT 1"); }),
//                "in a fork\\(\\)ed child");
//
// The child's one-line message reaches the shared stderr either way.
#ifndef UNCOPYABLE_TESTS_TESTING_FORKED_CHILD_H_
#define UNCOPYABLE_TESTS_TESTING_FORKED_CHILD_H_

#include <sys/wait.h>
#include <unistd.h>

namespace uncopyable::testing {

// Waits for this process's fork()ed child and exits 1 if a signal killed it
// (an abort), 0 otherwise.
[[noreturn]] inline void exit_as_the_child_did() {
  int status = 0;
  const bool died = ::wait(&status) > 0 && WIFSIGNALED(status);
  ::_exit(died ? 1 : 0);
}

// Runs `in_child` in a fork()ed child (which then exits 0), and exits as the
// child did.
template <typename F>
[[noreturn]] void in_forked_child(F in_child) {
  if (::fork() == 0) {
    in_child();
    ::_exit(0);
  }
  exit_as_the_child_did();
}

// Runs `in_child` in a child made by _Fork(), which runs no fork handlers
// (as vfork, a raw clone system call, or a sandbox's own spawner would not),
// waits for it, and returns whether it exited 0. What the child destroys of
// its copies of the parent's handles must leave the parent's resources alone
// even then.
template <typename F>
bool in_raw_child(F in_child) {
  const pid_t child = ::_Fork();
  if (child == 0) {
    in_child();
    ::_exit(0);
  }
  int status = 0;
  return child > 0 && ::waitpid(child, &status, 0) == child && WIFEXITED(status) &&
         WEXITSTATUS(status) == 0;
}

}  // namespace uncopyable::testing

#endif  // UNCOPYABLE_TESTS_TESTING_FORKED_CHILD_H_
