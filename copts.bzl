"""Compiler flags for uncopyable's own code (never for the system libraries),
and the rule every library of the project is declared with."""

# Warnings are errors in the project's own sources. System headers are
# included with -isystem by the toolchain, so their warnings stay silent.
UNCOPYABLE_COPTS = [
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wshadow",
    "-Wnon-virtual-dtor",
    "-Woverloaded-virtual",
    "-Wcast-align",
    "-Wformat=2",
    "-Wimplicit-fallthrough",
    "-Wmissing-declarations",
]

def uncopyable_library(name, visibility = ["//visibility:public"], **attrs):
    """A cc_library of uncopyable: its warnings, its include root, public by default."""
    native.cc_library(
        name = name,
        copts = UNCOPYABLE_COPTS,
        includes = ["include"],
        visibility = visibility,
        **attrs
    )
