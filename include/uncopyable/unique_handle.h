// uncopyable/unique_handle.h: UniqueHandle<Traits>, the one move-only owner.
//
// Every handle in uncopyable owns its resource through this template. The
// traits say what the raw value is, which value means "nothing", and how to
// close it; the template does the owning, once and for all:
//
//   struct SemaphoreTraits {
//     using value_type = sem_t*;
//     static constexpr std::string_view kName = "Semaphore";
//     static constexpr sem_t* invalid() noexcept { return nullptr; }
//     static constexpr bool is_valid(sem_t* s) noexcept { return s != nullptr; }
//     static absl::Status close(sem_t* s);  // sem_close, errors as Status
//   };
//   using Semaphore = uncopyable::UniqueHandle<SemaphoreTraits>;
//
//   Semaphore sem(sem_open("/jobs", O_CREAT, 0600, 1));  // owns it now
//   Semaphore other = std::move(sem);  // `other` owns it; `sem` is empty
//   absl::Status closed = other.close();  // closed once; the error is yours
//   // A copy is a compile error. Using `sem` or closing `other` again aborts
//   // with "uncopyable: Semaphore::get() on a moved-from handle" and the like.
//
// Ownership is never a run-time flag: a UniqueHandle that holds a value owns
// it and closes it exactly once, in close(), reset() or its destructor.
//
// Traits may also give each kind of emptiness its own invalid value (see
// HandleState and `vacant()` below). Then misuse messages say whether the
// handle was moved from, closed or released, at no cost in size: an `Fd` is
// one int, whose -1, -2, -3 and -4 mean empty, moved-from, closed, released.
#ifndef UNCOPYABLE_UNIQUE_HANDLE_H_
#define UNCOPYABLE_UNIQUE_HANDLE_H_

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/base/attributes.h"
#include "absl/status/status.h"
#include "uncopyable/check.h"

namespace uncopyable {

// What a handle holds: a live value, or why it holds none.
enum class HandleState : unsigned char {
  kHeld,       // owns a live value
  kEmpty,      // default-constructed or reset()
  kMovedFrom,  // its value was moved to another handle
  kClosed,     // close() was called
  kReleased,   // release() handed the value to the caller
};

// "a moved-from handle", "a closed handle", ...: for misuse messages.
constexpr const char* describe(HandleState state) noexcept {
  switch (state) {
    case HandleState::kHeld: return "a live handle";
    case HandleState::kEmpty: return "an empty handle";
    case HandleState::kMovedFrom: return "a moved-from handle";
    case HandleState::kClosed: return "a closed handle";
    case HandleState::kReleased: return "a released handle";
  }
  return "a handle in an unknown state";
}

// What a traits type must provide. Stateless traits (only static members, as
// above) cost no space; traits with state are stored in the handle.
template <typename T>
concept HandleTraits =
    std::is_trivially_copyable_v<typename T::value_type> &&
    std::equality_comparable<typename T::value_type> &&
    std::is_nothrow_move_constructible_v<T> &&
    std::is_nothrow_move_assignable_v<T> &&
    requires(T& traits, typename T::value_type value) {
      // The handle type's name, used in every misuse message.
      { T::kName } -> std::convertible_to<std::string_view>;
      // The value that holds nothing.
      { T::invalid() } noexcept -> std::same_as<typename T::value_type>;
      // Whether a value is a live resource that close() may be given.
      { T::is_valid(value) } noexcept -> std::same_as<bool>;
      // Releases the resource exactly once; reports the failure, if any.
      // It is never called twice for one value, nor retried.
      { traits.close(value) } -> std::same_as<absl::Status>;
    };

// Optional: a close for destructors and reset(), where no error can be
// returned, so no Status need be built. Same contract as close(), silent.
template <typename T>
concept HandleTraitsWithQuietClose =
    HandleTraits<T> && requires(T& traits, typename T::value_type value) {
      { traits.close_quietly(value) } noexcept -> std::same_as<void>;
    };

// Optional: one distinct invalid value per kind of emptiness, so that the
// handle can say which it is without a flag. `T::is_valid` must be false for
// each of them.
template <typename T>
concept HandleTraitsWithStates =
    HandleTraits<T> && requires(HandleState state) {
      { T::vacant(state) } noexcept -> std::same_as<typename T::value_type>;
    };

// Optional: traits that keep a record of who owns each value (Fd's ownership
// table, uncopyable/fd_ownership.h). `adopt` is called when a handle takes a
// value (constructor: `operation` "", reset: "reset") and may abort if the
// value has an owner already; `disown` when release() gives it away. Closing
// is the traits' own close(), which clears the record itself. Moves and
// swaps call neither: the value keeps its owner.
template <typename T>
concept HandleTraitsWithOwnership =
    HandleTraits<T> && requires(typename T::value_type value, std::string_view operation) {
      { T::adopt(value, operation) } noexcept -> std::same_as<void>;
      { T::disown(value) } noexcept -> std::same_as<void>;
    };

// A base for the traits of a resource held by address (a pointer from a C
// library, a mapping): the value is the address as an integer, so that each
// kind of emptiness has its own value (0 to 3, never an address) and misuse
// messages can say "moved-from" or "closed". Convert with reinterpret_cast.
struct AddressTraits {
  using value_type = uintptr_t;
  static constexpr uintptr_t invalid() noexcept { return 0; }
  static constexpr uintptr_t vacant(HandleState state) noexcept {
    return static_cast<uintptr_t>(state) - 1;  // kEmpty 0, kMovedFrom 1, ...
  }
  static constexpr bool is_valid(uintptr_t address) noexcept { return address > 3; }
};

template <HandleTraits Traits>
class UniqueHandle {
 public:
  using traits_type = Traits;
  using value_type = typename Traits::value_type;

