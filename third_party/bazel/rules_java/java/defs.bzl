"""Thin forwarders to Bazel's native Java rules.

@bazel_tools loads these symbols from @rules_java//java:defs.bzl when it parses
the registered JDK toolchains, even for builds without any Java code. The real
rules_java is downloaded from the network; this stub keeps offline builds working.
"""

def java_binary(**attrs):
    native.java_binary(**attrs)

def java_import(**attrs):
    native.java_import(**attrs)

def java_library(**attrs):
    native.java_library(**attrs)

def java_lite_proto_library(**attrs):
    native.java_lite_proto_library(**attrs)

def java_proto_library(**attrs):
    native.java_proto_library(**attrs)

def java_runtime(**attrs):
    native.java_runtime(**attrs)

def java_test(**attrs):
    native.java_test(**attrs)

def java_toolchain(**attrs):
    native.java_toolchain(**attrs)
