// The README's main command: ./bazelw run //examples:tournament
//
// Until the tournament story lands (it needs the database handles), this
// program tells the core idea with the smallest real resource there is, a
// kernel event counter (eventfd), owned through uncopyable's Fd:
//
//   copy the config, not the connection.
//
// It builds a counter from a config, moves it, rebuilds a fresh counter from
// the same config, shows the two are independent, and closes both
// explicitly. It exits non-zero if anything fails.
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "uncopyable/fd.h"
#include "uncopyable/rebuildable.h"

namespace example {

// Data: what a counter is. Copy it, compare it, keep it.
struct CounterConfig {
  uint32_t initial = 0;    // the count a fresh counter starts at
  bool semaphore = false;  // reads take 1 instead of everything
  friend bool operator==(const CounterConfig&, const CounterConfig&) = default;
};

// A resource: one live kernel counter. Move it; never copy it.
class Counter {
 public:
  using config_type = CounterConfig;

  static absl::StatusOr<Counter> open(const CounterConfig& config) {
    const int fd = ::eventfd(config.initial,
                             EFD_CLOEXEC | (config.semaphore ? EFD_SEMAPHORE : 0));
    if (fd < 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("eventfd(", config.initial, ")"));
    }
    return Counter(config, uncopyable::Fd(fd));
  }
  const CounterConfig& config() const { return config_; }
  absl::StatusOr<Counter> rebuild() const { return open(config_); }

  absl::Status add(uint64_t amount) {
    if (::write(fd_.get(), &amount, sizeof amount) != sizeof amount) {
      return absl::ErrnoToStatus(errno, "eventfd write");
    }
    return absl::OkStatus();
  }
  absl::StatusOr<uint64_t> take() {
    uint64_t value = 0;
    if (::read(fd_.get(), &value, sizeof value) != sizeof value) {
      return absl::ErrnoToStatus(errno, "eventfd read");
    }
    return value;
  }
  [[nodiscard]] absl::Status close() { return fd_.close(); }
  int fd_number() const { return fd_.get(); }

 private:
  Counter(CounterConfig config, uncopyable::Fd fd)
      : config_(config), fd_(std::move(fd)) {}
  CounterConfig config_;
  uncopyable::Fd fd_;
};

}  // namespace example

template <>
struct uncopyable::HandleFor<example::CounterConfig> {
  using type = example::Counter;
};
static_assert(uncopyable::Rebuildable<example::Counter>);
static_assert(!std::is_copy_constructible_v<example::Counter>,
              "a live counter is never copied");

namespace {

absl::Status run() {
  using example::Counter;
  using example::CounterConfig;

  std::printf("1. The config is data: CounterConfig{initial=3}\n");
  const CounterConfig config{.initial = 3};

  std::printf("2. Build a live counter from it with uncopyable::rebuild(config)\n");
  absl::StatusOr<Counter> built = uncopyable::rebuild(config);
  if (!built.ok()) return built.status();
  Counter first = *std::move(built);
  std::printf("   first owns fd %d\n", first.fd_number());

  std::printf("3. `Counter copy = first;` does not compile. Moving is how it travels:\n");
  Counter owner = std::move(first);
  std::printf("   owner now owns fd %d; first is empty\n", owner.fd_number());

  std::printf("4. Need a second one? Rebuild from the config, don't clone:\n");
  absl::StatusOr<Counter> second = owner.rebuild();
  if (!second.ok()) return second.status();
  std::printf("   second owns fd %d, a fresh counter, equal config: %s\n",
              second->fd_number(), second->config() == owner.config() ? "yes" : "no");

  std::printf("5. They are independent: add 2 to owner only\n");
  if (absl::Status s = owner.add(2); !s.ok()) return s;
  absl::StatusOr<uint64_t> owner_count = owner.take();
  absl::StatusOr<uint64_t> second_count = second->take();
  if (!owner_count.ok()) return owner_count.status();
  if (!second_count.ok()) return second_count.status();
  std::printf("   owner counts %llu, second counts %llu\n",
              static_cast<unsigned long long>(*owner_count),
              static_cast<unsigned long long>(*second_count));
  if (*owner_count != 5 || *second_count != 3) {
    return absl::InternalError("the counters are not independent");
  }

  std::printf("6. Close explicitly where the error matters:\n");
  if (absl::Status s = owner.close(); !s.ok()) return s;
  if (absl::Status s = second->close(); !s.ok()) return s;
  std::printf("   both closed, both reported OK\n");
  return absl::OkStatus();
}

}  // namespace

int main() {
  std::printf("uncopyable: copy the config, not the connection.\n\n");
  if (absl::Status status = run(); !status.ok()) {
    std::fprintf(stderr, "tournament: %s\n", status.ToString().c_str());
    return 1;
  }
  std::printf("\nDone.\n");
  return 0;
}
