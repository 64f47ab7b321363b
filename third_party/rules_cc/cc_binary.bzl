"""Offline stand-in for @rules_cc//cc:cc_binary.bzl (rules_cc 0.0.10 and later).

uncopyable's BUILD and .bzl files load cc_binary from here, as Bazel 9 asks
(it has no native cc_binary any more). For Bazel 4.2.3 this forwards to the
native rule, which is what rules_cc itself does on Bazels that have one.
"""

def cc_binary(**attrs):
    native.cc_binary(**attrs)  # buildifier: disable=native-cc-binary
