#include "uncopyable/internal/syscall.h"

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

int take_fault(Syscall call) noexcept {
  const FaultHandler handler = fault_handler.load(std::memory_order_acquire);
  return handler == nullptr ? 0 : handler(call);
}

}  // namespace uncopyable::internal
