"""Kafka stopped while the edge bridge runs: QoS 1 messages are not acknowledged, the broker
keeps them in the bridge's persistent session, and once Kafka is back they are redelivered
and bridged; a QoS 0 message (which MQTT never redelivers) is kept and resent by the bridge
itself; every reading reaches Kafka and the ledger balances.

Its own Kafka broker and mosquitto (own ports, own state folder), so stopping Kafka
cannot disturb the session broker other tests share.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from brain import config
from brain.edge import broker as mqtt_broker
from brain.edge import payload
from brain.edge.bridge import Bridge
from brain.edge.sparkplug_b_pb2 import Double, UInt64
from brain.ingest import kafka_io
from brain.ops import broker as kafka_broker
from tests.ports import free_port

pytestmark = [pytest.mark.slow, pytest.mark.fault]
NS = "spBv1.0/baotou-steel"


@pytest.fixture
def own_brokers(isolated_cfg, monkeypatch, tmp_path):
    port, cport, mport = free_port(), free_port(), free_port()
    for key, value in {"BRAIN__PATHS__STATE": str(tmp_path / "state"), "BRAIN__KAFKA__EMBEDDED__PORT": str(port),
                       "BRAIN__KAFKA__EMBEDDED__CONTROLLER_PORT": str(cport),
                       "BRAIN__KAFKA__BOOTSTRAP_SERVERS": f"127.0.0.1:{port}",
                       "BRAIN__KAFKA__EMBEDDED__START_TIMEOUT_S": "240", "BRAIN__MQTT__PORT": str(mport),
                       "BRAIN__BRIDGE__KAFKA_TIMEOUT_S": "5", "BRAIN__BRIDGE__RETRY_BACKOFF_S": "1"}.items():
        monkeypatch.setenv(key, value)
    cfg = config.load()
    kafka_broker.start(cfg, log=lambda m: None)
    mqtt_broker.start(cfg, log=lambda m: None)
    yield cfg
    mqtt_broker.stop(cfg, log=lambda m: None)
    kafka_broker.stop(cfg, log=lambda m: None)


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_kafka_down_means_unacknowledged_then_redelivered_not_lost(own_brokers):
    import paho.mqtt.client as mqtt

    cfg = own_brokers
    logs: list[str] = []
    bridge = Bridge(cfg, log=logs.append)
    runner = threading.Thread(target=bridge.run, daemon=True)
    runner.start()
    _wait(lambda: bridge.connected, 60, "the bridge to connect")

    node = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="node-kafka-down")
    node.username_pw_set(*mqtt_broker.credentials(cfg))
    node.connect("127.0.0.1", cfg.get("mqtt.port"))
    node.loop_start()
    now = int(time.time() * 1000)

    def publish(topic: str, data: bytes, qos: int = 1) -> None:
        node.publish(topic, data, qos=qos).wait_for_publish(timeout=10)

    publish(f"{NS}/NBIRTH/gw-bf-1", payload.encode([{"name": "bdSeq", "datatype": UInt64, "value": 0}],
                                                   seq=0, timestamp=now))
    publish(f"{NS}/DBIRTH/gw-bf-1/BlastFurnace", payload.encode(
        [{"name": "Furnace/Temperature", "alias": 1, "datatype": Double, "value": 1500.0}], seq=1, timestamp=now))
    _wait(lambda: bridge.ledger.bridged == 2, 60, "the births to be bridged")

    kafka_broker.stop(cfg, log=lambda m: None)
    for i in range(3):                         # the last one at QoS 0, as Sparkplug nodes publish data by default
        publish(f"{NS}/DDATA/gw-bf-1/BlastFurnace", payload.encode(
            [{"alias": 1, "datatype": Double, "value": 1501.0 + i}], seq=2 + i, timestamp=now + 1000 * (i + 1)),
            qos=1 if i < 2 else 0)
    _wait(lambda: bridge.ledger.left_unacknowledged >= 1, 120, "the bridge to give up on Kafka")
    assert bridge.ledger.bridged == 2          # nothing was acknowledged while Kafka was down

    kafka_broker.start(cfg, log=lambda m: None)
    _wait(lambda: bridge.ledger.bridged == 5, 180, "the redelivered messages to be bridged")
    bridge.stopping = True
    runner.join(timeout=60)
    node.loop_stop()
    node.disconnect()

    led = bridge.ledger
    assert led.balanced() and led.dead_lettered == 0 and led.qos0_lost == 0, led.as_dict()
    assert led.received == led.bridged + led.left_unacknowledged and led.left_unacknowledged >= 1
    topic = f"{cfg.get('kafka.topic_prefix')}raw_materials.telemetry"
    readings = {(r["event_id"], r["value"]) for r in (json.loads(m.value) for m in kafka_io.consume_all(cfg, topic))}
    # Each reading once by event_id (a resend may repeat a record; the pipeline deduplicates on the id).
    assert sorted(v for _, v in readings) == [1500.0, 1501.0, 1502.0, 1503.0]
    assert any("left unacknowledged" in line for line in logs)
