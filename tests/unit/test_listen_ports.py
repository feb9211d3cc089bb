"""Every port a configured service listens on, or that a client is told to dial on loopback, lies
outside Linux's default ephemeral range (32768-60999). Inside it, any outgoing connection on the
machine can hold the port as its source port, and the service restarting on it fails to bind;
this is what made a restarted Kafka node of `brain cluster up` die with "Address already in use"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from brain import config

EPHEMERAL = range(32768, 61000)
LOOPBACK_URL = re.compile(r"(?:127\.0\.0\.1|localhost):(\d+)")
ENVS = sorted({"local"} | {p.stem for p in (Path(config.project_root()) / "conf" / "env").glob("*.yaml")})


def ports(node, where=""):
    """(key, port) for every *port / *ports key and every loopback host:port in a string."""
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{where}.{key}" if where else str(key)
            if str(key).endswith(("port", "ports")):
                for p in value if isinstance(value, list) else [value]:
                    if isinstance(p, int) or (isinstance(p, str) and p.isdigit()):
                        yield path, int(p)
            else:
                yield from ports(value, path)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from ports(item, f"{where}[{i}]")
    elif isinstance(node, str):
        for m in LOOPBACK_URL.finditer(node):
            yield where, int(m.group(1))


def listening(cfg) -> dict[int, list[str]]:
    """Port -> the key of the service that listens on it (the *port / *ports keys; a worker's two)."""
    out: dict[int, list[str]] = {}
    for key, port in ports(cfg.data):
        if key.endswith(("port", "ports")):
            out.setdefault(port, []).append(key)
    base, workers = cfg.get("cluster.spark.worker_base_port", type_=int), cfg.get("cluster.spark.workers", type_=int)
    for p in range(base, base + 2 * workers):
        out.setdefault(p, []).append("cluster.spark.worker_base_port")
    return out


@pytest.mark.parametrize("env", ENVS)
def test_no_configured_port_is_in_the_ephemeral_range(env):
    cfg = config.load(env=env, environ={})
    found = list(ports(cfg.data)) + [(keys[0], port) for port, keys in listening(cfg).items()]
    assert ("kafka.embedded.port", 9092) in found  # the walk sees the config at all
    inside = sorted({(key, port) for key, port in found if port in EPHEMERAL})
    assert not inside, f"{env}: ports inside {EPHEMERAL.start}-{EPHEMERAL.stop - 1}: {inside}"


@pytest.mark.parametrize("env", ENVS)
def test_no_two_services_listen_on_one_port(env):
    cfg = config.load(env=env, environ={})
    shared = {p: keys for p, keys in listening(cfg).items() if len(set(keys)) > 1}
    assert not shared, f"{env}: ports claimed by more than one setting: {shared}"


def test_the_benchs_and_the_tests_own_brokers_miss_every_configured_service():
    """`make bench-quick` and `make test` start their own Kafka (and MQTT) beside whatever runs; a
    cluster left up by `make test-cluster` must not sit on their ports, nor they on its."""
    from bench import bridge
    from bench import env as bench_env
    from tests import conftest

    own = {bench_env.BENCH_PORT, bench_env.BENCH_PORT + 1, bridge.MQTT_PORT,
           conftest.TEST_KAFKA_PORT, conftest.TEST_KAFKA_PORT + 1, conftest.TEST_SPARK_PORT}
    for env in ENVS:
        cfg = config.load(env=env, environ={})
        clash = {p: keys for p, keys in listening(cfg).items() if p in own and not
                 any(k.startswith(("kafka.embedded", "mqtt.", "spark_connect.")) for k in keys)}
        assert not clash, f"{env}: the bench's or the tests' own services use {clash}"
