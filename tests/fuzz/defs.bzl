"""Fuzz targets: a libFuzzer binary, and a test that replays its seed corpus."""

load("@rules_cc//cc:cc_binary.bzl", "cc_binary")
load("//:copts.bzl", "UNCOPYABLE_COPTS")
load("//tests:defs.bzl", "uncopyable_test")

def uncopyable_fuzzer(name, srcs, corpus_dir, deps = []):
    """Declares `name` (libFuzzer, built with --config=fuzz) and `name`_replay_test.

    The replay test runs every seed in `corpus_dir` through the target in
    every build, so the seeds keep passing under default, asan and ubsan.
    """
    cc_binary(
        name = name,
        srcs = srcs,
        copts = UNCOPYABLE_COPTS,
        linkopts = ["-fsanitize=fuzzer"],
        tags = ["manual"],  # clang only: .ci/run builds it with --config=fuzz
        testonly = True,
        deps = deps,
    )
    uncopyable_test(
        name = name + "_replay_test",
        srcs = srcs + ["//tests/fuzz:replay_test.cc"],
        data = native.glob([corpus_dir + "/**"]),
        env = {"FUZZ_CORPUS": native.package_name() + "/" + corpus_dir},
        deps = deps,
    )
