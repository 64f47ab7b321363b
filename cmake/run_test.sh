#!/bin/sh
# run_test.sh TMPDIR COMMAND [ARGS...]: runs one CTest test the way
# `bazel test` runs it: in a fresh, empty TEST_TMPDIR (made here, removed
# first if a previous run left it). TEST_SRCDIR, TEST_WORKSPACE and
# GTEST_DEATH_TEST_STYLE come from the test's ENVIRONMENT (see
# uncopyable_add_test in cmake/uncopyable_rules.cmake).
set -eu
TEST_TMPDIR="$1"
shift
rm -rf "${TEST_TMPDIR}"
mkdir -p "${TEST_TMPDIR}"
export TEST_TMPDIR
exec "$@"
