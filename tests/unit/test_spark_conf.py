"""Spark settings that decide speed: which JVM flags the driver and executors get."""

from __future__ import annotations

import os

from brain import config
from brain.spark import session_conf

JIT = "-XX:-DontCompileHugeMethods"


def _conf(tmp_path, **env) -> dict[str, str]:
    return session_conf(config.load(environ={**os.environ, "BRAIN__PATHS__STATE": str(tmp_path), **env}))


def test_driver_and_executors_jit_compile_huge_generated_methods_by_default(tmp_path):
    conf = _conf(tmp_path)
    assert JIT in conf["spark.driver.extraJavaOptions"].split()
    assert JIT in conf["spark.executor.extraJavaOptions"].split()


def test_huge_method_jit_can_be_turned_off(tmp_path):
    conf = _conf(tmp_path, BRAIN__SPARK__JIT_HUGE_METHODS="false")
    assert JIT not in conf["spark.driver.extraJavaOptions"]
    assert JIT not in conf["spark.executor.extraJavaOptions"]
    assert "-Dderby.system.home=" in conf["spark.driver.extraJavaOptions"]  # the rest stays


def test_user_java_options_reach_driver_and_executors(tmp_path):
    conf = _conf(tmp_path, BRAIN__SPARK__JAVA_OPTIONS="-XX:+UseG1GC -Dx=1")
    for key in ("spark.driver.extraJavaOptions", "spark.executor.extraJavaOptions"):
        assert conf[key].split()[-2:] == ["-XX:+UseG1GC", "-Dx=1"]
        assert JIT in conf[key].split()


def test_delta_log_replay_is_one_task_on_a_laptop_and_parallel_on_the_cluster(tmp_path):
    assert _conf(tmp_path)["spark.databricks.delta.snapshotPartitions"] == "1"
    cluster = _conf(tmp_path, BRAIN_ENV="cluster", BRAIN_S3_ACCESS_KEY="k", BRAIN_S3_SECRET_KEY="s")
    assert int(cluster["spark.databricks.delta.snapshotPartitions"]) > 1
