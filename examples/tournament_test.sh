#!/usr/bin/env bash
# Runs the tournament program and checks that it finishes and says so.
set -euo pipefail
output="$("$1")"
echo "${output}"
grep -q "owner counts 5, second counts 3" <<<"${output}"
grep -q "^Done.$" <<<"${output}"
