#!/usr/bin/env bash
# Every benchmark of the report in two builds, side by side: BASE_COMMIT
# (before) and the working tree as it is, uncommitted changes included
# (after).
#
#   benchmarks/compare_builds.sh BASE_COMMIT [OPTIONS]
#
#   --repetitions=N   repetitions of each operation (default 15)
#   --min_time=S      at least S seconds per benchmark and repetition
#                     (default 0.2)
#   --only=A,B        only these programs (default: every program tagged
#                     "report" in benchmarks/BUILD.bazel)
#   --filter=REGEX    only the operations (BM_OpenClose, ...) REGEX matches
#   --out=PATH        the Markdown whose section between
#                     <!-- compare:begin --> and <!-- compare:end --> is
#                     rewritten (default docs/benchmarks.md; at its end if
#                     it has none)
#   --disk_cache=DIR  Bazel's disk cache for the build of BASE_COMMIT
#                     (default /work/.bazel-disk)
#   --own_benchmarks  build BASE_COMMIT's own benchmarks/ rather than the
#                     working tree's (by default both builds run the same
#                     benchmark sources, so only the library differs)
#
# BASE_COMMIT is checked out in a temporary `git worktree` with a
# user.bazelrc that points at the disk cache, and both are built with
# `bazel build -c opt`; the programs are copied out and the temporary tree
# (and its Bazel output base) removed before anything is measured. Then, N
# times, for each program and each of its operations: one run of each
# build's program for that operation alone (see interleave.sh), the two
# builds one after the other, which goes first alternating; after / before
# is taken for each benchmark in each repetition, and report_generator
# --compare writes the table.
# A quick try: HEAD~1 --only=fd --filter=OpenClose --repetitions=3 --min_time=0.02 --out=/tmp/c.md
set -euo pipefail

usage() {  # usage EXIT_STATUS
  sed -n '2,/A quick try/s/^# \{0,1\}//p' "$0" >&2
  exit "$1"
}

fail() {
  echo "compare_builds: $*" >&2
  exit 1
}

workspace="${BUILD_WORKSPACE_DIRECTORY:-$(git -C "$(dirname "$0")" rev-parse --show-toplevel)}"
cd "${workspace}"
# shellcheck source=interleave.sh
. "${workspace}/benchmarks/interleave.sh"

base=""
repetitions=15
min_time=0.2
programs=()
filter=""
out="docs/benchmarks.md"
disk_cache=/work/.bazel-disk
own_benchmarks=false
for argument in "$@"; do
  case "${argument}" in
    --repetitions=*) repetitions="${argument#*=}" ;;
    --min_time=*) min_time="${argument#*=}" ;;
    --only=*) IFS=, read -r -a programs <<<"${argument#*=}" ;;
    --filter=*) filter="${argument#*=}" ;;
    --out=*) out="${argument#*=}" ;;
    --disk_cache=*) disk_cache="${argument#*=}" ;;
    --own_benchmarks) own_benchmarks=true ;;
    -h | --help) usage 0 ;;
    -*) echo "compare_builds: unknown option ${argument}" >&2; usage 2 ;;
    *) [[ -z "${base}" ]] || usage 2; base="${argument}" ;;
  esac
done
[[ -n "${base}" ]] || usage 2
base_commit="$(git rev-parse --verify --quiet "${base}^{commit}")" ||
  fail "no commit '${base}'"
