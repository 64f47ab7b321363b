#!/usr/bin/env bash
# report_generator on hand-made results (testdata/: an fd program with
# median aggregates only, one in microseconds, an undeclared peer (Folly)
# and a breakdown; a mutex program with every run of 3 repetitions in one
# file; a pipe program as report.sh writes one, a folder with a file per
# operation and repetition): the tables, the ratios taken repetition by
# repetition, the chart, that a second run changes nothing and that the text
# outside the markers stays as it was; then --compare on the pipe results
# and a second build of them (testdata/pipe_after). $1 is the generator.
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
      fd="${fixtures}/fd.json" mutex="${fixtures}/mutex.json" pipe="${fixtures}/pipe"
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

# The tables: medians in suitable units, columns in the order of their
# roles, ratios to the baseline and to the fastest peer, the largest cv of
# the row (for mutex, of the runs: 1/11 for std::mutex uncontended).
# fd has aggregates only: ratios of medians, no spread.
expect_line "${md}" '| operation | raw | `uncopyable::Fd` | `std::unique_ptr` | Folly | uncopyable / raw | uncopyable / best peer | cv |'
expect_line "${md}" '| `open` + `close` of `/dev/null` | 600 ns | 630 ns | 700 ns | — | 1.05 | 0.90 (`std::unique_ptr`) | 2.0 % |'
expect_line "${md}" '| `dup`, moved through three owners, `close` | 200 ns | 210 ns | 250 ns | 230 ns | 1.05 | 0.91 (Folly) | 1.5 % |'
expect_line "${md}" '| a validity check | 3.00 ns |'
# mutex: the ratios of each repetition, their median and quartiles. Mutex
# over std::mutex uncontended: 11.5/12, 11/10, 10.5/11 = 0.958, 1.100, 0.955,
# median 0.958, quartiles 0.956 and 1.029 (a ratio of the medians would say
# 11/11 = 1.00); over absl::Mutex: 0.261, 0.275, 0.219.
expect_line "${md}" '| operation | `std::mutex` | `uncopyable::Mutex` | `Mutex`, lock-order checking | `absl::Mutex` | uncopyable / `std::mutex` | uncopyable / best peer | cv |'
expect_line "${md}" '| uncontended lock + unlock | 11.0 ns | 11.0 ns | 33.0 ns | 44.0 ns | 0.96 (0.96–1.03) | 0.26 (0.24–0.27) | 9.1 % |'
expect_line "${md}" '| contended lock + unlock, 2 threads | 20.0 ns | 18.0 ns | — | 200 ns | 0.90 (0.90–0.90) | 0.09 (0.09–0.09) | 0.0 % |'
expect_line "${md}" '| contended lock + unlock, 4 threads | 16.0 ns | 17.6 ns | — | 80.0 ns | 1.10 (1.10–1.10) | 0.22 (0.22–0.22) | 0.0 % |'
# pipe: a file per operation and repetition, the entries shuffled in each.
# Pipe over raw: 1600/1000, 2040/2000, 1590/1500 = 1.60, 1.02, 1.06: median
# 1.06, quartiles 1.04 and 1.33, where the medians' ratio is 1600/1500 =
# 1.07. Subprocess: 1.02, 1.06, 1.10.
expect_line "${md}" '| operation | raw | raw, `SIGPIPE` blocked | `uncopyable::Pipe` | `uncopyable::Subprocess` | uncopyable / raw | uncopyable / best peer | cv |'
expect_line "${md}" '| 64 bytes written to a pipe, then read back | 1.50 µs | 1.70 µs | 1.60 µs | — | 1.06 (1.04–1.33) | — | 33 % |'
expect_line "${md}" '| spawn `/bin/true` and wait for it | 520 µs | — | — | 551 µs | 1.06 (1.04–1.08) | — | 39 % |'
# The summary: median and range of the rows' median ratios, per program
# and overall.
expect_line "${md}" '| [fd](#fd) | 2 | 1.05 (1.05–1.05) | 0.91 (0.90–0.91) |'
expect_line "${md}" '| [mutex](#mutex) | 3 | 0.96 (0.90–1.10) | 0.22 (0.09–0.26) |'
expect_line "${md}" '| [pipe](#pipe) | 2 | 1.06 (1.06–1.06) | — |'
expect_line "${md}" '| all | 7 | 1.05 (0.90–1.10) | 0.26 (0.09–0.91) |'
expect_line "${md}" '![Each contender'"'"'s median time over the baseline'"'"'s, per operation](benchmarks.svg)'
expect_line "${md}" './bazelw run //benchmarks:report'
grep -qF 'Machine: 2 cores (Test CPU); ' "${md}" || fail "no machine line"
grep -qF 'Measured on 2026-11-20 ' "${md}" || fail "no date of the run"
grep -qF 'median of 3 or 15 repetitions' "${md}" || fail "no repetitions"
grep -qF 'the middle half of them (first to third quartile)' "${md}" || fail "no word on the spread"

# The section goes where the first "## " heading was; the rest stays.
expected_start=$'# Benchmarks\n\nWhat the handles cost.\n\n<!-- report:begin -->'
[[ "$(head -n 5 "${md}")" == "${expected_start}" ]] || fail "the section is not after the intro"
[[ "$(grep -c -- '<!-- report:begin -->' "${md}")" == 1 ]] || fail "not one begin marker"
[[ "$(grep -c -- '<!-- report:end -->' "${md}")" == 1 ]] || fail "not one end marker"
[[ "$(sed -n '/<!-- report:end -->/,$p' "${md}" | tail -n +2)" == \
   $'\n## Fd: by hand\n\nProse about Fd.' ]] || fail "the text after the section changed"

