// uncopyable/internal/quote.h: user data quoted in a message, kept short.
//
// A path, SQL text or a server's words can be megabytes long and hold any
// byte. Every message that quotes such data goes through quoted(), so that a
// message stays a readable line whatever the input:
//
//   quoted("/tmp/t.db")          => "/tmp/t.db"
//   quoted("a\nb\xff")           => "a\nb\xff"            (escaped, one line)
//   quoted(ten_megabyte_path)    => "/aaaa…aaa"..."aaa…/t.db" (10485760 bytes)
//
// Control characters, quotes, backslashes and bytes that are not ASCII are
// C-escaped, so raw non-UTF-8 bytes from a server never reach a log as-is.
#ifndef UNCOPYABLE_INTERNAL_QUOTE_H_
#define UNCOPYABLE_INTERNAL_QUOTE_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace uncopyable::internal {

// How many bytes of user data a message quotes before it cuts the rest.
inline constexpr size_t kQuotedBytes = 200;

// `text` in double quotes, C-escaped; past `limit` bytes, only its first and
// last `limit / 2` bytes, each quoted, with `...` between them and its whole
// length after: "/very/long/fol"..."der/file.db" (4200 bytes).
std::string quoted(absl::string_view text, size_t limit = kQuotedBytes);

// The same without the quotes, for text that is already a sentence (a
// server's error message): escaped, and cut past `limit` bytes.
std::string shortened(absl::string_view text, size_t limit = kQuotedBytes * 2);

}  // namespace uncopyable::internal

#endif  // UNCOPYABLE_INTERNAL_QUOTE_H_