  // An empty handle: owns nothing, closes nothing.
  constexpr UniqueHandle() noexcept : value_(vacant(HandleState::kEmpty)) {}

  // Takes ownership of `value`, which must be valid: adopting an invalid
  // value (a negative fd, a null pointer) is misuse.
  explicit UniqueHandle(value_type value, Traits traits = Traits()) noexcept
      : value_(value), traits_(std::move(traits)) {
    if (!Traits::is_valid(value)) misuse_value("", "adopting an invalid value", value);
    if constexpr (HandleTraitsWithOwnership<Traits>) Traits::adopt(value, "");
  }

  // Moves ownership; `other` is left moved-from (empty) and any later use of
  // it but reset(), assignment or destruction is misuse.
  UniqueHandle(UniqueHandle&& other) noexcept
      : value_(std::exchange(other.value_, vacant(HandleState::kMovedFrom))),
        traits_(std::move(other.traits_)) {}

  // Closes what this handle held (its close error cannot be reported here:
  // call close() first where it matters), then takes over `other`'s value.
  // Assigning a handle to itself changes nothing.
  UniqueHandle& operator=(UniqueHandle&& other) noexcept {
    if (this != &other) {
      close_quietly();
      value_ = std::exchange(other.value_, vacant(HandleState::kMovedFrom));
      traits_ = std::move(other.traits_);
    }
    return *this;
  }

  UniqueHandle(const UniqueHandle&) = delete;
  UniqueHandle& operator=(const UniqueHandle&) = delete;

  // Closes the value, if it holds one. A close error is lost here: call
  // close() where it matters.
  ~UniqueHandle() { close_quietly(); }

  // The raw value, still owned by this handle. Misuse if it holds none.
  [[nodiscard]] value_type get() const noexcept {
    require_held("get()");
    return value_;
  }

  // The same, naming the handle type's own `operation` in the misuse
  // message: "Mutex::lock() on a moved-from handle".
  [[nodiscard]] value_type get_for(const char* operation) const noexcept {
    require_held(operation);
    return value_;
  }

  // The same, for handle types that wrap this one under their own name:
  // "File::read() on a closed handle (file \"/tmp/t\")", or "... on a
  // moved-from handle". `closed_context()` names the resource (a path, an
  // endpoint); it is called only when there is a misuse to report.
  template <typename Context>
  [[nodiscard]] value_type get_as(const char* type, const char* operation,
                                  const Context& closed_context) const {
    if (ABSL_PREDICT_FALSE(!is_valid())) {
      if (state() == HandleState::kClosed) {
        misuse("%s::%s on a closed handle (%s)", type, operation,
               std::string(closed_context()).c_str());
      }
      misuse("%s::%s on %s", type, operation, describe(state()));
    }
    return value_;
  }

  // The raw value, whatever it is (a vacant value if it holds none), with no
  // check: for a handle type's hot path that has checked is_valid() itself,
  // in the same expression, so that one compare serves both.
  [[nodiscard]] value_type get_unchecked() const noexcept { return value_; }

  // Whether it holds a live value.
  [[nodiscard]] bool is_valid() const noexcept { return Traits::is_valid(value_); }
  explicit operator bool() const noexcept { return is_valid(); }

  // What it holds, or why it holds nothing.
  [[nodiscard]] HandleState state() const noexcept {
    if (is_valid()) return HandleState::kHeld;
    if constexpr (!HandleTraitsWithStates<Traits>) return HandleState::kEmpty;
    for (HandleState s : {HandleState::kMovedFrom, HandleState::kClosed,
                          HandleState::kReleased}) {
      if (value_ == vacant(s)) return s;
    }
    return HandleState::kEmpty;
  }

