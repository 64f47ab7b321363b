#include "uncopyable/internal/syscall.h"

#include <sched.h>
#include <signal.h>  // NOLINT(modernize-deprecated-headers): POSIX sigtimedwait()
#include <sys/syscall.h>

#include <cstdint>

namespace uncopyable::internal {

const char* syscall_name(Syscall call) noexcept {
  switch (call) {
    case Syscall::kOpen: return "open";
    case Syscall::kClose: return "close";
    case Syscall::kRead: return "read";
    case Syscall::kWrite: return "write";
    case Syscall::kPread: return "pread";
    case Syscall::kPwrite: return "pwrite";
    case Syscall::kLseek: return "lseek";
    case Syscall::kFstat: return "fstat";
    case Syscall::kFsync: return "fsync";
    case Syscall::kFdatasync: return "fdatasync";
    case Syscall::kFcntl: return "fcntl";
    case Syscall::kFtruncate: return "ftruncate";
    case Syscall::kSocket: return "socket";
    case Syscall::kConnect: return "connect";
    case Syscall::kBind: return "bind";
    case Syscall::kListen: return "listen";
    case Syscall::kAccept: return "accept4";
    case Syscall::kSend: return "send";
    case Syscall::kRecv: return "recv";
    case Syscall::kShutdown: return "shutdown";
    case Syscall::kSetsockopt: return "setsockopt";
    case Syscall::kGetsockopt: return "getsockopt";
    case Syscall::kGetsockname: return "getsockname";
    case Syscall::kGetpeername: return "getpeername";
    case Syscall::kPoll: return "poll";
    case Syscall::kUnlink: return "unlink";
    case Syscall::kChmod: return "chmod";
    case Syscall::kLstat: return "lstat";
    case Syscall::kShmOpen: return "shm_open";
    case Syscall::kShmUnlink: return "shm_unlink";
    case Syscall::kMmap: return "mmap";
    case Syscall::kMunmap: return "munmap";
    // TempDir, TempFile and MappedFile.
    case Syscall::kOpenat: return "openat";
    case Syscall::kMkdirat: return "mkdirat";
    case Syscall::kUnlinkat: return "unlinkat";
    case Syscall::kGetdents64: return "getdents64";
    case Syscall::kStatx: return "statx";
    case Syscall::kGetrandom: return "getrandom";
    case Syscall::kMsync: return "msync";
    // Pipe and Subprocess.
    case Syscall::kPipe2: return "pipe2";
    case Syscall::kClone3: return "clone3";
    case Syscall::kWaitid: return "waitid";
    case Syscall::kPidfdSendSignal: return "pidfd_send_signal";
    case Syscall::kNamed: return "named";
  }
  return "unknown";
}

namespace {
std::atomic<FaultHandler> fault_handler{nullptr};
}  // namespace

void set_fault_handler(FaultHandler handler) noexcept {
  fault_handler.store(handler, std::memory_order_release);
  fault_armed.store(handler != nullptr, std::memory_order_release);
}

int take_fault(Syscall call, const char* name) noexcept {
  const FaultHandler handler = fault_handler.load(std::memory_order_acquire);
  return handler == nullptr ? 0 : handler(call, name);
}

namespace sys {

ssize_t write_without_sigpipe_now(int fd, const void* buffer, size_t size) noexcept {
  sigset_t sigpipe;
  sigemptyset(&sigpipe);
  sigaddset(&sigpipe, SIGPIPE);
  sigset_t before;
  ::pthread_sigmask(SIG_BLOCK, &sigpipe, &before);  // cannot fail: a valid `how`
  const bool was_blocked = sigismember(&before, SIGPIPE) == 1;
  // A SIGPIPE can be pending only if it was blocked already; it is not ours.
  bool was_pending = false;
  if (was_blocked) {
    sigset_t pending;
    was_pending = ::sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
  }
  const ssize_t result = ::write(fd, buffer, size);
  const int error = errno;
  if (result < 0 && error == EPIPE && !was_pending) {
    const timespec now = {0, 0};
    while (::sigtimedwait(&sigpipe, nullptr, &now) < 0 && errno == EINTR) {
    }
  }
  if (!was_blocked) ::pthread_sigmask(SIG_SETMASK, &before, nullptr);
  errno = error;
  return result;
}

namespace {

// struct clone_args of <linux/sched.h> up to `tls` (CLONE_ARGS_SIZE_VER0,
// Linux 5.3), written out here: that header and <sched.h> both define the
// CLONE_* flags.
struct CloneArgs {
  uint64_t flags;
  uint64_t pidfd;
  uint64_t child_tid;
  uint64_t parent_tid;
  uint64_t exit_signal;
  uint64_t stack;
  uint64_t stack_size;
  uint64_t tls;
};
static_assert(sizeof(CloneArgs) == 64);

}  // namespace

// Not instrumented: the child returns from the system call into this frame
// and must run nothing but `in_child` (no sanitizer runtime, whose locks
// another thread of the parent may have held at the copy).
__attribute__((noinline)) UNCOPYABLE_CHILD_CODE
pid_t clone_pidfd_now(int* pidfd, ChildMain in_child, void* argument) noexcept {
  constexpr uint64_t kFlags = CLONE_PIDFD | CLONE_VFORK;
  CloneArgs args = {};
  args.flags = kFlags;
  args.pidfd = reinterpret_cast<uintptr_t>(pidfd);
  args.exit_signal = SIGCHLD;
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0 && errno == ENOSYS) {
    // clone(2) (Linux 5.2) puts the pidfd where parent_tid points; no new
    // stack, so the child returns here like fork(2)'s does.
    pid = ::syscall(SYS_clone, kFlags | SIGCHLD, nullptr, pidfd, nullptr, nullptr);
  }
  if (pid == 0) {
    in_child(argument);
    ::syscall(SYS_exit_group, 127);  // in_child must not return; if it does
  }
  return static_cast<pid_t>(pid);
}

int pidfd_send_signal_now(int pidfd, int signal) noexcept {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, signal, nullptr, 0));
}

}  // namespace sys

}  // namespace uncopyable::internal
