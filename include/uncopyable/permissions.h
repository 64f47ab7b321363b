// uncopyable/permissions.h: Permissions, the mode bits of a file or socket
// that is created, as a value.
//
//   uncopyable::FileConfig config{.path = "journal.log",
//                                 .access = uncopyable::FileAccess::write,
//                                 .create = true,
//                                 .permissions = uncopyable::Permissions(0640)};
//   config.permissions.to_string();                     // "0640"
//   uncopyable::Permissions::from_string("600");        // Permissions(0600)
//
// Its own header so that a config holding one (FileConfig, ListenerConfig)
// needs nothing else of the other's.
#ifndef UNCOPYABLE_PERMISSIONS_H_
#define UNCOPYABLE_PERMISSIONS_H_

#include <sys/types.h>

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace uncopyable {

// Permission bits for a file that open() creates, written in octal ("0640").
class Permissions {
 public:
  constexpr Permissions() = default;
  constexpr explicit Permissions(mode_t bits) : bits_(bits) {}
  constexpr mode_t bits() const { return bits_; }

  // "0600": four octal digits.
  std::string to_string() const;
  // Three or four octal digits, at most 07777: "600", "0640", "1777".
  static absl::StatusOr<Permissions> from_string(absl::string_view text);

  friend constexpr bool operator==(Permissions, Permissions) = default;
  template <typename H>
  friend H AbslHashValue(H state, Permissions permissions) {
    return H::combine(std::move(state), permissions.bits_);
  }

 private:
  mode_t bits_ = 0600;
};

}  // namespace uncopyable

#endif  // UNCOPYABLE_PERMISSIONS_H_
