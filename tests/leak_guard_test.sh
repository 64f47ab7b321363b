#!/usr/bin/env bash
# The leak guard fails a test that leaves a descriptor open, a child behind or
# a pool lease alive, and passes one that cleans up. $1 is the victim binary.
set -uo pipefail
victim="$1"
status=0

expect() {  # expect FILTER EXIT_CODE PATTERN
  local output code
  output="$("${victim}" --gtest_filter="$1" 2>&1)"; code=$?
  if [[ "${code}" != "$2" ]] || ! grep -Eq -- "$3" <<<"${output}"; then
    echo "FAIL $1: exit ${code} (want $2), output must match /$3/:"
    echo "${output}"
    status=1
  else
    echo "ok   $1: $(grep -Em1 -- "$3" <<<"${output}")"
  fi
}

expect Victim.Clean 0 '\[  PASSED  \] 1 test'
expect Victim.LeaksAnFd 1 'leak guard: the test left fd [0-9]+ open \(/dev/null\)'
expect Victim.LeavesAChild 1 'leak guard: the test left child process [0-9]+ behind \(leak_guard_vict.*, state [A-Z]\)'
expect Victim.LeavesAPoolLease 1 'leak guard: the test left 1 pool lease alive \(pool of file "/dev/null", acquired at tests/leak_guard_victim.cc:[0-9]+\)'
exit "${status}"
