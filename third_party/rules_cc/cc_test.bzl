"""Offline stand-in for @rules_cc//cc:cc_test.bzl (rules_cc 0.0.10 and later).

uncopyable's BUILD and .bzl files load cc_test from here, as Bazel 9 asks
(it has no native cc_test any more). For Bazel 4.2.3 this forwards to the
native rule, which is what rules_cc itself does on Bazels that have one.
"""

def cc_test(**attrs):
    native.cc_test(**attrs)  # buildifier: disable=native-cc-test
