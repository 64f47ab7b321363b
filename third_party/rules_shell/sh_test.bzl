"""Offline stand-in for @rules_shell//shell:sh_test.bzl.

uncopyable's BUILD and .bzl files load sh_test from here, as Bazel 9 asks
(it has no native sh_test any more). For Bazel 4.2.3 this forwards to the
native rule, which is what rules_shell itself does on Bazels that have one.
"""

def sh_test(**attrs):
    native.sh_test(**attrs)  # buildifier: disable=native-sh-test
