"""The broker SIGKILLed while records are being produced, and stopped and restarted while
ingest runs: the idempotent producer does not write a record twice, and the rerun ingests
each record once.

This test runs its own broker (own ports, own data folder) so killing it cannot
disturb the session broker other tests share.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from brain import config, pipeline
from brain.contracts import topic_names
from brain.ingest import kafka_io
from brain.lake.tables import is_delta, table_path
from brain.ops import broker as kafka_broker
from brain.simulator.sinks import KafkaSink, read_ledger
from tests.fault.ledger import assert_nothing_lost_or_doubled, count, energy_batch, spawn_stage
from tests.ports import free_port

pytestmark = [pytest.mark.slow, pytest.mark.fault]


@pytest.fixture
def own_broker(isolated_cfg, monkeypatch, tmp_path):
    port, cport = free_port(), free_port()
    monkeypatch.setenv("BRAIN__PATHS__STATE", str(tmp_path / "state"))
    monkeypatch.setenv("BRAIN__KAFKA__EMBEDDED__PORT", str(port))
    monkeypatch.setenv("BRAIN__KAFKA__EMBEDDED__CONTROLLER_PORT", str(cport))
    monkeypatch.setenv("BRAIN__KAFKA__BOOTSTRAP_SERVERS", f"127.0.0.1:{port}")
    monkeypatch.setenv("BRAIN__KAFKA__EMBEDDED__START_TIMEOUT_S", "240")
    cfg = config.load()
    kafka_broker.start(cfg, log=lambda m: None)
    yield cfg
    kafka_broker.stop(cfg, log=lambda m: None)


def _sigkill_broker(cfg) -> None:
    pid = kafka_broker.status(cfg).pid
    assert pid, "the test broker is not running"
    os.kill(pid, signal.SIGKILL)
    try:
        os.waitpid(pid, 0)  # our child: reap it so its pid reads as gone
    except ChildProcessError:
        pass


def test_broker_killed_mid_produce_and_restarted_mid_ingest(spark, own_broker, tmp_path):
    cfg = own_broker
    ledger = tmp_path / "ledger.jsonl"
    topic = topic_names.topic_for(cfg, "energy", "energy_meter")
    kafka_io.create_topics(cfg, [topic])
    msgs, expected = energy_batch(300)

    sink = KafkaSink(cfg, ledger=ledger)
    half = len(msgs) // 2
    for key, value in msgs[:half]:
        sink.send(topic, key, value)
    sink.poll()
    _sigkill_broker(cfg)  # with the first half queued or in flight
    for key, value in msgs[half:]:
        sink.send(topic, key, value)
    kafka_broker.start(cfg, log=lambda m: None)
    sink.close()  # raises unless every record was acknowledged after the restart's retries
    del sink  # its idle producer would otherwise log reconnect attempts while the broker is down below

    assert len(read_ledger(ledger)) == len(msgs)
    # Idempotence: retried batches were not appended a second time.
    assert sum(t.total for t in kafka_io.describe_topics(cfg, [topic])) == len(msgs)

    ingest = spawn_stage("ingest", extra_env={"BRAIN__PIPELINE__MAX_OFFSETS_PER_TRIGGER": "40"})
    deadline = time.monotonic() + 300
    while not is_delta(table_path(cfg, "bronze.energy_meter")) and ingest.poll() is None:
        assert time.monotonic() < deadline, "ingest wrote nothing in 5 minutes"
        time.sleep(0.2)
    kafka_broker.stop(cfg, log=lambda m: None)
    time.sleep(2)
    kafka_broker.start(cfg, log=lambda m: None)
    try:
        ingest.communicate(timeout=400)  # it may finish after reconnecting, or fail: both are allowed
    except subprocess.TimeoutExpired:
        os.killpg(ingest.pid, signal.SIGKILL)
        ingest.communicate()

    pipeline.ingest(cfg, "energy", "run_after_broker_faults")
    assert_nothing_lost_or_doubled(spark, cfg, ledger)
    assert count(spark, cfg, "bronze.energy_meter") == len(msgs)
    assert count(spark, cfg, "silver.energy_meter") == expected["silver"]
    assert count(spark, cfg, "quality.duplicates") == expected["duplicates"]
