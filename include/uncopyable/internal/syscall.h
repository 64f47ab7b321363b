// uncopyable/internal/syscall.h: the one seam every system call goes through.
//
//   int fd = internal::sys::open(path, O_RDONLY | O_CLOEXEC);
//   if (fd < 0) return internal::errno_error_on(errno, "open", resource());
//
// Each wrapper has the signature and errno behaviour of the system call it
// names. Normally it is that call and nothing more: one relaxed atomic load
// of a flag that is false, predicted false. A test arms a fault plan through
// uncopyable/testing/fault_injection.h; then the Nth call made by the arming
// thread fails with the errno the test chose, the way SQLite proves its I/O
// error paths.
//
// A call this file has no wrapper for is made where it is needed, through
// sys::call(), under its own name; nothing is added here:
//
//   const int fd = internal::sys::call("eventfd", [&] { return ::eventfd(0, EFD_CLOEXEC); });
//
// and a fault plan aims at it by that name (fail_nth(1, EMFILE, "eventfd")).
//
// Library code must never call the kernel any other way, with one
// exception: the code a clone_pidfd() child runs until execve (in
// src/subprocess.cc) makes raw system calls, since the seam may allocate
// while a test has it armed, and that child must not.
//
// Not part of the public API: handles are the public API.
#ifndef UNCOPYABLE_INTERNAL_SYSCALL_H_
#define UNCOPYABLE_INTERNAL_SYSCALL_H_

#include <fcntl.h>
#include <poll.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <type_traits>

#include "absl/base/optimization.h"

namespace uncopyable::internal {

// Every system call the library makes, by name. Faults can be aimed at one.
enum class Syscall : unsigned char {
  kOpen,
  kClose,
  kRead,
  kWrite,
  kPread,
  kPwrite,
  kLseek,
  kFstat,
  kFsync,
  kFdatasync,
  kFcntl,
  kFtruncate,
  kSocket,
  kConnect,
  kBind,
  kListen,
  kAccept,
  kSend,
  kRecv,
  kShutdown,
  kSetsockopt,
  kGetsockopt,
  kGetsockname,
  kGetpeername,
  kPoll,
  kUnlink,
  kChmod,
  kLstat,
  kShmOpen,
  kShmUnlink,
  kMmap,
  kMunmap,
  // TempDir, TempFile and MappedFile.
  kOpenat,
  kMkdirat,
  kUnlinkat,
  kGetdents64,
  kStatx,
  kGetrandom,
  kMsync,
  // Pipe and Subprocess (pipe.h, subprocess.h).
  kPipe2,
  kClone3,
  kWaitid,
  kPidfdSendSignal,
  // Any other, made through sys::call(): its SyscallName says which.
  kNamed,
};

// "open", "close", ...: the name of the system call ("named" for kNamed, whose
// calls carry their own).
const char* syscall_name(Syscall call) noexcept;

// The name of a system call made through sys::call(), as fault plans aim at
// it and FaultInjector::describe() prints it: a string literal of lowercase
// letters, digits and '_' ("eventfd", "timerfd_settime"), checked when it
// compiles. Use the name of the call's man page, and a wrapper's name only
// for the call that wrapper makes: a plan aimed at "read" fails both.
class SyscallName {
 public:
  consteval SyscallName(const char* name) : name_(name) {  // implicit on purpose
    if (name[0] == '\0') not_a_syscall_name();
    for (const char* c = name; *c != '\0'; ++c) {
      if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_')) {
        not_a_syscall_name();
      }
    }
  }
  constexpr const char* c_str() const { return name_; }

 private:
  // Not constexpr: reaching it while compiling a consteval constructor is the
  // compile error that says the name is malformed.
  static void not_a_syscall_name() {}
  const char* name_;
};

// True while a test has a fault plan armed. Read on every call.
inline std::atomic<bool> fault_armed{false};

// Decides the fate of one call while armed: the errno to fail it with, or 0.
// `name` is syscall_name(call), or the SyscallName of a kNamed call.
using FaultHandler = int (*)(Syscall call, const char* name) noexcept;

// Arms the seam with `handler`, or disarms it with nullptr. Only
// uncopyable/testing/fault_injection.h calls this.
void set_fault_handler(FaultHandler handler) noexcept;

