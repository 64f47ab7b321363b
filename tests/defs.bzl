"""Test rules for uncopyable: every test goes through these."""

load("//:copts.bzl", "UNCOPYABLE_COPTS")

def uncopyable_test(name, srcs, deps = [], **kwargs):
    """A GoogleTest cc_test with the project's warnings and the leak guard main."""
    kwargs.setdefault("size", "small")
    native.cc_test(
        name = name,
        srcs = srcs,
        copts = UNCOPYABLE_COPTS,
        deps = deps + [
            "//tests/testing:test_main",
            "@com_google_googletest//:gtest",
        ],
        **kwargs
    )

def nocompile_test(name, src, cases, hdrs = ["//:public_headers"], compiler = None, flags = [], **kwargs):
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

    The compiler is the configured C++ toolchain's unless `compiler` names
    another (clang++ for clang-only diagnostics such as -Wthread-safety);
    `flags` are added to every compilation.
    """
    args = [compiler or "$(CC)", "$(location %s)" % src, "'%s'" % " ".join(flags)]
    for case, pattern in cases.items():
        if "'" in pattern:
            fail("nocompile_test %s: write the pattern for %s without single quotes" % (name, case))
        args += [case, "'%s'" % pattern]  # args are split like a shell's
    kwargs.setdefault("size", "small")
    native.sh_test(
        name = name,
        srcs = ["//tests:nocompile.sh"],
        args = args,
        data = [src] + hdrs,
        toolchains = ["@bazel_tools//tools/cpp:current_cc_toolchain"],
        **kwargs
    )
