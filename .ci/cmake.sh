#!/usr/bin/env bash
# The CMake half of CI (run by .ci/run, or alone: bash .ci/cmake.sh):
#   1. configure the project (build/ci; warnings are errors, as top-level);
#   2. tools/check_sources.py: Bazel and CMake list the same sources;
#   3. build everything with -j2;
#   4. ctest -j2: the test suite, the examples' and the guide's programs
#      (each test counts, like .ci/run's Bazel stages);
#   5. -Werror in the project's own build, none in a build that takes
#      uncopyable with add_subdirectory() (configured only);
#   6. install into a temporary prefix; examples/cmake_consumer configured
#      against it (find_package), built, run and tested;
#   7. one file compiled and linked with `pkg-config --cflags --libs
#      uncopyable` from that prefix, and run.
# Ends with the line "cmake: N passed, M failed"; exits 1 if M > 0.
# build/ci/compile_commands.json stays for the clang-tidy stage.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
readonly ROOT="${PWD}"
readonly BUILD="${ROOT}/build/ci"

passed=0
failed=0
step_start="${SECONDS}"
# Prints "cmake: WHAT TEXT (N s)", N the seconds since the last such line.
say() {
  echo "cmake: $1 $2 ($((SECONDS - step_start)) s)"
  step_start="${SECONDS}"
}
pass() { say "ok  " "$1"; passed=$((passed + 1)); }
fail() { say "FAIL" "$1" >&2; failed=$((failed + 1)); }
finish() {
  echo "cmake: ${passed} passed, ${failed} failed"
  ((failed == 0))
  exit
}

# Debian packages this stage needs beyond ./bazelw's list (the libraries
# themselves are there: ./bazelw installed them).
missing=()
for p in cmake pkg-config g++ libabsl-dev libboost1.81-dev libboost-json1.81-dev \
  libboost-url1.81-dev libsqlite3-dev libpq-dev postgresql libgtest-dev libgmock-dev; do
  dpkg-query -W -f='${db:Status-Abbrev}' "${p}" 2>/dev/null | grep -q '^ii' || missing+=("${p}")
done
if ((${#missing[@]} > 0)); then
  echo "cmake: installing ${missing[*]}"
  if ! { DEBIAN_FRONTEND=noninteractive apt-get update -q &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; } >/tmp/cmake-apt.log 2>&1; then
    cat /tmp/cmake-apt.log >&2
    fail "apt-get install ${missing[*]}"
    finish
  fi
fi

scratch="$(mktemp -d)"
trap 'rm -rf "${scratch}"' EXIT

echo "cmake: configure"
rm -rf "${BUILD}"
if ! cmake -S . -B "${BUILD}"; then
  fail "configure"
  finish
fi
pass "configure"

if python3 tools/check_sources.py "${BUILD}"; then
  pass "the Bazel and CMake builds list the same sources"
else
  fail "the Bazel and CMake builds list the same sources (tools/check_sources.py)"
fi

echo "cmake: build (-j2)"
if ! cmake --build "${BUILD}" -j2; then
  fail "build"
  finish
fi
pass "build"

echo "cmake: ctest (-j2)"
ctest_log="${scratch}/ctest.log"
ctest --test-dir "${BUILD}" -j2 --output-on-failure 2>&1 | tee "${ctest_log}"
# "98% tests passed, 1 tests failed out of 62"
summary="$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "${ctest_log}" | tail -1)"
if [[ -z "${summary}" ]]; then
  fail "ctest (no summary line)"
else
  total="$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"${summary}")"
  bad="$(sed -E 's/.*passed, ([0-9]+) tests? failed.*/\1/' <<<"${summary}")"
  passed=$((passed + total - bad))
  failed=$((failed + bad))
  say "ctest" "$((total - bad)) of ${total} tests passed"
  ((total > 0)) || fail "ctest ran no test"
fi

# Warnings are errors in the project's own build and never in a user's.
werror_ok=1
if ! grep -qE -- '"command": .* -Werror .* -c [^"]*/src/file\.cc"' "${BUILD}/compile_commands.json"; then
  echo "cmake: the project's own build compiles src/file.cc without -Werror" >&2
  werror_ok=0
fi
if cmake -S examples/cmake_consumer -B "${scratch}/subproject" -DUNCOPYABLE_SOURCE_DIR="${ROOT}" \
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >"${scratch}/subproject.log" 2>&1; then
  if grep -q -- '-Werror' "${scratch}/subproject/compile_commands.json"; then
    echo "cmake: a build that takes uncopyable with add_subdirectory() has -Werror" >&2
    werror_ok=0
  fi
else
  cat "${scratch}/subproject.log" >&2
  werror_ok=0
fi
if ((werror_ok)); then
  pass "-Werror in the project's build only (add_subdirectory configured without it)"
else
  fail "-Werror in the project's build only"
fi

echo "cmake: install, then examples/cmake_consumer against the installed package"
prefix="${scratch}/prefix"
consumer="${scratch}/consumer"
if cmake --install "${BUILD}" --prefix "${prefix}" >"${scratch}/install.log" 2>&1 &&
  cmake -S examples/cmake_consumer -B "${consumer}" -DCMAKE_PREFIX_PATH="${prefix}" &&
  cmake --build "${consumer}" -j2 &&
  "${consumer}/checklist" &&
  ctest --test-dir "${consumer}" --output-on-failure; then
  pass "examples/cmake_consumer: find_package(uncopyable) from the installed prefix, built, run, tested"
else
  cat "${scratch}/install.log" >&2
  fail "examples/cmake_consumer against the installed package"
fi

echo "cmake: pkg-config"
# shellcheck disable=SC2086  # the flags are words
if [[ -f "${prefix}/lib/pkgconfig/uncopyable.pc" ]] &&
  flags="$(PKG_CONFIG_PATH="${prefix}/lib/pkgconfig" pkg-config --cflags --libs uncopyable)" &&
  c++ examples/cmake_consumer/checklist.cc ${flags} -o "${scratch}/checklist_pkg_config" &&
  "${scratch}/checklist_pkg_config"; then
  pass "pkg-config: a program built with \`pkg-config --cflags --libs uncopyable\`"
else
  fail "pkg-config: a program built with \`pkg-config --cflags --libs uncopyable\`"
fi

finish
