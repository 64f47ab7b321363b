#include "uncopyable/permissions.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "uncopyable/config.h"

namespace uncopyable {

std::string Permissions::to_string() const {
  return absl::StrFormat("%04o", static_cast<unsigned>(bits_));
}

absl::StatusOr<Permissions> Permissions::from_string(absl::string_view text) {
  mode_t bits = 0;
  bool octal = text.size() == 3 || text.size() == 4;
  for (const char c : text) {
    octal = octal && c >= '0' && c <= '7';
    if (octal) bits = bits * 8 + static_cast<mode_t>(c - '0');
  }
  if (!octal) {
    return absl::InvalidArgumentError(absl::StrCat(
        config_internal::quote_for_message(text),
        " is not a file mode (three or four octal digits, like \"0640\")"));
  }
  return Permissions(bits);
}

}  // namespace uncopyable
