#!/usr/bin/env bash
# nocompile.sh COMPILER SNIPPET EXTRA_FLAGS [CASE PATTERN]...
# The control build of SNIPPET must compile; each -DCASE build must fail with
# a diagnostic matching PATTERN. Without CASE PATTERN arguments the cases are
# SNIPPET's own lines `// nocompile CASE: PATTERN` (PATTERN runs to the end of
# the line). See nocompile_test in defs.bzl.
set -uo pipefail
compiler="$1"; snippet="$2"; extra="$3"; shift 3

# The cases the snippet carries, as CASE PATTERN pairs.
written=()
case_line='^// nocompile ([A-Za-z_][A-Za-z0-9_]*): *(.*[^[:space:]])[[:space:]]*$'
line_number=0
while IFS= read -r line || [[ -n "${line}" ]]; do
  line_number=$((line_number + 1))
  [[ "${line}" == "// nocompile "* ]] || continue
  if ! [[ "${line}" =~ ${case_line} ]]; then
    echo "FAIL ${snippet}:${line_number}: not a case; write it // nocompile CASE: PATTERN"
    exit 1
  fi
  for ((i = 0; i < ${#written[@]}; i += 2)); do
    if [[ "${written[i]}" == "${BASH_REMATCH[1]}" ]]; then
      echo "FAIL ${snippet}:${line_number}: case ${BASH_REMATCH[1]} is written twice"
      exit 1
    fi
  done
  written+=("${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}")
done <"${snippet}"
if (($# > 0 && ${#written[@]} > 0)); then
  echo "FAIL ${snippet} carries its own cases and the rule gives cases too: keep one list"
  exit 1
fi
if (($# == 0)); then
  if ((${#written[@]} == 0)); then
    echo "FAIL ${snippet} has no case: give the rule cases, or write // nocompile CASE: PATTERN lines"
    exit 1
  fi
  set -- "${written[@]}"
fi
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
