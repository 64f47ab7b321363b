#!/usr/bin/env bash
# nocompile.sh COMPILER SNIPPET EXTRA_FLAGS [CASE PATTERN]...
# The control build of SNIPPET must compile; each -DCASE build must fail with
# a diagnostic matching PATTERN. See nocompile_test in defs.bzl.
set -uo pipefail
compiler="$1"; snippet="$2"; extra="$3"; shift 3
flags=(-x c++ -std=c++20 -fsyntax-only -Wall -Werror -Iinclude)
# shellcheck disable=SC2206
flags+=(${extra})
status=0

if ! output="$("${compiler}" "${flags[@]}" "${snippet}" 2>&1)"; then
  echo "FAIL control: ${snippet} must compile without a case defined:"
  echo "${output}"
  exit 1
fi
echo "ok   control compiles"

while (($# >= 2)); do
  case_name="$1"; pattern="$2"; shift 2
  if output="$("${compiler}" "${flags[@]}" "-D${case_name}" "${snippet}" 2>&1)"; then
    echo "FAIL ${case_name}: compiled, but must not"
    status=1
  elif ! grep -Eq -- "${pattern}" <<<"${output}"; then
    echo "FAIL ${case_name}: failed, but no diagnostic matches /${pattern}/:"
    echo "${output}" | head -20
    status=1
  else
    echo "ok   ${case_name}: $(grep -Em1 -- "${pattern}" <<<"${output}")"
  fi
done
exit "${status}"
