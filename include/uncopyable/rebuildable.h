// uncopyable/rebuildable.h: the Rebuildable concept and uncopyable::rebuild().
//
// A live resource is never copied; a fresh one is built from the data that
// describes it. Every handle that can be rebuilt has a config (a regular
// value type: copy it, compare it, store it, send it) and two ways to make a
// fresh, independent resource from it:
//
//   absl::StatusOr<File> log = uncopyable::rebuild(FileConfig{.path = "/tmp/log"});
//   if (!log.ok()) return log.status();
//   absl::StatusOr<File> second = log->rebuild();  // its own descriptor,
//                                                  // offset and locks
//   FileConfig saved = log->config();              // data: keep it, copy it
//
// A handle that cannot honestly be rebuilt (a socket returned by accept())
// simply does not satisfy Rebuildable, so code that needs a rebuild does not
// compile with it, rather than failing at run time.
//
// A handle header joins this scheme by naming its handle for its config:
//   template <> struct HandleFor<FileConfig> { using type = File; };
// and giving the handle a static `open(const FileConfig&)`.
#ifndef UNCOPYABLE_REBUILDABLE_H_
#define UNCOPYABLE_REBUILDABLE_H_

#include <concepts>
#include <type_traits>

#include "absl/status/statusor.h"

namespace uncopyable {

// Maps a config type to the handle it builds. Each handle header specialises
// it for its config.
template <typename Config>
struct HandleFor;

template <typename Config>
using HandleFor_t = typename HandleFor<Config>::type;

// A handle that owns a live resource and can build a fresh one like it:
// move-only (moves never throw), with a regular config type, config() to read
// what it was built from, rebuild() for a fresh independent resource, and a
// static open(config) that builds one from scratch.
template <typename H>
concept Rebuildable =
    std::is_nothrow_move_constructible_v<H> && std::is_move_assignable_v<H> &&
    !std::is_copy_constructible_v<H> && !std::is_copy_assignable_v<H> &&
    std::regular<typename H::config_type> &&
    requires(const H& handle, const typename H::config_type& config) {
      { handle.config() } -> std::same_as<const typename H::config_type&>;
      { handle.rebuild() } -> std::same_as<absl::StatusOr<H>>;
      { H::open(config) } -> std::same_as<absl::StatusOr<H>>;
    };

// Builds a fresh handle of the kind `config` describes:
//   uncopyable::rebuild(FileConfig{...}) is File::open(FileConfig{...}).
// The caller owns the result; nothing is shared with any other handle.
template <typename Config>
  requires Rebuildable<HandleFor_t<Config>> &&
           std::same_as<typename HandleFor_t<Config>::config_type, Config>
[[nodiscard]] absl::StatusOr<HandleFor_t<Config>> rebuild(const Config& config) {
  return HandleFor_t<Config>::open(config);
}

}  // namespace uncopyable

#endif  // UNCOPYABLE_REBUILDABLE_H_