  // Gives up ownership: returns the value, which the caller must now close,
  // and leaves the handle released (empty). Misuse if it holds none.
  [[nodiscard]] value_type release() noexcept {
    require_held("release()");
    const value_type value = std::exchange(value_, vacant(HandleState::kReleased));
    if constexpr (HandleTraitsWithOwnership<Traits>) Traits::disown(value);
    return value;
  }

  // Closes what it holds, if anything (the close error is lost), and leaves
  // it empty. Fine on any handle, moved-from ones included.
  ABSL_ATTRIBUTE_REINITIALIZES void reset() noexcept {
    close_quietly();
    value_ = vacant(HandleState::kEmpty);
  }

  // Closes what it holds, if anything (the close error is lost), and takes
  // ownership of `value`. Adopting an invalid value, or the very value it
  // holds (which would be closed and then kept), is misuse.
  ABSL_ATTRIBUTE_REINITIALIZES void reset(value_type value) noexcept {
    if (!Traits::is_valid(value)) misuse_value("reset", "adopting an invalid value", value);
    if (is_valid() && value == value_) {
      misuse_value("reset", "the value it already holds would be closed and kept", value);
    }
    close_quietly();
    if constexpr (HandleTraitsWithOwnership<Traits>) Traits::adopt(value, "reset");
    value_ = value;
  }

  // The traits it holds, for a handle type whose rule may change while it
  // holds a value (TempDir::set_keep() turns its removal off).
  [[nodiscard]] Traits& traits() noexcept { return traits_; }
  [[nodiscard]] const Traits& traits() const noexcept { return traits_; }

  // Exchanges what two handles hold.
  void swap(UniqueHandle& other) noexcept {
    using std::swap;
    swap(value_, other.value_);
    swap(traits_, other.traits_);
  }
  friend void swap(UniqueHandle& a, UniqueHandle& b) noexcept { a.swap(b); }

  // Closes the value now and returns the error the close reported, if any;
  // the handle is closed (empty) either way. Closing a handle that holds
  // nothing — twice, after a move or release, or never opened — is misuse.
  [[nodiscard]] absl::Status close() {
    require_held("close()");
    return traits_.close(std::exchange(value_, vacant(HandleState::kClosed)));
  }

  // Aborts with "uncopyable: <Name>::<operation> on a moved-from handle" (or
  // closed, released, empty) unless the handle holds a value. For handle
  // types built on this one, to check their own operations the same way.
  void require_held(const char* operation) const noexcept {
    if (ABSL_PREDICT_FALSE(!is_valid())) {
      const std::string_view name = Traits::kName;
      misuse("%.*s::%s on %s", static_cast<int>(name.size()), name.data(),
             operation, describe(state()));
    }
  }

 private:
  static constexpr value_type vacant(HandleState state) noexcept {
    if constexpr (HandleTraitsWithStates<Traits>) {
      return Traits::vacant(state);
    } else {
      (void)state;
      return Traits::invalid();
    }
  }

  void close_quietly() noexcept {
    if (is_valid()) {
      const value_type value = std::exchange(value_, vacant(HandleState::kClosed));
      if constexpr (HandleTraitsWithQuietClose<Traits>) {
        traits_.close_quietly(value);
      } else {
        traits_.close(value).IgnoreError();
      }
    }
  }

  // "Fd::reset(3): <what>"; `operation` "" names the constructor.
  [[noreturn]] static void misuse_value(std::string_view operation,
                                        const char* what,
                                        value_type value) noexcept {
    const std::string_view name = Traits::kName;
    if (operation.empty()) operation = name;
    const int name_length = static_cast<int>(name.size());
    const int operation_length = static_cast<int>(operation.size());
    if constexpr (std::is_integral_v<value_type>) {
      misuse("%.*s::%.*s(%lld): %s", name_length, name.data(), operation_length,
             operation.data(), static_cast<long long>(value), what);
    } else if constexpr (std::is_pointer_v<value_type>) {
      misuse("%.*s::%.*s(%p): %s", name_length, name.data(), operation_length,
             operation.data(), static_cast<const void*>(value), what);
    } else {
      misuse("%.*s::%.*s: %s", name_length, name.data(), operation_length,
             operation.data(), what);
    }
  }

  value_type value_;
  [[no_unique_address]] Traits traits_;
};

}  // namespace uncopyable

#endif  // UNCOPYABLE_UNIQUE_HANDLE_H_
