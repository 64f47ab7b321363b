// The Rebuildable concept and uncopyable::rebuild(), shown with a small
// handle built the way every uncopyable handle is: a regular config, an Fd,
// open(config), config(), rebuild().
#include "uncopyable/rebuildable.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "uncopyable/fd.h"
#include "uncopyable/internal/errno_status.h"
#include "uncopyable/internal/syscall.h"

namespace uncopyable {
namespace {

// Test-only: the data that describes an open device file.
struct DeviceConfig {
  std::string path = "/dev/null";  // the device to open
  bool writable = false;           // O_RDWR instead of O_RDONLY
  friend bool operator==(const DeviceConfig&, const DeviceConfig&) = default;
};

// Test-only: an open device file.
class Device {
 public:
  using config_type = DeviceConfig;

  static absl::StatusOr<Device> open(const DeviceConfig& config) {
    const int fd = internal::sys::open(
        config.path.c_str(), (config.writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) {
      return internal::errno_status(errno, "open(\"" + config.path + "\")");
    }
    return Device(config, Fd(fd));
  }
  const DeviceConfig& config() const { return config_; }
  absl::StatusOr<Device> rebuild() const { return open(config_); }
  FdView fd() const { return fd_; }

 private:
  Device(DeviceConfig config, Fd fd) : config_(std::move(config)), fd_(std::move(fd)) {}
  DeviceConfig config_;
  Fd fd_;
};

}  // namespace

template <>
struct HandleFor<DeviceConfig> {
  using type = Device;
};

namespace {

static_assert(Rebuildable<Device>);
// An Fd owns a resource but has no config to rebuild it from.
static_assert(!Rebuildable<Fd>);

// Something copyable is data, not a handle.
struct CopyableHandle {
  using config_type = DeviceConfig;
  static absl::StatusOr<CopyableHandle> open(const DeviceConfig&);
  const DeviceConfig& config() const;
  absl::StatusOr<CopyableHandle> rebuild() const;
};
static_assert(!Rebuildable<CopyableHandle>);

// A config must be a regular value type: copyable and comparable.
struct IncomparableConfig {};
struct HandleOfIncomparable {
  using config_type = IncomparableConfig;
  HandleOfIncomparable(HandleOfIncomparable&&) noexcept = default;
  HandleOfIncomparable& operator=(HandleOfIncomparable&&) noexcept = default;
  static absl::StatusOr<HandleOfIncomparable> open(const IncomparableConfig&);
  const IncomparableConfig& config() const;
  absl::StatusOr<HandleOfIncomparable> rebuild() const;
};
static_assert(!Rebuildable<HandleOfIncomparable>);

// A handle that can only be adopted, never built (like an accepted socket).
struct AcceptedOnly {
  using config_type = DeviceConfig;
  AcceptedOnly(AcceptedOnly&&) noexcept = default;
  AcceptedOnly& operator=(AcceptedOnly&&) noexcept = default;
  const DeviceConfig& config() const;
};
static_assert(!Rebuildable<AcceptedOnly>);

template <typename Config>
concept CanRebuildFrom = requires(const Config& c) { uncopyable::rebuild(c); };
static_assert(CanRebuildFrom<DeviceConfig>);
static_assert(!CanRebuildFrom<IncomparableConfig>);  // no handle for it

TEST(RebuildableTest, FreeRebuildFindsTheHandleFromTheConfig) {
  const DeviceConfig config{.path = "/dev/zero"};
  absl::StatusOr<Device> device = uncopyable::rebuild(config);
  ASSERT_TRUE(device.ok()) << device.status();
  EXPECT_EQ(device->config(), config);
  char byte = 1;
  EXPECT_EQ(::read(device->fd().get(), &byte, 1), 1);
  EXPECT_EQ(byte, 0);
}

TEST(RebuildableTest, RebuildMakesAFreshIndependentResource) {
  absl::StatusOr<Device> first = uncopyable::rebuild(DeviceConfig{});
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<Device> second = first->rebuild();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->config(), first->config());
  EXPECT_NE(second->fd().get(), first->fd().get());
  // Independent open file descriptions, not dup()s of one: changing the
  // status flags of one leaves the other alone.
  ASSERT_EQ(::fcntl(first->fd().get(), F_SETFL, O_NONBLOCK), 0);
  EXPECT_NE(::fcntl(first->fd().get(), F_GETFL) & O_NONBLOCK, 0);
  EXPECT_EQ(::fcntl(second->fd().get(), F_GETFL) & O_NONBLOCK, 0);
}

TEST(RebuildableTest, FailureNamesThePath) {
  absl::StatusOr<Device> device =
      uncopyable::rebuild(DeviceConfig{.path = "/dev/no-such-device"});
  ASSERT_FALSE(device.ok());
  EXPECT_EQ(device.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(device.status().message(),
            "open(\"/dev/no-such-device\"): No such file or directory [ENOENT]");
}

}  // namespace
}  // namespace uncopyable
