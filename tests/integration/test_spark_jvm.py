"""The session's JVM really runs with the flags brain.spark sets (a conf string is not proof)."""

from __future__ import annotations


def test_session_jvm_jit_compiles_huge_methods(spark):
    jvm = spark.sparkContext._jvm
    args = list(jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())
    assert "-XX:-DontCompileHugeMethods" in args, args
