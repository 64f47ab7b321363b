#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS]: builds every fuzzer with clang, libFuzzer, ASan
# and UBSan (--config=fuzz), and runs each for SECONDS (default 20) on a copy
# of its seed corpus. A crash, a leak, a hang past 10 s on one input, or any
# sanitizer report fails it, and the input that did it is printed in base64.
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-20}"
fuzzers=(config_json config_url)

targets=()
for name in "${fuzzers[@]}"; do targets+=("//tests/fuzz:${name}_fuzzer"); done
build_log="$(mktemp)"
if ! ./bazelw build --config=fuzz "${targets[@]}" >"${build_log}" 2>&1; then
  cat "${build_log}"
  echo "FAIL the fuzzers did not build"
  exit 1
fi
rm -f "${build_log}"
bin="$(./bazelw info --config=fuzz bazel-bin 2>/dev/null)"

status=0
for name in "${fuzzers[@]}"; do
  work="$(mktemp -d)"
  mkdir "${work}/corpus" "${work}/artifacts"
  cp tests/fuzz/corpus/"${name}"/* "${work}/corpus/"
  echo "== fuzzing ${name} for ${seconds}s"
  "${bin}/tests/fuzz/${name}_fuzzer" -max_total_time="${seconds}" -timeout=10 \
      -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
      -artifact_prefix="${work}/artifacts/" "${work}/corpus" >"${work}/log" 2>&1
  code=$?
  grep -E "^#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb" "${work}/log" || true
  if ((code != 0)); then
    status=1
    echo "FAIL ${name}: the fuzzer exited with ${code}; its report:"
    tail -n 60 "${work}/log"
    for artifact in "${work}/artifacts"/*; do
      [[ -f "${artifact}" ]] || continue
      echo "input that failed ($(basename "${artifact}")), base64:"
      base64 -w0 "${artifact}"; echo
    done
  else
    echo "ok   ${name}: no crash, leak, hang or sanitizer report"
  fi
  rm -rf "${work}"
done
exit "${status}"
