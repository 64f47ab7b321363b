"""Offline stand-in for @rules_shell//shell:sh_binary.bzl.

uncopyable's BUILD and .bzl files load sh_binary from here, as Bazel 9 asks
(it has no native sh_binary any more). For Bazel 4.2.3 this forwards to the
native rule, which is what rules_shell itself does on Bazels that have one.
"""

def sh_binary(**attrs):
    native.sh_binary(**attrs)  # buildifier: disable=native-sh-binary
