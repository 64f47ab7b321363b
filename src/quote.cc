#include "uncopyable/internal/quote.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace uncopyable::internal {

std::string quoted(absl::string_view text, size_t limit) {
  if (text.size() <= limit) return absl::StrCat("\"", absl::CHexEscape(text), "\"");
  return absl::StrCat("\"", absl::CHexEscape(text.substr(0, limit)), "\"... (", text.size(),
                      " bytes)");
}

std::string shortened(absl::string_view text, size_t limit) {
  if (text.size() <= limit) return absl::CHexEscape(text);
  return absl::StrCat(absl::CHexEscape(text.substr(0, limit)), "... (", text.size(), " bytes)");
}

}  // namespace uncopyable::internal
