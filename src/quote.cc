#include "uncopyable/internal/quote.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace uncopyable::internal {

std::string quoted(absl::string_view text, size_t limit) {
  if (text.size() <= limit) return absl::StrCat("\"", absl::CHexEscape(text), "\"");
  // The start and the end: a path's folder and its file name, an SQL
  // statement's verb and its last clause.
  const size_t tail = limit / 2;
  const size_t head = limit - tail;
  return absl::StrCat("\"", absl::CHexEscape(text.substr(0, head)), "\"...\"",
                      absl::CHexEscape(text.substr(text.size() - tail)), "\" (", text.size(),
                      " bytes)");
}

std::string shortened(absl::string_view text, size_t limit) {
  if (text.size() <= limit) return absl::CHexEscape(text);
  return absl::StrCat(absl::CHexEscape(text.substr(0, limit)), "... (", text.size(), " bytes)");
}

}  // namespace uncopyable::internal
