"""The embedded broker's lifecycle, on its own ports and state folder."""

from __future__ import annotations

import json
import os
import socket
import uuid

import pytest

from brain import config
from brain.ops import broker as kafka_broker

pytestmark = pytest.mark.integration


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def own_broker_cfg(tmp_path):
    port = 19192
    env = {**os.environ, "BRAIN__PATHS__STATE": str(tmp_path / "state"),
           "BRAIN__KAFKA__EMBEDDED__PORT": str(port), "BRAIN__KAFKA__EMBEDDED__CONTROLLER_PORT": str(port + 1),
           "BRAIN__KAFKA__BOOTSTRAP_SERVERS": f"127.0.0.1:{port}"}
    cfg = config.load(environ=env)
    yield cfg
    kafka_broker.stop(cfg, log=lambda m: None)


def test_start_twice_leaves_one_broker_and_stop_frees_the_port(own_broker_cfg):
    cfg = own_broker_cfg
    first = kafka_broker.start(cfg, log=lambda m: None)
    assert first.running and first.reachable
    assert (kafka_broker.paths(cfg).data / "meta.properties").exists()  # KRaft storage formatted
    second = kafka_broker.start(cfg, log=lambda m: None)
    assert second.pid == first.pid
    assert kafka_broker.status(cfg).running

    kafka_broker.stop(cfg, log=lambda m: None)
    assert not _port_open(19192) and not _port_open(19193)
    assert not kafka_broker.status(cfg).running


def test_standard_clients_work_against_it(broker, base_cfg):
    """kafka-python and librdkafka (confluent-kafka) both produce and consume."""
    from confluent_kafka import Consumer, Producer

    from brain.ingest import kafka_io

    topic = f"clients.{uuid.uuid4().hex[:8]}"
    assert kafka_io.create_topics(base_cfg, [topic], partitions=2) == [topic]
    counts = kafka_io.produce(base_cfg, [(topic, b"k1", b"from-kafka-python")])
    assert counts == {topic: 1}

    p = Producer({"bootstrap.servers": broker, "enable.idempotence": True, "acks": "all"})
    p.produce(topic, key=b"k2", value=b"from-librdkafka")
    assert p.flush(30) == 0

    values = sorted(m.value for m in kafka_io.consume_all(base_cfg, topic))
    assert values == [b"from-kafka-python", b"from-librdkafka"]

    c = Consumer({"bootstrap.servers": broker, "group.id": f"g{uuid.uuid4().hex}", "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    seen = []
    for _ in range(60):
        m = c.poll(1.0)
        if m is not None and not m.error():
            seen.append(m.value())
        if len(seen) == 2:
            break
    c.close()
    assert sorted(seen) == values
    info = {t.topic: t for t in kafka_io.describe_topics(base_cfg, [topic])}
    assert info[topic].partitions == 2 and info[topic].total == 2


def test_cli_status_reports_json(broker, capsys):
    from brain.cli.main import main

    assert main(["kafka", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["running"] and status["reachable"] and status["port"] == int(broker.rsplit(":", 1)[1])


def test_auto_topic_creation_is_off(broker, base_cfg):
    """A typo in a topic name fails the send instead of creating an empty topic."""
    from kafka.errors import KafkaTimeoutError

    from brain.ingest import kafka_io

    prod = kafka_io.producer(base_cfg, max_block_ms=3000)
    try:
        with pytest.raises(KafkaTimeoutError):
            prod.send(f"typo.{uuid.uuid4().hex[:6]}", b"x").get(timeout=5)
    finally:
        prod.close(timeout=5)