# The chart: one SVG, a bar per contender and operation (7 for fd, the
# breakdown left out; 10 for mutex; 5 for pipe), uncopyable's marked, a
# whisker over the middle half of the ratios where they spread.
[[ "$(head -c 5 "${svg}")" == "<svg " ]] || fail "the chart does not start with <svg"
[[ "$(tail -n 1 "${svg}")" == "</svg>" ]] || fail "the chart does not end with </svg>"
[[ "$(grep -c '<svg ' "${svg}")" == 1 ]] || fail "not one <svg> element"
bars="$(grep -c '<rect class="bar ' "${svg}")"
[[ "${bars}" == 22 ]] || fail "the chart has ${bars} bars, not 22"
[[ "$(grep -c '<rect class="bar uncopyable"' "${svg}")" == 7 ]] || fail "not 7 uncopyable bars"
grep -qF '<title>uncopyable::Pipe: 1.60 µs</title>' "${svg}" || fail "no title on Pipe's bar"
grep -qF '>1.06×</text>' "${svg}" || fail "no figure 1.06× (Pipe's median ratio) at a bar"
# Whiskers: where the ratios of a bar differ (mutex uncontended: 3 bars but
# the baseline's; pipe: 3 bars but the baseline's).
whiskers="$(grep -c '<line class="spread"' "${svg}")"
[[ "${whiskers}" == 6 ]] || fail "the chart has ${whiskers} whiskers, not 6"
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

# --compare: the pipe results as the build before, pipe_after as the build
# after, paired file by file; the compare section goes in the same document
# as the report, between markers of its own (at the end the first time),
# and leaves the report alone.
mkdir -p "${work}/compare/pipe"
cp -r "${fixtures}/pipe" "${work}/compare/pipe/before"
cp -r "${fixtures}/pipe_after" "${work}/compare/pipe/after"
cp "${work}/first.md" "${work}/both.md"
"${generator}" --compare --markdown="${work}/both.md" --before="abc1234 (before)" \
    --after="def5678 (after)" --machine="2 cores (Test CPU)" --date=2026-12-01 \
    --command="benchmarks/compare_builds.sh abc1234" --program_flags="--benchmark_repetitions=1" \
    pipe="${work}/compare/pipe" 2>"${work}/stderr" ||
  fail "--compare failed: $(cat "${work}/stderr")"
cmp=("${work}/both.md")
expect_line "${cmp[0]}" '| program | benchmark | before | after | after / before |'
# Raw: 1.00, 1.02, 0.98 of before; Pipe 0.90, 0.94, 0.92; Subprocess 1.10,
# 1.20, 1.16.
expect_line "${cmp[0]}" '| pipe | `BM_WriteRead64B_Raw` | 1.50 µs | 1.47 µs | 1.00 (0.99–1.01) |'
expect_line "${cmp[0]}" '| pipe | `BM_WriteRead64B_Pipe` | 1.60 µs | 1.46 µs | 0.92 (0.91–0.93) |'
expect_line "${cmp[0]}" '| pipe | `BM_SpawnWait_Subprocess` | 551 µs | 661 µs | 1.16 (1.13–1.18) |'
grep -qF 'Slower after, the whole middle half above 1.00: 1 of 5 (pipe `BM_SpawnWait_Subprocess` 1.16).' \
    "${cmp[0]}" || fail "no line on what is slower after"
grep -qF 'Faster after, the whole middle half below 1.00: 1 (pipe `BM_WriteRead64B_Pipe` 0.92).' \
    "${cmp[0]}" || fail "no line on what is faster after"
[[ "$(grep -c -- '<!-- compare:begin -->' "${cmp[0]}")" == 1 ]] || fail "not one compare marker"
[[ "$(sed -n '/<!-- report:begin -->/,/<!-- report:end -->/p' "${cmp[0]}")" == \
   "$(sed -n '/<!-- report:begin -->/,/<!-- report:end -->/p' "${work}/first.md")" ]] ||
  fail "--compare changed the report's section: $(diff "${work}/first.md" "${cmp[0]}")"
[[ "$(tail -n 1 "${cmp[0]}")" == '<!-- compare:end -->' ]] || fail "the compare section is not at the end"
cp "${cmp[0]}" "${work}/both.first.md"
"${generator}" --compare --markdown="${work}/both.md" --before="abc1234 (before)" \
    --after="def5678 (after)" --machine="2 cores (Test CPU)" --date=2026-12-01 \
    --command="benchmarks/compare_builds.sh abc1234" --program_flags="--benchmark_repetitions=1" \
    pipe="${work}/compare/pipe" 2>/dev/null || fail "the second --compare failed"
cmp -s "${cmp[0]}" "${work}/both.first.md" || fail "the second --compare changed the file"
"${generator}" --compare --markdown="${work}/both.md" pipe="${fixtures}/pipe" 2>/dev/null &&
  fail "--compare took a folder without before/ and after/"

if ((failures > 0)); then
  echo "${failures} check(s) failed; the Markdown written:"
  cat "${md}"
  exit 1
fi
echo "ok"
