// The descriptor ownership table (uncopyable/internal/fd_table.h).
#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "uncopyable/check.h"
#include "uncopyable/fd.h"
#include "uncopyable/fd_ownership.h"
#include "uncopyable/internal/fd_table.h"
#include "uncopyable/internal/process.h"

namespace uncopyable {
namespace internal::fd_table {

constinit std::atomic<Tag> first_chunk[kFirstChunkSize] = {};

namespace {

// Chunk k (1..21) holds the numbers with k + 10 bits, [2^(k+9), 2^(k+10)):
// 1024 of them for k = 1, doubling each time, up to INT_MAX.
constexpr int kFirstChunkBits = std::bit_width(unsigned{kFirstChunkSize}) - 1;  // 10
constexpr int kChunks = 32 - kFirstChunkBits;
constinit std::atomic<std::atomic<Tag>*> chunks[kChunks] = {};

static_assert(kFirstChunkSize == 1 << kFirstChunkBits);

// Where chunk `k` starts, and how many slots it has.
constexpr size_t chunk_base(int k) { return size_t{1} << (k + kFirstChunkBits - 1); }

// The kinds that have named an owner, by number; 0 is "none", 1 a plain Fd.
constexpr FdOwnerKind kPlainFd{"Fd", nullptr};
constexpr int kMaxKinds = 256;
constinit std::atomic<const FdOwnerKind*> kinds[kMaxKinds] = {nullptr, &kPlainFd};
constinit std::atomic<int> kinds_used{2};

// The number of `kind`, registered on first use. Two threads registering one
// kind at once may give it two numbers; both name it. Past 255 kinds, new
// ones are named as plain Fds.
unsigned kind_number(const FdOwnerKind& kind) noexcept {
  const int used = std::min(kinds_used.load(std::memory_order_acquire), kMaxKinds);
  for (int i = 2; i < used; ++i) {
    if (kinds[i].load(std::memory_order_acquire) == &kind) return static_cast<unsigned>(i);
  }
  const int mine = kinds_used.fetch_add(1, std::memory_order_acq_rel);
  if (mine >= kMaxKinds) return kPlainFdKind;
  kinds[mine].store(&kind, std::memory_order_release);
  return static_cast<unsigned>(mine);
}

// A forked child's tags must differ from its parent's: count forks from the
// start.
[[maybe_unused]] const bool counting_forks = (watch_forks(), true);

}  // namespace

std::atomic<Tag>* slot_in_chunks(int fd, bool create) noexcept {
  const auto number = static_cast<unsigned>(fd);
  const int k = static_cast<int>(std::bit_width(number)) - kFirstChunkBits;  // 1.. for fd >= 1024
  const size_t base = chunk_base(k);
  std::atomic<Tag>* chunk = chunks[k].load(std::memory_order_acquire);
  if (chunk == nullptr) {
    if (!create) return nullptr;
    // Zeroed slots straight from the kernel: not through the system-call
    // seam (a fault injected into a handle's mmap must not land here), and
    // not from malloc (a chunk lives as long as the process, and lookups run
    // inside any close()). Pages never touched cost nothing.
    void* memory = ::mmap(nullptr, base * sizeof(std::atomic<Tag>), PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (memory == MAP_FAILED) return nullptr;  // this number goes unrecorded
    auto* made = static_cast<std::atomic<Tag>*>(memory);
    if (chunks[k].compare_exchange_strong(chunk, made, std::memory_order_acq_rel)) {
      chunk = made;
    } else {
      ::munmap(memory, base * sizeof(std::atomic<Tag>));  // another thread won
    }
  }
  return &chunk[number - base];
}

void already_owned(int fd, std::string_view operation, Tag old) noexcept {
  if (operation.empty()) operation = "Fd";
  char call[48];  // "Fd(7)", "reset(7)"
  std::snprintf(call, sizeof call, "%.*s(%d)", static_cast<int>(operation.size()),
                operation.data(), fd);
  const OwnerText owner = describe(old);
  misuse_on("Fd", call, owner.resource,
            "adopting a descriptor already owned by %s; a descriptor has one owner, and only it "
            "may close it",
            owner.type.c_str());
}

void set_owner(int fd, const FdOwnerKind& kind, const void* owner) noexcept {
  std::atomic<Tag>* s = slot(fd, /*create=*/false);
  if (s == nullptr) return;  // its adoption could not be recorded either
  Tag address = reinterpret_cast<uintptr_t>(owner);
  if (address > kAddressMask || kind.describe == nullptr) address = 0;
  s->store(this_generation() | (Tag{kind_number(kind)} << kKindShift) | address,
           std::memory_order_release);
}

int first_owned(unsigned first, unsigned last) noexcept {
  if (last > INT_MAX) last = INT_MAX;
  if (first > last) return -1;
  for (unsigned fd = first; fd <= last && fd < kFirstChunkSize; ++fd) {
    if (owned_here(first_chunk[fd].load(std::memory_order_acquire))) return static_cast<int>(fd);
  }
  for (int k = 1; k < kChunks; ++k) {
    const std::atomic<Tag>* chunk = chunks[k].load(std::memory_order_acquire);
    const size_t base = chunk_base(k);
    if (chunk == nullptr || base > last) continue;
    const size_t from = std::max<size_t>(base, first);
    const size_t to = std::min<size_t>(2 * base - 1, last);
    for (size_t fd = from; fd <= to; ++fd) {
      if (owned_here(chunk[fd - base].load(std::memory_order_acquire))) {
        return static_cast<int>(fd);
      }
    }
  }
  return -1;
}

OwnerText describe(Tag tag) {
  const FdOwnerKind* kind =
      kinds[(tag >> kKindShift) & 0xffU].load(std::memory_order_acquire);
  if (kind == nullptr) return {"a handle", ""};
  OwnerText text{std::string(kind->name), ""};
  const void* owner = reinterpret_cast<const void*>(static_cast<uintptr_t>(tag & kAddressMask));
  if (owner != nullptr && kind->describe != nullptr) text.resource = kind->describe(owner);
  return text;
}

std::string owner_name(int fd) {
  const Tag tag = owner_of(fd);
  if (tag == 0) return std::string();
  const OwnerText owner = describe(tag);
  return owner.resource.empty() ? owner.type : absl::StrCat(owner.type, " (", owner.resource, ")");
}

}  // namespace internal::fd_table

void Fd::set_owner(const FdOwnerKind& kind, const void* owner) noexcept {
  if (is_valid()) internal::fd_table::set_owner(get(), kind, owner);
}

}  // namespace uncopyable