[[ "${repetitions}" =~ ^[1-9][0-9]*$ ]] || fail "--repetitions wants a positive whole number"
[[ "${min_time}" =~ ^[0-9]*\.?[0-9]+$ ]] || fail "--min_time wants seconds, like 0.2"
[[ "${out}" == /* ]] || out="${BUILD_WORKING_DIRECTORY:-${PWD}}/${out}"

mapfile -t all_programs < <(report_programs)
((${#all_programs[@]} > 0)) || fail "no program in benchmarks/BUILD.bazel is tagged \"report\""
((${#programs[@]} > 0)) || programs=("${all_programs[@]}")
for program in "${programs[@]}"; do
  [[ " ${all_programs[*]} " == *" ${program} "* ]] ||
    fail "no program '${program}'; there are: ${all_programs[*]}"
done
targets=()
for program in "${programs[@]}"; do targets+=("//benchmarks:${program}_benchmark"); done

work="$(mktemp -d)"
base_tree="${work}/base"
cleanup_base() {
  [[ -d "${base_tree}" ]] || return 0
  (cd "${base_tree}" && ./bazelw clean --expunge >/dev/null 2>&1) || true
  git worktree remove --force "${base_tree}" >/dev/null 2>&1 || rm -rf "${base_tree}"
  git worktree prune
}
trap 'cleanup_base; rm -rf "${work}"' EXIT

# After: the working tree.
echo "== after: building the working tree, optimised: ${targets[*]}" >&2
./bazelw build -c opt --experimental_convenience_symlinks=ignore \
    //benchmarks:report_generator "${targets[@]}"
bin="$(./bazelw info -c opt bazel-bin 2>/dev/null)"
mkdir -p "${work}/after" "${work}/before"
cp "${bin}/benchmarks/report_generator" "${work}/"
for program in "${programs[@]}"; do
  cp "${bin}/benchmarks/${program}_benchmark" "${work}/after/"
done

# Before: BASE_COMMIT in a worktree of its own; a program it cannot build is
# left out of the comparison.
echo "== before: ${base_commit} in ${base_tree}" >&2
git worktree add --detach "${base_tree}" "${base_commit}" >/dev/null
echo "build --disk_cache=${disk_cache}" >"${base_tree}/user.bazelrc"
sources="the working tree's benchmark programs built against each"
if [[ "${own_benchmarks}" == false ]]; then
  rm -rf "${base_tree}/benchmarks"
  cp -R "${workspace}/benchmarks" "${base_tree}/benchmarks"
  # A base older than the per-rule stand-ins (third_party/rules_shell) has
  # no @rules_cc//cc:cc_binary.bzl or @rules_shell: there the rules are
  # Bazel 4.2.3's native ones, so the working tree's loads of them go.
  if [[ ! -f "${base_tree}/third_party/rules_shell/sh_test.bzl" ]]; then
    sed -i -E '/^load\("@rules_(cc|shell)\/\/[a-z]+:[a-z_]+\.bzl", "[a-z_]+"\)$/d' \
      "${base_tree}/benchmarks/BUILD.bazel"
  fi
else
  sources="each build's own benchmark programs"
fi
echo "== before: building, optimised: ${targets[*]}" >&2
(cd "${base_tree}" &&
   ./bazelw build -c opt --keep_going --experimental_convenience_symlinks=ignore "${targets[@]}") ||
  echo "== before: not everything built; what did not is left out" >&2
base_bin="$(cd "${base_tree}" && ./bazelw info -c opt bazel-bin 2>/dev/null)"
compared=()
for program in "${programs[@]}"; do
  if [[ -x "${base_bin}/benchmarks/${program}_benchmark" ]]; then
    cp "${base_bin}/benchmarks/${program}_benchmark" "${work}/before/"
    compared+=("${program}")
  else
    echo "== before: no ${program}_benchmark at ${base}, left out" >&2
  fi
done
cleanup_base
((${#compared[@]} > 0)) || fail "nothing built in both"

# What to run: each program's operations in the build after, those the
# build before has too.
declare -A operations_of
generator_inputs=()
for program in "${compared[@]}"; do
  before_operations="$(operations "${work}/before/${program}_benchmark" "${filter}")"
  operations_of[${program}]="$(operations "${work}/after/${program}_benchmark" "${filter}" |
                               grep -Fx -f <(echo "${before_operations}") || true)"
  if [[ -z "${operations_of[${program}]}" ]]; then
    echo "== ${program}: no operation in both builds matches --filter=${filter}, left out" >&2
    continue
  fi
  mkdir -p "${work}/results/${program}/before" "${work}/results/${program}/after"
  generator_inputs+=("${program}=${work}/results/${program}")
done
((${#generator_inputs[@]} > 0)) || fail "nothing to run"

started=${SECONDS}
for ((repetition = 0; repetition < repetitions; ++repetition)); do
  echo "== repetition $((repetition + 1)) of ${repetitions} ($((SECONDS - started)) s so far)" >&2
  for program in "${compared[@]}"; do
    index=0
    while read -r operation; do
      [[ -n "${operation}" ]] || continue
      name="$(printf 'op%03d-rep%03d.json' "${index}" "${repetition}")"
      builds=(before after)
      (((repetition + index) % 2 == 1)) && builds=(after before)
      for build in "${builds[@]}"; do
        run_operation "${work}/${build}/${program}_benchmark" "${operation}" "${min_time}" \
            "${work}/results/${program}/${build}/${name}"
      done
      index=$((index + 1))
    done <<<"${operations_of[${program}]:-}"
  done
done
echo "== measured in $((SECONDS - started)) s" >&2

describe() {  # describe COMMIT: "abc1234 (its subject, cut at 72 characters)"
  local subject
  subject="$(git log -1 --format=%s "$1")"
  ((${#subject} <= 72)) || subject="${subject:0:71}…"
  echo "$(git log -1 --format=%h "$1") (${subject})"
}
after="$(describe HEAD)"
[[ -z "$(git status --porcelain)" ]] || after+=" and the uncommitted changes"
"${work}/report_generator" --compare --markdown="${out}" --before="$(describe "${base_commit}")" \
    --after="${after}" --machine="$(machine_description)" --date="$(date -u +%F)" \
    --command="benchmarks/compare_builds.sh $(quoted_command "$@")" \
    --program_flags="$(operation_flags "${min_time}")" --sources="${sources}" \
    "${generator_inputs[@]}"
echo "== wrote ${out}" >&2
