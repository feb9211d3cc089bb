"""`brain cluster up` brings back a Kafka node that dies again while it starts: three real KRaft
brokers (cluster-local's sasl_ssl), one SIGKILLed, then `up` restarts it and the restarted JVM is
killed before it has rejoined (what Kafka does to itself when it cannot register or catch up
with the quorum in time on a loaded machine). `up` starts it once more and returns only when the
three brokers are live and every partition is in sync."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

from brain import config
from brain.ops import broker, kafka_cluster
from brain.ops.processes import pid_alive

pytestmark = [pytest.mark.cluster, pytest.mark.integration, pytest.mark.slow]

# Not the other cluster tests' ports: a run they left behind cannot answer for these brokers.
KAFKA_PORTS, CONTROLLER_PORTS = [24192, 24194, 24196], [24193, 24195, 24197]


@pytest.fixture
def cfg(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRAIN__KAFKA__")}
    env.update({"BRAIN__PATHS__STATE": str(tmp_path / "state"),
                "BRAIN__CLUSTER__KAFKA__PORTS": json.dumps(KAFKA_PORTS),
                "BRAIN__CLUSTER__KAFKA__CONTROLLER_PORTS": json.dumps(CONTROLLER_PORTS),
                "BRAIN__KAFKA__BOOTSTRAP_SERVERS": ",".join(f"127.0.0.1:{p}" for p in KAFKA_PORTS),
                "BRAIN__KAFKA__EMBEDDED__HEAP": "256m"})
    cfg = config.load(env="cluster-local", environ=env)
    try:
        yield cfg
    finally:
        kafka_cluster.down(cfg, log=lambda _: None)


def test_up_starts_again_a_node_that_exits_while_starting(cfg):
    kafka_cluster.up(cfg, log=lambda _: None)
    node3 = kafka_cluster.nodes(cfg)[2]
    paths = kafka_cluster.node_paths(cfg, node3)
    first = broker.read_pid(paths)
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while pid_alive(first) and time.monotonic() < deadline:
        time.sleep(0.2)

    lines: list[str] = []
    failed: list[BaseException] = []

    def up() -> None:
        try:
            kafka_cluster.up(cfg, log=lines.append)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertions below
            failed.append(exc)

    runner = threading.Thread(target=up)
    runner.start()
    # The node `up` starts again dies before it has rejoined.
    deadline = time.monotonic() + 60
    while broker.read_pid(paths) in (None, first) and runner.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    second = broker.read_pid(paths)
    assert second not in (None, first), (failed, lines)
    os.kill(second, signal.SIGKILL)
    runner.join(timeout=400)

    assert not runner.is_alive() and not failed, (failed, lines)
    assert any(line.startswith("kafka: node 3 exited while starting (exit code -9); starting it again")
               for line in lines), lines
    third = broker.read_pid(paths)
    assert third not in (first, second) and pid_alive(third)
    assert kafka_cluster.live_brokers(cfg) == 3
    assert kafka_cluster.replication(cfg)["under_replicated"] == 0
