// uncopyable/secret.h: Secret<T>, a value that never prints itself.
//
//   uncopyable::Secret<std::string> password("hunter2");
//   std::cout << password;           // ***
//   absl::StrCat(password);          // does not compile
//   connect(user, password.reveal());  // the one way to the value: by name
//
// A Secret compares and hashes like the T it holds, so configs holding one
// stay regular values that key hash maps. Every printing path of uncopyable
// (operator<<, AbslStringify, config printing, JSON and URL export) shows
// `***` unless the caller asks for secrets explicitly, and error messages
// never quote a secret.
#ifndef UNCOPYABLE_SECRET_H_
#define UNCOPYABLE_SECRET_H_

#include <ostream>
#include <type_traits>
#include <utility>

namespace uncopyable {

// What every printing path shows instead of a secret.
inline constexpr char kRedacted[] = "***";

// Whether an export (JSON, URL) shows secrets or `***`.
enum class Secrets : bool {
  kRedact,  // the default: safe to log
  kReveal,  // for a form another process must rebuild from
};

template <typename T>
class Secret {
 public:
  using value_type = T;

  Secret() = default;
  explicit Secret(T value) : value_(std::move(value)) {}

  // The value itself. Named so that every use is visible in review.
  [[nodiscard]] const T& reveal() const { return value_; }

  // Whether it holds T's empty value (no password at all, say).
  [[nodiscard]] bool empty() const
    requires requires(const T& value) { value.empty(); }
  {
    return value_.empty();
  }

  friend bool operator==(const Secret&, const Secret&) = default;

  template <typename H>
  friend H AbslHashValue(H state, const Secret& secret) {
    return H::combine(std::move(state), secret.value_);
  }

  template <typename Sink>
  friend void AbslStringify(Sink& sink, const Secret&) {
    sink.Append(kRedacted);
  }

  friend std::ostream& operator<<(std::ostream& stream, const Secret&) {
    return stream << kRedacted;
  }

 private:
  T value_{};
};

template <typename T>
struct IsSecret : std::false_type {};
template <typename T>
struct IsSecret<Secret<T>> : std::true_type {};

}  // namespace uncopyable

#endif  // UNCOPYABLE_SECRET_H_
