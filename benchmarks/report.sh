#!/usr/bin/env bash
# The side-by-side report of every benchmark program:
#
#   ./bazelw run //benchmarks:report [-- OPTIONS]
#
#   --repetitions=N  repetitions of each operation (default 15)
#   --min_time=S     at least S seconds per benchmark and repetition
#                    (default 0.2)
#   --only=A,B       only these programs (default: every program tagged
#                    "report" in benchmarks/BUILD.bazel; the database
#                    and rows ones start a PostgreSQL server, the pool one a server,
#                    pgbouncer and a JVM for HikariCP, and compiles
#                    benchmarks/hikari/PoolBench.java with javac)
#   --filter=REGEX   only the operations (BM_OpenClose, ...) REGEX matches
#   --out=PATH       the Markdown to update (default docs/benchmarks.md); the
#                    chart is written beside it with the extension .svg
#
# A repetition runs each program once per operation, with that operation's
# contenders only, back to back in random order (see interleave.sh); the
# repetitions go round all programs and operations, N times. Each ratio is
# then taken within a repetition, and report_generator rewrites the section
# of the Markdown between <!-- report:begin --> and <!-- report:end --> and
# the chart with the median of the ratios and their spread.
# A quick try: --only=fd --filter=OpenClose --repetitions=3 --min_time=0.02 --out=/tmp/x.md
#
# Benchmarks must be optimised, and `bazel run` builds in its own mode
# (fastbuild by default), so this script builds the programs itself with
# `bazel build -c opt`: `bazel run` has released Bazel's lock by the time it
# starts this script. The binaries are found with `bazel info -c opt
# bazel-bin`, and the bazel-* links of the workspace are left alone.
set -euo pipefail

usage() {  # usage EXIT_STATUS
  sed -n '2,/A quick try/s/^# \{0,1\}//p' "$0" >&2
  exit "$1"
}

fail() {
  echo "report: $*" >&2
  exit 1
}

workspace="${BUILD_WORKSPACE_DIRECTORY:-}"
[[ -n "${workspace}" ]] || fail "run me with ./bazelw run //benchmarks:report"
cd "${workspace}"
# shellcheck source=interleave.sh
. "${workspace}/benchmarks/interleave.sh"

repetitions=15
min_time=0.2
programs=()
filter=""
out="${workspace}/docs/benchmarks.md"
for argument in "$@"; do
  case "${argument}" in
    --repetitions=*) repetitions="${argument#*=}" ;;
    --min_time=*) min_time="${argument#*=}" ;;
    --only=*) IFS=, read -r -a programs <<<"${argument#*=}" ;;
    --filter=*) filter="${argument#*=}" ;;
    --out=*) out="${argument#*=}" ;;
    -h | --help) usage 0 ;;
    *) echo "report: unknown option ${argument}" >&2; usage 2 ;;
  esac
done

[[ "${repetitions}" =~ ^[1-9][0-9]*$ ]] || fail "--repetitions wants a positive whole number"
[[ "${min_time}" =~ ^[0-9]*\.?[0-9]+$ ]] || fail "--min_time wants seconds, like 0.2"
mapfile -t all_programs < <(report_programs)
((${#all_programs[@]} > 0)) || fail "no program in benchmarks/BUILD.bazel is tagged \"report\""
((${#programs[@]} > 0)) || programs=("${all_programs[@]}")
for program in "${programs[@]}"; do
  [[ " ${all_programs[*]} " == *" ${program} "* ]] ||
    fail "no program '${program}'; there are: ${all_programs[*]}"
done
# A relative --out is relative to where ./bazelw was run.
[[ "${out}" == /* ]] || out="${BUILD_WORKING_DIRECTORY:-${workspace}}/${out}"

targets=(//benchmarks:report_generator)
for program in "${programs[@]}"; do targets+=("//benchmarks:${program}_benchmark"); done
echo "== building, optimised: ${targets[*]}" >&2
./bazelw build -c opt --experimental_convenience_symlinks=ignore "${targets[@]}"
bin="$(./bazelw info -c opt bazel-bin 2>/dev/null)"

results="$(mktemp -d)"
trap 'rm -rf "${results}"' EXIT

# What each program does: its operations, in order.
declare -A operations_of
generator_inputs=()
for program in "${programs[@]}"; do
  operations_of[${program}]="$(operations "${bin}/benchmarks/${program}_benchmark" "${filter}")"
  if [[ -z "${operations_of[${program}]}" ]]; then
    echo "== ${program}: no operation matches --filter=${filter}, left out" >&2
    continue
  fi
  mkdir -p "${results}/${program}"
  generator_inputs+=("${program}=${results}/${program}")
done
((${#generator_inputs[@]} > 0)) || fail "nothing to run"

started=${SECONDS}
for ((repetition = 0; repetition < repetitions; ++repetition)); do
  echo "== repetition $((repetition + 1)) of ${repetitions} ($((SECONDS - started)) s so far)" >&2
  for program in "${programs[@]}"; do
    index=0
    while read -r operation; do
      [[ -n "${operation}" ]] || continue
      run_operation "${bin}/benchmarks/${program}_benchmark" "${operation}" "${min_time}" \
          "$(printf '%s/%s/op%03d-rep%03d.json' "${results}" "${program}" "${index}" "${repetition}")"
      index=$((index + 1))
    done <<<"${operations_of[${program}]}"
  done
done
echo "== measured in $((SECONDS - started)) s" >&2

command="./bazelw run //benchmarks:report"
(($# > 0)) && command+=" -- $(quoted_command "$@")"
"${bin}/benchmarks/report_generator" --markdown="${out}" --machine="$(machine_description)" \
    --command="${command}" --program_flags="$(operation_flags "${min_time}")" \
    "${generator_inputs[@]}"
echo "== wrote ${out} and ${out%.md}.svg" >&2
