"""Test rules for uncopyable: every test goes through these."""

load("@rules_cc//cc:cc_test.bzl", "cc_test")
load("@rules_shell//shell:sh_test.bzl", "sh_test")
load("//:copts.bzl", "UNCOPYABLE_COPTS")

def uncopyable_test(name, srcs, deps = [], **kwargs):
    """A GoogleTest cc_test with the project's warnings and the leak guard main."""
    kwargs.setdefault("size", "small")
    cc_test(
        name = name,
        srcs = srcs,
        copts = UNCOPYABLE_COPTS,
        deps = deps + [
            "//tests/testing:test_main",
            "@com_google_googletest//:gtest",
        ],
        **kwargs
    )

def nocompile_test(name, src, cases = None, hdrs = ["//:public_headers"], compiler = None, flags = [], **kwargs):
    """Proves that each case in `src` fails to compile, for the right reason.

    `src` is compiled once as it is (the control: it must compile, so the
    cases fail for their own reason and not a broken include), then once per
    case with -D<CASE>; each of those must fail, and the compiler's message
    must match the case's extended regular expression:

        nocompile_test(
            name = "fd_nocompile_test",
            src = "nocompile/fd.cc",
            cases = {"COPY_CONSTRUCT": "use of deleted function"},
        )

    Without `cases`, `src` carries its own, one comment line each (the
    pattern runs to the end of the line; nocompile.sh reads them):

        // nocompile COPY_CONSTRUCT: use of deleted function .*Fd::Fd

    and a file must not have both.

    The compiler is the configured C++ toolchain's unless `compiler` names
    another (clang++ for clang-only diagnostics such as -Wthread-safety);
    `flags` are added to every compilation.

    Args:
      name: the sh_test's name.
      src: the C++ file with the cases.
      cases: {CASE: regular expression}, or None to read them from `src`.
      hdrs: the headers `src` may include.
      compiler: the compiler to run, or None for the configured toolchain's.
      flags: flags added to every compilation.
      **kwargs: passed on to the sh_test (size, tags, ...).
    """
    args = [compiler or "$(CC)", "$(location %s)" % src, "'%s'" % " ".join(flags)]
    for case, pattern in (cases or {}).items():
        if "'" in pattern:
            fail("nocompile_test %s: write the pattern for %s without single quotes" % (name, case))
        args += [case, "'%s'" % pattern]  # args are split like a shell's
    kwargs.setdefault("size", "small")
    sh_test(
        name = name,
        srcs = ["//tests:nocompile.sh"],
        args = args,
        data = [src] + hdrs,
        toolchains = ["@bazel_tools//tools/cpp:current_cc_toolchain"],
        **kwargs
    )

# What an automatic test (automatic_tests below) may include: everything
# public (//:uncopyable), the fault injector and the wall clock's step, the
# internals a handle's tests use, the test helpers of tests/testing, and
# GoogleTest (added by uncopyable_test).
AUTOMATIC_TEST_DEPS = [
    "//:uncopyable",
    "//:deadline",
    "//:errors",
    "//:fault_injection",
    "//:syscall",
    "//:wall_clock",
    "//tests/testing:cache_size_checks",
    "//tests/testing:config_generator",
    "//tests/testing:example_configs",
    "//tests/testing:example_rows",
    "//tests/testing:fds",
    "//tests/testing:finishes_in_time",
    "//tests/testing:forked_child",
    "//tests/testing:literally",
    "//tests/testing:postgres_server",
    "//tests/testing:postgres_suite",
    "//tests/testing:recording_traits",
    "//tests/testing:temp_path",
    "@com_google_absl//absl/status",
    "@com_google_absl//absl/status:statusor",
    "@com_google_absl//absl/strings",
    "@com_google_absl//absl/time",
]

def _file_in_package(label):
    """`pipe_test.cc` of "//tests:pipe_test.cc", ":pipe_test.cc" or "pipe_test.cc"."""
    label = str(label)
    prefix = "//%s:" % native.package_name()
    if label.startswith(prefix):
        return label[len(prefix):]
    if label.startswith(":"):
        return label[1:]
    return label

def automatic_tests(deps = AUTOMATIC_TEST_DEPS):
    """A rule for every test source of this package that has none yet.

    Called last in tests/BUILD.bazel (it sees only the rules declared before
    it), it declares
      - uncopyable_test(name = "<stem>", srcs = ["<stem>.cc"], deps = deps)
        for each *_test.cc that no test rule compiles, and
      - nocompile_test(name = "<stem>_nocompile_test", src = "nocompile/<stem>.cc")
        for each nocompile/*.cc that no test rule reads; its cases are the
        file's own `// nocompile CASE: pattern` lines.
    A test that needs more (data, a size, tags, other deps, another
    compiler) keeps a rule of its own above the call.

    Args:
      deps: what each automatic uncopyable_test depends on.
    """
    rules = native.existing_rules()
    used = {}
    for rule in rules.values():
        if not rule["kind"].endswith("_test"):
            continue
        for attribute in ("srcs", "data"):
            for label in rule.get(attribute) or []:
                used[_file_in_package(label)] = True
    for src in native.glob(["*_test.cc"]):
        if src in used:
            continue
        name = src[:-len(".cc")]
        if name in rules:
            fail("automatic_tests: %s does not compile %s, so it cannot be made; " % (name, src) +
                 "add the file to that rule or rename one of them")
        uncopyable_test(name = name, srcs = [src], deps = deps)
    for src in native.glob(["nocompile/*.cc"]):
        if src in used:
            continue
        name = src[len("nocompile/"):-len(".cc")] + "_nocompile_test"
        if name in rules:
            fail("automatic_tests: %s does not read %s, so it cannot be made; " % (name, src) +
                 "add the file to that rule or rename one of them")
        nocompile_test(name = name, src = src)
