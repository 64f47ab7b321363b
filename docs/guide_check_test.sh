#!/usr/bin/env bash
# guide_check_test.sh CHECKER GUIDE_MD HOW_TO_MD: proves that guide_check.py
# fails when the guide, the how-to page (adding_a_handle.md) and the code
# behind them drift apart. Each case breaks a copy of a page (or of
# docs/guide/, or of a test) in one way; the checker must fail every time,
# and pass on the unbroken copies.
set -euo pipefail
python=/usr/bin/python3
[[ -x "${python}" ]] || python="$(command -v python3)"
checker="$1"
guide="$2"
how_to="$3"
work="${TEST_TMPDIR:-$(mktemp -d)}/guide_check_test"
rm -rf "${work}"
mkdir -p "${work}"
status=0

check() {  # check GUIDE EXAMPLES: runs the checker, quietly
  "${python}" "${checker}" "$1" --examples "$2" --as docs/guide.md >"${work}/out" 2>&1
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

# --- rows proved by the death tests beside the code ---------------------------

# A row whose line a death test in tests/ matches whole needs nothing in
# docs/guide/: a new kind's row is proved by its own death test.
row='| moving a held widget | `uncopyable: Widget::Widget(Widget&&) while held (widget "99")` |'
echo "${row}" >>"${work}/guide.md"
if check "${work}/guide.md" "${work}/examples"; then
  echo "ok   a row proved by a death test in tests/ passes"
else
  echo "FAIL a row proved by a death test in tests/ does not pass:"
  cat "${work}/out"
  status=1
fi
fresh

beside() {  # beside GUIDE TESTS...: runs the checker with these death tests
  local page="$1"
  shift
  "${python}" "${checker}" "${page}" --examples "${work}/examples" --as docs/guide.md \
      --death-tests "$@" >"${work}/out" 2>&1
}
must_fail_beside() {  # must_fail_beside NAME TESTS...
  local name="$1"
  shift
  if beside "${work}/guide.md" "$@"; then
    echo "FAIL ${name}: the checker passed"
    status=1
  else
    echo "ok   ${name}: $(grep -m1 '^FAIL' "${work}/out" | cut -c1-150)"
  fi
  fresh
}

cp -L tests/rules_test.cc "${work}/rules_test.cc"
chmod u+w "${work}/rules_test.cc"
sed -i 's/while held \\\\(widget \\"99\\"\\\\)/while kept \\\\(widget \\"99\\"\\\\)/' "${work}/rules_test.cc"
grep -q 'while kept' "${work}/rules_test.cc" || { echo "FAIL setup: rules_test.cc unchanged"; exit 1; }
echo "${row}" >>"${work}/guide.md"
must_fail_beside "a row whose death test in tests/ says something else" "${work}/rules_test.cc"

# A pattern that stops short of the end of the line proves only a prefix.
echo '| closing a lender | `uncopyable: Widget::close() while 1 Gadget` |' >>"${work}/guide.md"
grep -q '"^uncopyable: Widget::close\\\\(\\\\) while 1 Gadget");' tests/rules_test.cc ||
  { echo "FAIL setup: no prefix-only pattern in rules_test.cc"; exit 1; }
must_fail_beside "a row proved only by a pattern that stops short" tests/rules_test.cc

# What a test cannot spell out (a call) may stand for quoted data, not words.
cat >"${work}/kind_death_test.cc" <<'CC'
TEST(KindDeathTest, Closed) {
  const std::string closed = " on a closed handle \\(kind " + quoted_path() + "\\)\n";
  EXPECT_DEATH(kind.op(), "^uncopyable: Kind::op\\(\\)" + closed);
  EXPECT_DEATH(kind.other(), "^uncopyable: Kind::other\\(\\) " + anything() + "\n");
}
CC
echo '| a closed kind | `uncopyable: Kind::op() on a closed handle (kind "journal.log")` |' >>"${work}/guide.md"
if beside "${work}/guide.md" "${work}/kind_death_test.cc"; then
  echo "ok   a part of a pattern the check cannot read stands for quoted data"
else
  echo "FAIL a part of a pattern the check cannot read does not stand for quoted data:"
  cat "${work}/out"
  status=1
fi
fresh
echo '| a closed kind | `uncopyable: Kind::other() on a closed handle` |' >>"${work}/guide.md"
must_fail_beside "a part of a pattern the check cannot read standing for words" \
  "${work}/kind_death_test.cc"

sed -i '0,/(\.\.\/include\/uncopyable\/fd\.h)/s//(..\/include\/uncopyable\/fd_view.h)/' "${work}/guide.md"
grep -q 'fd_view.h)' "${work}/guide.md" || { echo "FAIL setup: no link changed"; exit 1; }
must_fail "a link to a file that does not exist"

sed -i '0,/`\/\/docs:close_test`/s//`\/\/docs:closing_test`/' "${work}/guide.md"
grep -q 'docs:closing_test' "${work}/guide.md" || { echo "FAIL setup: no label changed"; exit 1; }
must_fail "a label of no rule"

# --- the how-to page ------------------------------------------------------------

how() {  # how PAGE: runs the checker on a how-to page, quietly
  "${python}" "${checker}" "$1" --how-to --as docs/adding_a_handle.md >"${work}/out" 2>&1
}
fresh_how() {
  rm -f "${work}/adding_a_handle.md"
  cp -L "${how_to}" "${work}/adding_a_handle.md"
  chmod u+w "${work}/adding_a_handle.md"
}
must_fail_how() {  # must_fail_how NAME WHY: the checker must fail, saying WHY
  if how "${work}/adding_a_handle.md"; then
    echo "FAIL ${1}: the checker passed"
    status=1
  elif ! grep -q "^FAIL .*${2}" "${work}/out"; then
    echo "FAIL ${1}: the checker failed, but not saying '${2}':"
    cat "${work}/out"
    status=1
  else
    echo "ok   ${1}: $(grep -m1 "^FAIL .*${2}" "${work}/out" | cut -c1-150)"
  fi
  fresh_how
}

fresh_how
page="${work}/adding_a_handle.md"
if ! how "${page}"; then
  echo "FAIL the unbroken how-to page does not pass:"
  cat "${work}/out"
  exit 1
fi
echo "ok   the unbroken how-to page passes"

sed -i 's/  static constexpr char kBorrowers\[\] = "Gadget(s) on it";/  static constexpr char kBorrowers[] = "Gizmo(s) on it";/' "${page}"
grep -q 'Gizmo' "${page}" || { echo "FAIL setup: excerpt unchanged"; exit 1; }
must_fail_how "an excerpt edited in the page only" \
  "is not in tests/rules_test.cc as shown"

"${python}" - "${page}" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
text = text.replace("<!-- excerpt: tests/syscall_test.cc -->", "<!-- excerpt: tests/pipe_test.cc -->", 1)
open(path, "w").write(text)
PY
must_fail_how "an excerpt said to be from a file it is not in" \
  "is not in tests/pipe_test.cc as shown"

sed -i '0,/<!-- excerpt: [^ ]* -->/s//<!-- excerpt: tests\/no_such_test.cc -->/' "${page}"
must_fail_how "an excerpt of a file that does not exist" \
  "tests/no_such_test.cc does not exist"

sed -i '0,/<!-- excerpt: [^ ]* -->/s//<!-- excerpt: BUILD.bazel -->\n\nNo code here.\n/' "${page}"
must_fail_how "an excerpt mark with no block under it" \
  "an excerpt mark with no fenced block under it"

printf '\n```cpp\nint made_up = 0;\n```\n' >>"${page}"
must_fail_how "a C++ block that is neither an excerpt nor a region" \
  "neither a marked region"

sed -i '0,/`tests\/pipe_death_test.cc`/s//`tests\/pipe_dying_test.cc`/' "${page}"
grep -q 'pipe_dying_test' "${page}" || { echo "FAIL setup: no path changed"; exit 1; }
must_fail_how "a path that names nothing" \
  "pipe_dying_test.cc. names no file"

sed -i '0,/\/\/tests:pipe_fault_test/s//\/\/tests:pipe_faults_test/' "${page}"
grep -q 'pipe_faults_test' "${page}" || { echo "FAIL setup: no label changed"; exit 1; }
must_fail_how "a label (in a shell block) that names no rule" \
  "//tests:pipe_faults_test names no rule"

sed -i 's/on it is alive; they must end first (widget "w")`/on it is alive (widget "w")`/' "${page}"
grep -q 'on it is alive (widget "w")`' "${page}" || { echo "FAIL setup: no message changed"; exit 1; }
must_fail_how "a quoted misuse line no death test matches" \
  "no death test beside the code matches it whole"

exit "${status}"
