"""Offline stand-in for @rules_shell//shell:sh_library.bzl.

uncopyable's BUILD and .bzl files load sh_library from here, as Bazel 9 asks
(it has no native sh_library any more). For Bazel 4.2.3 this forwards to the
native rule, which is what rules_shell itself does on Bazels that have one.
"""

def sh_library(**attrs):
    native.sh_library(**attrs)  # buildifier: disable=native-sh-library