// Slow path, only while armed: records the call and returns the errno to
// fail it with, or 0 to let it through.
int take_fault(Syscall call, const char* name) noexcept;
inline int take_fault(Syscall call) noexcept { return take_fault(call, syscall_name(call)); }

// Runs `call_kernel` unless an armed fault plan fails this call: then it sets
// errno and returns -1 without calling the kernel.
template <typename F>
inline auto through_seam(Syscall call, F call_kernel) noexcept {
  if (ABSL_PREDICT_FALSE(fault_armed.load(std::memory_order_relaxed))) {
    if (const int error = take_fault(call); error != 0) {
      errno = error;
      return static_cast<decltype(call_kernel())>(-1);
    }
  }
  return call_kernel();
}

namespace sys {

// Any system call, by name: runs `make_call` unless an armed fault plan fails
// this call, and then sets errno and returns -1 without running it.
// `make_call` is the call itself, with the signature and errno behaviour of
// the kernel's: it returns an integer, -1 with errno set on failure. For a
// call that fails with another value (mmap's MAP_FAILED, a nullptr), use the
// overload below. Disarmed it costs what the wrappers below cost.
template <typename F>
inline auto call(SyscallName name, F make_call) noexcept {
  using Result = decltype(make_call());
  static_assert(std::is_integral_v<Result>,
                "sys::call(name, make_call): make_call must return an integer (-1 on failure); "
                "for another result, say what failure returns: sys::call(name, failed, make_call)");
  if (ABSL_PREDICT_FALSE(fault_armed.load(std::memory_order_relaxed))) {
    if (const int error = take_fault(Syscall::kNamed, name.c_str()); error != 0) {
      errno = error;
      return static_cast<Result>(-1);
    }
  }
  return make_call();
}

// The same for a call whose failure is `failed` rather than -1:
//   void* p = sys::call("mremap", MAP_FAILED, [&] { return ::mremap(...); });
template <typename F, typename Failed>
inline auto call(SyscallName name, Failed failed, F make_call) noexcept {
  using Result = decltype(make_call());
  if (ABSL_PREDICT_FALSE(fault_armed.load(std::memory_order_relaxed))) {
    if (const int error = take_fault(Syscall::kNamed, name.c_str()); error != 0) {
      errno = error;
      return static_cast<Result>(failed);
    }
  }
  return make_call();
}

inline int open(const char* path, int flags, mode_t mode = 0) noexcept {
  return through_seam(Syscall::kOpen, [&] { return ::open(path, flags, mode); });
}

// close(2) as Linux does it: the descriptor is released even when close
// reports an error, so an injected failure closes it too, then reports.
inline int close(int fd) noexcept {
  const int error = ABSL_PREDICT_FALSE(fault_armed.load(std::memory_order_relaxed))
                        ? take_fault(Syscall::kClose)
                        : 0;
  const int result = ::close(fd);
  if (error != 0) {
    errno = error;
    return -1;
  }
  return result;
}

inline ssize_t read(int fd, void* buffer, size_t size) noexcept {
  return through_seam(Syscall::kRead, [&] { return ::read(fd, buffer, size); });
}

inline ssize_t write(int fd, const void* buffer, size_t size) noexcept {
  return through_seam(Syscall::kWrite, [&] { return ::write(fd, buffer, size); });
}

inline ssize_t pread(int fd, void* buffer, size_t size, off_t offset) noexcept {
  return through_seam(Syscall::kPread,
                      [&] { return ::pread(fd, buffer, size, offset); });
}

inline ssize_t pwrite(int fd, const void* buffer, size_t size,
                      off_t offset) noexcept {
  return through_seam(Syscall::kPwrite,
                      [&] { return ::pwrite(fd, buffer, size, offset); });
}

inline off_t lseek(int fd, off_t offset, int whence) noexcept {
  return through_seam(Syscall::kLseek,
                      [&] { return ::lseek(fd, offset, whence); });
}

inline int fstat(int fd, struct stat* out) noexcept {
  return through_seam(Syscall::kFstat, [&] { return ::fstat(fd, out); });
}

inline int fsync(int fd) noexcept {
  return through_seam(Syscall::kFsync, [&] { return ::fsync(fd); });
}

inline int fdatasync(int fd) noexcept {
  return through_seam(Syscall::kFdatasync, [&] { return ::fdatasync(fd); });
}

inline int fcntl(int fd, int command, long argument = 0) noexcept {
  return through_seam(Syscall::kFcntl,
                      [&] { return ::fcntl(fd, command, argument); });
}

inline int fcntl(int fd, int command, struct flock* lock) noexcept {
  return through_seam(Syscall::kFcntl,
                      [&] { return ::fcntl(fd, command, lock); });
}

inline int ftruncate(int fd, off_t length) noexcept {
  return through_seam(Syscall::kFtruncate,
                      [&] { return ::ftruncate(fd, length); });
}

inline int socket(int domain, int type, int protocol) noexcept {
  return through_seam(Syscall::kSocket,
                      [&] { return ::socket(domain, type, protocol); });
}

inline int connect(int fd, const sockaddr* address, socklen_t size) noexcept {
  return through_seam(Syscall::kConnect,
                      [&] { return ::connect(fd, address, size); });
}

inline int bind(int fd, const sockaddr* address, socklen_t size) noexcept {
  return through_seam(Syscall::kBind, [&] { return ::bind(fd, address, size); });
}

inline int listen(int fd, int backlog) noexcept {
  return through_seam(Syscall::kListen, [&] { return ::listen(fd, backlog); });
}

inline int accept4(int fd, sockaddr* address, socklen_t* size,
                   int flags) noexcept {
  return through_seam(Syscall::kAccept,
                      [&] { return ::accept4(fd, address, size, flags); });
}

inline ssize_t send(int fd, const void* buffer, size_t size, int flags) noexcept {
  return through_seam(Syscall::kSend,
                      [&] { return ::send(fd, buffer, size, flags); });
}

inline ssize_t recv(int fd, void* buffer, size_t size, int flags) noexcept {
  return through_seam(Syscall::kRecv,
                      [&] { return ::recv(fd, buffer, size, flags); });
}

inline int shutdown(int fd, int how) noexcept {
  return through_seam(Syscall::kShutdown, [&] { return ::shutdown(fd, how); });
}

inline int setsockopt(int fd, int level, int name, const void* value,
                      socklen_t size) noexcept {
  return through_seam(Syscall::kSetsockopt,
                      [&] { return ::setsockopt(fd, level, name, value, size); });
}

inline int getsockopt(int fd, int level, int name, void* value,
                      socklen_t* size) noexcept {
  return through_seam(Syscall::kGetsockopt,
                      [&] { return ::getsockopt(fd, level, name, value, size); });
}

inline int getsockname(int fd, sockaddr* address, socklen_t* size) noexcept {
  return through_seam(Syscall::kGetsockname,
                      [&] { return ::getsockname(fd, address, size); });
}

inline int getpeername(int fd, sockaddr* address, socklen_t* size) noexcept {
  return through_seam(Syscall::kGetpeername,
                      [&] { return ::getpeername(fd, address, size); });
}

inline int poll(pollfd* fds, nfds_t count, int timeout_ms) noexcept {
  return through_seam(Syscall::kPoll,
                      [&] { return ::poll(fds, count, timeout_ms); });
}

inline int unlink(const char* path) noexcept {
  return through_seam(Syscall::kUnlink, [&] { return ::unlink(path); });
}

inline int chmod(const char* path, mode_t mode) noexcept {
  return through_seam(Syscall::kChmod, [&] { return ::chmod(path, mode); });
}

inline int lstat(const char* path, struct stat* out) noexcept {
  return through_seam(Syscall::kLstat, [&] { return ::lstat(path, out); });
}

inline int shm_open(const char* name, int flags, mode_t mode) noexcept {
  return through_seam(Syscall::kShmOpen, [&] { return ::shm_open(name, flags, mode); });
}

inline int shm_unlink(const char* name) noexcept {
  return through_seam(Syscall::kShmUnlink, [&] { return ::shm_unlink(name); });
}

// mmap(2); an injected failure returns MAP_FAILED like the real one.
inline void* mmap(void* address, size_t length, int protection, int flags, int fd,
                  off_t offset) noexcept {
  if (ABSL_PREDICT_FALSE(fault_armed.load(std::memory_order_relaxed))) {
    if (const int error = take_fault(Syscall::kMmap); error != 0) {
      errno = error;
      return MAP_FAILED;
    }
  }
  return ::mmap(address, length, protection, flags, fd, offset);
}

inline int munmap(void* address, size_t length) noexcept {
  return through_seam(Syscall::kMunmap, [&] { return ::munmap(address, length); });
}

// TempDir, TempFile and MappedFile.

inline int openat(int dir_fd, const char* path, int flags, mode_t mode = 0) noexcept {
  return through_seam(Syscall::kOpenat, [&] { return ::openat(dir_fd, path, flags, mode); });
}

inline int mkdirat(int dir_fd, const char* path, mode_t mode) noexcept {
  return through_seam(Syscall::kMkdirat, [&] { return ::mkdirat(dir_fd, path, mode); });
}

inline int unlinkat(int dir_fd, const char* path, int flags) noexcept {
  return through_seam(Syscall::kUnlinkat, [&] { return ::unlinkat(dir_fd, path, flags); });
}

inline ssize_t getdents64(int fd, void* buffer, size_t size) noexcept {
  return through_seam(Syscall::kGetdents64, [&] { return ::getdents64(fd, buffer, size); });
}

inline int statx(int dir_fd, const char* path, int flags, unsigned int mask,
                 struct statx* out) noexcept {
  return through_seam(Syscall::kStatx, [&] { return ::statx(dir_fd, path, flags, mask, out); });
}

inline ssize_t getrandom(void* buffer, size_t size, unsigned int flags) noexcept {
  return through_seam(Syscall::kGetrandom, [&] { return ::getrandom(buffer, size, flags); });
}

inline int msync(void* address, size_t length, int flags) noexcept {
  return through_seam(Syscall::kMsync, [&] { return ::msync(address, length, flags); });
}

// Pipe and Subprocess.

inline int pipe2(int fds[2], int flags) noexcept {
  return through_seam(Syscall::kPipe2, [&] { return ::pipe2(fds, flags); });
}

// write(2) that never raises SIGPIPE: writing to a pipe whose reader is gone
// fails with EPIPE and nothing else, as send(2) with MSG_NOSIGNAL does for a
// socket (write(2) has no such flag). SIGPIPE is blocked in the calling
// thread for the call (the kernel sends it to the writing thread); one that
// this write raised is taken back with sigtimedwait(2) before the old mask
// returns, and one that was pending already is left alone. Costs two
// sigprocmask calls more than write(2) (none when SIGPIPE is blocked
// already). A fault aimed at kWrite fails it like write().
ssize_t write_without_sigpipe_now(int fd, const void* buffer, size_t size) noexcept;
inline ssize_t write_without_sigpipe(int fd, const void* buffer, size_t size) noexcept {
  return through_seam(Syscall::kWrite,
                      [&] { return write_without_sigpipe_now(fd, buffer, size); });
}

// clone3(2) with CLONE_PIDFD | CLONE_VFORK, no CLONE_VM, exit signal
// SIGCHLD: a copy of this process, with a pidfd that refers to it and to
// nothing else (no pid-reuse race). The calling thread resumes once the child
// has called execve(2) or exited. In the child, `in_child(argument)` runs and must end the
// process (execve or _exit); it must make raw system calls only, not through
// this seam, and must not allocate or lock (the child of a threaded
// process). Falls back to clone(2) with CLONE_PIDFD where clone3 is missing
// (ENOSYS). Returns the child's pid and sets `*pidfd`, or -1 with errno.
using ChildMain = void (*)(void* argument) noexcept;
// Marks a function that such a child runs: no sanitizer instrumentation.
#define UNCOPYABLE_CHILD_CODE __attribute__((no_sanitize("address", "thread", "undefined")))
pid_t clone_pidfd_now(int* pidfd, ChildMain in_child, void* argument) noexcept;
inline pid_t clone_pidfd(int* pidfd, ChildMain in_child, void* argument) noexcept {
  return through_seam(Syscall::kClone3,
                      [&] { return clone_pidfd_now(pidfd, in_child, argument); });
}

inline int waitid(idtype_t type, id_t id, siginfo_t* info, int options) noexcept {
  return through_seam(Syscall::kWaitid, [&] { return ::waitid(type, id, info, options); });
}

// pidfd_send_signal(2) with no siginfo and no flags.
int pidfd_send_signal_now(int pidfd, int signal) noexcept;
inline int pidfd_send_signal(int pidfd, int signal) noexcept {
  return through_seam(Syscall::kPidfdSendSignal,
                      [&] { return pidfd_send_signal_now(pidfd, signal); });
}

}  // namespace sys
}  // namespace uncopyable::internal

#endif  // UNCOPYABLE_INTERNAL_SYSCALL_H_
