"""Compiler flags for uncopyable's own code (never for the system libraries),
and the rule every library of the project is declared with."""

# Warnings are errors in the project's own builds (its .bazelrc sets
# --define=uncopyable_werror=true), never in a consumer's build of
# @uncopyable//...: a newer compiler's new warning must not break a user.
# System headers are included with -isystem by the toolchain, so their
# warnings stay silent.
UNCOPYABLE_COPTS = [
    "-Wall",
    "-Wextra",
    "-Wshadow",
    "-Wnon-virtual-dtor",
    "-Woverloaded-virtual",
    "-Wcast-align",
    "-Wformat=2",
    "-Wimplicit-fallthrough",
    "-Wmissing-declarations",
] + select({
    str(Label("//:werror")): ["-Werror"],
    "//conditions:default": [],
})

def uncopyable_library(name, visibility = ["//visibility:public"], **attrs):
    """A cc_library of uncopyable: its warnings, its include root, public by default."""
    native.cc_library(
        name = name,
        copts = UNCOPYABLE_COPTS,
        includes = ["include"],
        visibility = visibility,
        **attrs
    )
