// uncopyable/internal/transfer.h: the one I/O loop of every byte stream, and
// the one wait for a descriptor to be ready.
//
// File, Socket, Connection, PipeReader and PipeWriter move bytes the same
// way: call the kernel, retry EINTR, finish a short transfer, stop at the end
// of the stream or at the first real error. That loop is written once, here,
// and each handle only says which system call to make and how to word what
// happened:
//
//   internal::Transferred sent = internal::transfer(
//       data.size(), internal::TransferMode::kAll, internal::ZeroBytes::kError,
//       [&](size_t done) { return sys::write(fd, data.data() + done, data.size() - done); });
//   if (!sent.ok()) return internal::transfer_status(sent.error, what, "wrote", sent.done,
//                                                    data.size());
//
// Everything here is inline: the loop costs what a hand-written one does.
// Not part of the public API.
#ifndef UNCOPYABLE_INTERNAL_TRANSFER_H_
#define UNCOPYABLE_INTERNAL_TRANSFER_H_

#include <sys/types.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <string>
#include <utility>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "uncopyable/internal/deadline.h"

namespace uncopyable::internal {

// How far one transfer goes.
enum class TransferMode {
  kAll,   // until every byte moved, the stream ends, or an error
  kSome,  // until one call moved something (or the stream ended): what the
          // kernel takes or has now
};

// What a call that moved 0 bytes of a non-empty request means.
enum class ZeroBytes {
  kEnd,    // the end of the stream (a read at end of file, a peer that closed)
  kError,  // an error: EIO (a write that wrote nothing and said nothing)
};

// What a transfer did.
struct Transferred {
  size_t done = 0;  // bytes moved before it stopped
  int error = 0;    // the errno that stopped it; 0 if it did not fail

  bool ok() const { return error == 0; }
};

// Moves up to `size` bytes with `call(done)`, which makes one system call for
// the bytes from `done` on and returns what that call returns (a count, or -1
// with errno set). EINTR is retried; a short transfer is continued (kAll);
// a call that moves 0 bytes ends the transfer as `zero` says. A `size` of 0
// makes no call at all.
template <typename Call>
ABSL_ATTRIBUTE_ALWAYS_INLINE inline Transferred transfer(size_t size, TransferMode mode,
                                                         ZeroBytes zero, Call call) {
  Transferred result;
  while (result.done < size) {
    const ssize_t n = call(result.done);
    if (ABSL_PREDICT_TRUE(n > 0)) {
      result.done += static_cast<size_t>(n);
      if (mode == TransferMode::kSome) break;
    } else if (n == 0) {
      if (zero == ZeroBytes::kError) result.error = EIO;
      break;
    } else if (errno != EINTR) {
      result.error = errno;
      break;
    }
  }
  return result;
}

// The Status of a transfer that failed part way, in the words every handle
// uses: "<what>: <verb> <done> of <size> bytes, then: <strerror> [ENAME]",
// e.g. `write("/tmp/t"): wrote 4096 of 10000 bytes, then: No space left on
// device [ENOSPC]`. The code is transfer_error()'s.
absl::Status transfer_status(int error, absl::string_view what, absl::string_view verb,
                             size_t done, size_t size);

// The Status of a failed transfer call: errno_status(), with these codes
// fixed for sockets, pipes and FIFOs alike (as absl's own errno table has
// them): would-block (EAGAIN) and a reset (ECONNRESET) are Unavailable;
// a peer gone for good (EPIPE: the reader closed, or the socket was shut
// down) and a socket that is not connected (ENOTCONN) are
// FailedPrecondition, so a loop that retries on Unavailable ends.
absl::Status transfer_error(int error, absl::string_view what);

// Reads a whole stream with `read_all(buffer)`, which reads until `buffer` is
// full or the stream ends (returning how much arrived, fewer bytes only at
// the end) or fails. Chunks start at 4 KiB and double, up to 1 GiB, never
// asking for more than one byte past `max_bytes`: the byte that tells
// "exactly max_bytes" from "more". More than `max_bytes` returns
// `too_long()`, dropping what was read. SIZE_MAX means no limit but memory.
template <typename ReadAll, typename TooLong>
absl::StatusOr<std::string> read_to_end(size_t max_bytes, ReadAll read_all, TooLong too_long) {
  std::string text;
  constexpr size_t kLargestChunk = size_t{1} << 30;
  size_t chunk = 4096;  // doubled each time, up to what is still allowed
  while (true) {
    const size_t had = text.size();  // at most max_bytes: more returned below
    // Written so that max_bytes = SIZE_MAX does not wrap to 0.
    const size_t room = max_bytes - had;
    const size_t want = room < chunk ? room + 1 : chunk;
    text.resize(had + want);
    absl::StatusOr<size_t> got = read_all(absl::MakeSpan(text.data() + had, want));
    if (!got.ok()) return got.status();
    text.resize(had + *got);
    if (text.size() > max_bytes) return too_long();
    if (*got < want) return text;  // read_all stops short only at the end
    chunk = std::min(chunk * 2, kLargestChunk);
  }
}

// Waits until `fd` is ready for `events` (poll(2)) or `deadline` passes,
// retrying EINTR. Returns 0 if ready, ETIMEDOUT if the time ran out first (a
// deadline already past polls nothing), or the errno of a failed poll. For
// a connect in progress, a listener, a pidfd.
int wait_for(int fd, short events, Deadline deadline);

}  // namespace uncopyable::internal

#endif  // UNCOPYABLE_INTERNAL_TRANSFER_H_
