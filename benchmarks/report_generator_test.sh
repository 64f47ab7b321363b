#!/usr/bin/env bash
# report_generator on two hand-made results (testdata/: an fd program with
# median aggregates, one in microseconds, an unknown peer (Folly), a
# breakdown and a failed benchmark;
# a mutex program with every run and no aggregates): the tables and ratios it
# writes, the chart, and that a second run changes nothing and that the text
# outside the markers stays as it was. $1 is the generator.
set -uo pipefail
generator="$1"
fixtures="$(dirname "$0")/testdata"
[[ -f "${fixtures}/fd.json" ]] || fixtures="benchmarks/testdata"
work="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# expect_line FILE LINE: FILE has LINE, whole.
expect_line() {
  grep -qxF -- "$2" "$1" || fail "$(basename "$1") lacks the line: $2"
}

generate() {  # generate MARKDOWN: exit status of the generator
  "${generator}" --markdown="$1" --machine="2 cores (Test CPU)" \
      --command="./bazelw run //benchmarks:report" --program_flags="--benchmark_repetitions=15" \
      fd="${fixtures}/fd.json" mutex="${fixtures}/mutex.json"
}

cat >"${work}/benchmarks.md" <<'EOF'
# Benchmarks

What the handles cost.

## Fd: by hand

Prose about Fd.
EOF
cp "${work}/benchmarks.md" "${work}/original.md"

generate "${work}/benchmarks.md" 2>"${work}/stderr" || fail "the generator failed: $(cat "${work}/stderr")"
md="${work}/benchmarks.md"
svg="${work}/benchmarks.svg"

# The tables: medians in suitable units, columns in the order of their roles,
# ratios to the baseline and to the fastest peer, the largest cv of the row
# (for mutex, of the runs: 1/11 for std::mutex and absl::Mutex uncontended).
expect_line "${md}" '| operation | raw | `uncopyable::Fd` | `std::unique_ptr` | Folly | uncopyable / raw | uncopyable / best peer | cv |'
expect_line "${md}" '| `open` + `close` of `/dev/null` | 600 ns | 630 ns | 700 ns | — | 1.05 | 0.90 (`std::unique_ptr`) | 2.0 % |'
expect_line "${md}" '| `dup`, moved through three owners, `close` | 200 ns | 210 ns | 250 ns | 230 ns | 1.05 | 0.91 (Folly) | 1.5 % |'
expect_line "${md}" '| a validity check | 3.00 ns |'
expect_line "${md}" '| operation | `std::mutex` | `uncopyable::Mutex` | `Mutex`, lock-order checking | `absl::Mutex` | uncopyable / `std::mutex` | uncopyable / best peer | cv |'
expect_line "${md}" '| uncontended lock + unlock | 11.0 ns | 11.0 ns | 33.0 ns | 44.0 ns | 1.00 | 0.25 | 9.1 % |'
expect_line "${md}" '| contended lock + unlock, 2 threads | 20.0 ns | 18.0 ns | — | 200 ns | 0.90 | 0.09 | 0.0 % |'
expect_line "${md}" '| contended lock + unlock, 4 threads | 16.0 ns | 17.6 ns | — | 80.0 ns | 1.10 | 0.22 | 0.0 % |'
# The summary: median and range of the ratios, per program and overall.
expect_line "${md}" '| [fd](#fd) | 2 | 1.05 (1.05–1.05) | 0.91 (0.90–0.91) |'
expect_line "${md}" '| [mutex](#mutex) | 3 | 1.00 (0.90–1.10) | 0.22 (0.09–0.25) |'
expect_line "${md}" '| all | 5 | 1.05 (0.90–1.10) | 0.25 (0.09–0.91) |'
expect_line "${md}" '![Each contender'"'"'s median time over the baseline'"'"'s, per operation](benchmarks.svg)'
expect_line "${md}" './bazelw run //benchmarks:report'
grep -qF 'Machine: 2 cores (Test CPU); ' "${md}" || fail "no machine line"
grep -qF 'Measured on 2026-11-20 ' "${md}" || fail "no date of the run"
grep -qF 'median of 3 or 15 repetitions' "${md}" || fail "no repetitions"

# The section goes where the first "## " heading was; the rest stays.
expected_start=$'# Benchmarks\n\nWhat the handles cost.\n\n<!-- report:begin -->'
[[ "$(head -n 5 "${md}")" == "${expected_start}" ]] || fail "the section is not after the intro"
[[ "$(grep -c -- '<!-- report:begin -->' "${md}")" == 1 ]] || fail "not one begin marker"
[[ "$(grep -c -- '<!-- report:end -->' "${md}")" == 1 ]] || fail "not one end marker"
[[ "$(sed -n '/<!-- report:end -->/,$p' "${md}" | tail -n +2)" == \
   $'\n## Fd: by hand\n\nProse about Fd.' ]] || fail "the text after the section changed"

