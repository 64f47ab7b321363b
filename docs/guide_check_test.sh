#!/usr/bin/env bash
# guide_check_test.sh CHECKER GUIDE_MD: proves that guide_check.py fails when
# the guide and its examples drift apart. Each case breaks a copy of the
# guide (or of docs/guide/) in one way; the checker must fail every time,
# and pass on the unbroken copies.
set -euo pipefail
python=/usr/bin/python3
[[ -x "${python}" ]] || python="$(command -v python3)"
checker="$1"
guide="$2"
work="${TEST_TMPDIR:-$(mktemp -d)}/guide_check_test"
rm -rf "${work}"
mkdir -p "${work}"
status=0

check() {  # check GUIDE EXAMPLES: runs the checker, quietly
  "${python}" "${checker}" "$1" --examples "$2" >"${work}/out" 2>&1
}

fresh() {  # fresh copies of the guide and the examples, in ${work}
  rm -rf "${work}/guide.md" "${work}/examples"
  cp -L "${guide}" "${work}/guide.md"
  cp -rL docs/guide "${work}/examples"
  chmod -R u+w "${work}"
}

must_fail() {  # must_fail NAME: the checker must reject what the case did
  if check "${work}/guide.md" "${work}/examples"; then
    echo "FAIL ${1}: the checker passed"
    status=1
  else
    echo "ok   ${1}: $(grep -m1 '^FAIL' "${work}/out" | cut -c1-150)"
  fi
  fresh
}

fresh
if ! check "${work}/guide.md" "${work}/examples"; then
  echo "FAIL the unbroken guide does not pass:"
  cat "${work}/out"
  exit 1
fi
echo "ok   the unbroken guide passes"

sed -i '0,/^```cpp$/{n;s/./&&/}' "${work}/guide.md"
must_fail "a snippet edited in the guide only"

sed -i '0,/return log.write/s//return log.write_all/' "${work}/examples/never_copy.cc"
must_fail "a snippet edited in the source only"

"${python}" - "${work}/guide.md" <<'PY'
import re, sys
path = sys.argv[1]
text = open(path).read()
open(path, "w").write(re.sub(r"```cpp\n.*?\n```\n", "", text, count=1, flags=re.S))
PY
must_fail "a snippet missing from the guide"

sed -i '0,/^```cpp$/s//```c++/' "${work}/guide.md"
must_fail "a C++ block fenced as c++"

# Indentation is not content: a region moved one block deeper still matches.
"${python}" - "${work}/examples/never_copy.cc" <<'PY'
import sys
path = sys.argv[1]
lines, inside = open(path).read().split("\n"), False
for i, line in enumerate(lines):
    if line == "// [guide:lend]":
        inside = True
    elif line == "// [end]":
        inside = False
    if inside and line:
        lines[i] = "    " + line
open(path, "w").write("\n".join(lines))
PY
grep -q '^    // \[guide:lend\]$' "${work}/examples/never_copy.cc" || { echo "FAIL setup: not indented"; exit 1; }
if check "${work}/guide.md" "${work}/examples"; then
  echo "ok   a region indented differently still matches"
else
  echo "FAIL a region indented differently no longer matches:"
  cat "${work}/out"
  status=1
fi
fresh

printf '// [guide:orphan]\nint orphan = 0;\n// [end]\n' >>"${work}/examples/fork.cc"
must_fail "a region that is not in the guide"

printf '// [guide:unclosed]\nint unclosed = 0;\n' >>"${work}/examples/fork.cc"
must_fail "a region without [end]"

sed -i 's/on a moved-from handle`/on a moved from handle`/' "${work}/guide.md"
must_fail "a death-tested message reworded in the guide"

sed -i 's/File::write() on a moved-from handle`/File::write() on a moved-form handle`/' "${work}/guide.md"
sed -i 's/File::write() on a moved-from handle)msg/File::write() on a moved-form handle)msg/' \
  "${work}/examples/checks_death_test.cc"
grep -q 'moved-form handle`' "${work}/guide.md" || { echo "FAIL setup: no generic message"; exit 1; }
# The death test would now fail (the library says moved-from); the checker
# must not accept the reworded message from the generic "%s::%s on %s" either.
sed -i 's/File::write() on a moved-form handle)msg/File::write() on a moved-from handle)msg/' \
  "${work}/examples/checks_death_test.cc"
must_fail "a message that only a generic format could print"

sed -i 's/"seven", which is not an integer`/"seven", which is no integer`/' "${work}/guide.md"
grep -q 'which is no integer' "${work}/guide.md" || { echo "FAIL setup: guide.md unchanged"; exit 1; }
must_fail "a PostgreSQL message reworded in the guide"

sed -i '/FaultInjector: a second injector armed while one is`/d' "${work}/guide.md"
must_fail "a death-tested message missing from the guide"

# A message the library's sources can print, but no death test checks: only
# PostgreSQL's messages may lean on a format string.
echo '| a new row | `uncopyable: Mutex "queue": unlock() by thread <thread>, which does not hold it (no thread does)` |' \
    >>"${work}/guide.md"
must_fail "a non-PostgreSQL message backed only by a format string"

exit "${status}"
