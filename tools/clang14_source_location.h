// std::source_location for clang-tidy from clang 14 on GCC 12's libstdc++,
// put before every source by tools/compile_commands.py (-include); never
// compiled into anything.
//
// libstdc++ 12's <source_location> defines std::source_location only when
// the compiler has __builtin_source_location, which GCC 12 has and clang
// has from version 15: under clang 14 the header is empty, and every use
// (pool.h) is a clang-diagnostic-error that hides the file's real findings.
// This stand-in, made of the builtins clang 14 has, gives clang-tidy the
// same interface; with a clang that has the builtin it is nothing, and
// libstdc++'s own is used.
#ifndef UNCOPYABLE_TOOLS_CLANG14_SOURCE_LOCATION_H_
#define UNCOPYABLE_TOOLS_CLANG14_SOURCE_LOCATION_H_

#if defined(__clang__) && defined(__cplusplus) && __cplusplus > 201703L && \
    !__has_builtin(__builtin_source_location)

namespace std {

struct source_location {
  static consteval source_location current(const char* file = __builtin_FILE(),
                                           const char* function = __builtin_FUNCTION(),
                                           unsigned line = __builtin_LINE(),
                                           unsigned column = __builtin_COLUMN()) noexcept {
    source_location here;
    here.file_ = file;
    here.function_ = function;
    here.line_ = line;
    here.column_ = column;
    return here;
  }

  constexpr source_location() noexcept = default;

  constexpr unsigned line() const noexcept { return line_; }
  constexpr unsigned column() const noexcept { return column_; }
  constexpr const char* file_name() const noexcept { return file_; }
  constexpr const char* function_name() const noexcept { return function_; }

 private:
  const char* file_ = "";
  const char* function_ = "";
  unsigned line_ = 0;
  unsigned column_ = 0;
};

}  // namespace std

#endif
#endif  // UNCOPYABLE_TOOLS_CLANG14_SOURCE_LOCATION_H_