# The chart: one SVG, a bar per contender and operation (7 for fd, the
# breakdown and the failed one left out; 10 for mutex), uncopyable's marked.
[[ "$(head -c 5 "${svg}")" == "<svg " ]] || fail "the chart does not start with <svg"
[[ "$(tail -n 1 "${svg}")" == "</svg>" ]] || fail "the chart does not end with </svg>"
[[ "$(grep -c '<svg ' "${svg}")" == 1 ]] || fail "not one <svg> element"
bars="$(grep -c '<rect class="bar ' "${svg}")"
[[ "${bars}" == 17 ]] || fail "the chart has ${bars} bars, not 17"
[[ "$(grep -c '<rect class="bar uncopyable"' "${svg}")" == 5 ]] || fail "not 5 uncopyable bars"
[[ "$(grep -c '<rect ' "${svg}")" == "$(grep -cE '</rect>|<rect [^>]*/>' "${svg}")" ]] ||
  fail "a <rect> is not closed"
grep -qF '<title>uncopyable::Fd: 630 ns</title>' "${svg}" || fail "no title on Fd's bar"
grep -qF '>1.05×</text>' "${svg}" || fail "no figure 1.05× at a bar"
# absl::Mutex at 10× the baseline: its bar is cut at the end of the scale
# (2.0×, 480 pixels), its figure exact.
widest="$(grep -o '<rect class="bar [^>]*' "${svg}" | sed -E 's/.* width="([0-9.]+)".*/\1/' |
          sort -n | tail -n 1)"
[[ "${widest}" == "480.0" ]] || fail "the widest bar is ${widest} pixels, not 480.0"
grep -qF '>10.00×</text>' "${svg}" || fail "no exact figure for a bar past the scale"
[[ "$(grep -c 'class="cut"' "${svg}")" == 4 ]] || fail "not 4 bars marked as cut (past 2.0×)"

# Twice on the same results: the same files, byte for byte.
cp "${md}" "${work}/first.md"
cp "${svg}" "${work}/first.svg"
generate "${md}" 2>/dev/null || fail "the second run failed"
cmp -s "${md}" "${work}/first.md" || fail "the second run changed the Markdown"
cmp -s "${svg}" "${work}/first.svg" || fail "the second run changed the chart"

# An outdated section is replaced, the text around it kept.
{
  echo "Intro."
  echo "<!-- report:begin -->"
  echo "old tables"
  echo "<!-- report:end -->"
  echo "Outro."
} >"${work}/old.md"
generate "${work}/old.md" 2>/dev/null || fail "the generator failed on an old section"
grep -q "old tables" "${work}/old.md" && fail "the old section is still there"
[[ "$(head -n 1 "${work}/old.md")" == "Intro." ]] || fail "the text before the section changed"
[[ "$(tail -n 1 "${work}/old.md")" == "Outro." ]] || fail "the text after the section changed"

# Refusals leave the file as it was.
printf 'A\n<!-- report:end -->\nB\n<!-- report:begin -->\n' >"${work}/broken.md"
cp "${work}/broken.md" "${work}/broken.orig"
generate "${work}/broken.md" 2>/dev/null && fail "markers out of order were accepted"
cmp -s "${work}/broken.md" "${work}/broken.orig" || fail "a refused file was changed"
echo '{"benchmarks": [' >"${work}/truncated.json"
cp "${work}/first.md" "${work}/kept.md"
"${generator}" --markdown="${work}/kept.md" fd="${work}/truncated.json" 2>/dev/null &&
  fail "truncated JSON was accepted"
cmp -s "${work}/kept.md" "${work}/first.md" || fail "bad input changed the Markdown"
"${generator}" --markdown="${work}/kept.md" 2>/dev/null && fail "no results were accepted"
# A benchmark that failed fails the report, naming it: a table with a hole
# in it would mislead.
cat >"${work}/failed.json" <<'JSON'
{"context": {"date": "2026-11-20T10:00:00+00:00"},
 "benchmarks": [{"name": "BM_Broken_Raw", "run_name": "BM_Broken_Raw", "run_type": "iteration",
                 "repetitions": 1, "iterations": 0, "real_time": 0.0, "cpu_time": 0.0,
                 "time_unit": "ns", "error_occurred": true, "error_message": "no /dev/null"}]}
JSON
"${generator}" --markdown="${work}/kept.md" fd="${work}/failed.json" 2>"${work}/stderr" &&
  fail "a failed benchmark was accepted"
grep -qF 'BM_Broken_Raw failed: no /dev/null' "${work}/stderr" ||
  fail "the failed benchmark went unnamed: $(cat "${work}/stderr")"
cmp -s "${work}/kept.md" "${work}/first.md" || fail "a failed benchmark changed the Markdown"

if ((failures > 0)); then
  echo "${failures} check(s) failed; the Markdown written:"
  cat "${md}"
  exit 1
fi
echo "ok"
