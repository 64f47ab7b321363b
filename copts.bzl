"""Compiler flags for uncopyable's own code (never for the system libraries)."""

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
