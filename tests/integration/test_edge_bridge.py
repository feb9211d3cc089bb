"""The edge bridge end to end: real mosquitto (brain mqtt start), real Kafka, Sparkplug B over paho.

An edge node publishes births, data with aliases, and what cannot be bridged; the
bridge, run with --once, puts contract records on the industry topics and the rest
on bridge.dead_letter with reasons, asks for a rebirth, and its ledger balances
against what Kafka holds.
"""

from __future__ import annotations

import base64
import json
import os
import time
import uuid

import pytest

from brain import config
from brain.cli.main import main as brain_main
from brain.contracts import validate
from brain.edge import broker as mqtt_broker
from brain.edge import payload
from brain.edge.bridge import Bridge, dead_letter_topic
from brain.edge.sparkplug_b_pb2 import Boolean, Double, Int32, UInt64
from brain.ingest import kafka_io

pytestmark = pytest.mark.integration

MQTT_PORT = int(os.environ.get("BRAIN_TEST_MQTT_PORT", "11883"))
NS = "spBv1.0/baotou-steel"


@pytest.fixture(scope="module")
def mqtt(broker):
    """The project's mosquitto on the test port, with its generated password under the test state dir."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BRAIN__MQTT__PORT", str(MQTT_PORT))
        cfg = config.load()
        was_running = mqtt_broker.status(cfg).running
        mqtt_broker.start(cfg, log=lambda m: None)
        yield cfg
        if not was_running:
            mqtt_broker.stop(cfg, log=lambda m: None)


@pytest.fixture()
def edge_cfg(mqtt, monkeypatch):
    """A fresh bridge (own MQTT session, ledger and topics) per test."""
    run = uuid.uuid4().hex[:8]
    for key, value in {"BRAIN__MQTT__PORT": str(MQTT_PORT), "BRAIN__KAFKA__TOPIC_PREFIX": f"edge{run}.",
                       "BRAIN__BRIDGE__CLIENT_ID": f"bridge-{run}", "BRAIN__BRIDGE__STATE_DIR": f"bridge-{run}",
                       "BRAIN__BRIDGE__KAFKA_TIMEOUT_S": "10", "BRAIN__BRIDGE__RETRY_BACKOFF_S": "1"}.items():
        monkeypatch.setenv(key, value)
    return config.load()


class EdgeNode:
    """A Sparkplug edge node (and the NCMD topics it listens on), with paho like a real gateway."""

    def __init__(self, cfg, name: str):
        import paho.mqtt.client as mqtt

        self.commands: list[tuple[str, bytes]] = []
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=name)
        self.client.username_pw_set(*mqtt_broker.credentials(cfg))
        self.client.on_message = lambda c, u, msg: self.commands.append((msg.topic, msg.payload))
        self.client.connect("127.0.0.1", MQTT_PORT)
        self.client.loop_start()
        self.client.subscribe(f"{NS}/NCMD/+", qos=1)
        time.sleep(0.3)

    def publish(self, topic: str, data: bytes) -> None:
        self.client.publish(topic, data, qos=1).wait_for_publish(timeout=10)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _records(cfg, topic: str) -> list:
    return list(kafka_io.consume_all(cfg, topic))


def test_sparkplug_births_data_and_dead_letters_through_real_brokers(edge_cfg, capsys):
    cfg = edge_cfg
    # The persistent session must exist before the node publishes, as with any QoS 1 subscriber.
    assert Bridge(cfg, log=lambda m: None).run(once=True, idle_timeout=0.5)["received"] == 0

    now = int(time.time() * 1000)
    node = EdgeNode(cfg, f"node-{uuid.uuid4().hex[:6]}")
    garbage = b"\x0a\xff not a sparkplug payload"
    try:
        node.publish(f"{NS}/NBIRTH/gw-bf-1", payload.encode(
            [{"name": "bdSeq", "datatype": UInt64, "value": 0},
             {"name": "Node Control/Rebirth", "datatype": Boolean, "value": False}], seq=0, timestamp=now))
        node.publish(f"{NS}/DBIRTH/gw-bf-1/BlastFurnace", payload.encode(
            [{"name": "Furnace/Temperature", "alias": 10, "datatype": Double, "value": 1500.5},
             {"name": "Furnace/CO", "alias": 11, "datatype": Double, "value": 12.0},
             {"name": "Machine/State", "alias": 12, "datatype": Int32, "value": 1}], seq=1, timestamp=now))
        node.publish(f"{NS}/DDATA/gw-bf-1/BlastFurnace", payload.encode(      # by alias only, as nodes do
            [{"alias": 10, "datatype": Double, "value": 1512.25, "timestamp": now + 1000},
             {"alias": 12, "datatype": Int32, "value": 0, "timestamp": now + 1000}], seq=2))
        node.publish(f"{NS}/DDATA/gw-bf-2/Blower", payload.encode(              # gw-bf-2 never was born
            [{"alias": 1, "datatype": Double, "value": 3.0}], seq=7))
        node.publish(f"{NS}/DDATA/gw-bf-1/BlastFurnace", garbage)
        node.publish(f"{NS}/DDATA/gw-bf-1/BlastFurnace", payload.encode(      # alias 99 was never declared
            [{"alias": 99, "datatype": Double, "value": 1.0}], seq=3))
        node.publish("brain/json/baotou-steel/gw-bf-2/blower",
                     json.dumps({"timestamp": now, "metrics": {"Fan/Vibration": 2.5}}).encode())

        result = Bridge(cfg, log=lambda m: None).run(once=True, idle_timeout=2)
        deadline = time.monotonic() + 5
        while len(node.commands) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        node.close()

    assert (result["received"], result["bridged"], result["dead_lettered"]) == (7, 4, 3)
    assert result["records_produced"] == 6 and result["left_unacknowledged"] == 0

    prefix = cfg.get("kafka.topic_prefix")
    telemetry = [json.loads(m.value) for m in _records(cfg, f"{prefix}raw_materials.telemetry")]
    states = [json.loads(m.value) for m in _records(cfg, f"{prefix}raw_materials.machine_state")]
    assert sorted((r["device"], r["sensor"], r["value"]) for r in telemetry) == [
        ("blower", "fan_vibration_rms", 2.5), ("furnace", "co_concentration", 12.0),
        ("furnace", "furnace_temp", 1500.5), ("furnace", "furnace_temp", 1512.25)]
    assert sorted((r["state"], r["event_ts"]) for r in states) == [("DOWN", now + 1000), ("RUNNING", now)]
    for msg in [*_records(cfg, f"{prefix}raw_materials.telemetry"),
                *_records(cfg, f"{prefix}raw_materials.machine_state")]:
        rec = json.loads(msg.value)
        assert validate(msg.value) == [], rec
        assert msg.key == kafka_io.record_key(rec) == f"rm-baotou/{rec['line']}/{rec['device']}".encode()

    letters = [json.loads(m.value) for m in _records(cfg, dead_letter_topic(cfg))]
    assert sorted(d["reason"] for d in letters) == ["no_birth", "undecodable", "unknown_alias"]
    undecodable = next(d for d in letters if d["reason"] == "undecodable")
    assert base64.b64decode(undecodable["payload_base64"]) == garbage
    assert undecodable["mqtt_topic"] == f"{NS}/DDATA/gw-bf-1/BlastFurnace"

    # Rebirth requests (NCMD Node Control/Rebirth = true) went to both nodes with alias problems.
    asked = {t: payload.decode(p).metrics[0] for t, p in node.commands}
    assert set(asked) == {f"{NS}/NCMD/gw-bf-1", f"{NS}/NCMD/gw-bf-2"}
    assert all((m.name, m.raw) == ("Node Control/Rebirth", True) for m in asked.values())

    # The ledger balances, and agrees with what Kafka holds.
    assert brain_main(["bridge", "status", "--json"]) == 0
    ledger = json.loads(capsys.readouterr().out)
    assert ledger["balanced"] and ledger["received"] == 7
    ends = {t.topic: t.total for t in kafka_io.describe_topics(
        cfg, [f"{prefix}raw_materials.telemetry", f"{prefix}raw_materials.machine_state", dead_letter_topic(cfg)])}
    assert ledger["records_produced"] == ends[f"{prefix}raw_materials.telemetry"] + \
        ends[f"{prefix}raw_materials.machine_state"]
    assert ledger["dead_lettered"] == ends[dead_letter_topic(cfg)]
    assert ledger["metrics_skipped"] == {"control": 2}


def test_mqtt_cli_status_and_a_missing_secret(edge_cfg, capsys, monkeypatch, tmp_path):
    assert brain_main(["mqtt", "status", "--json"]) == 0
    st = json.loads(capsys.readouterr().out)
    assert st["running"] and st["reachable"] and st["port"] == MQTT_PORT
    monkeypatch.setenv("BRAIN__MQTT__PASSWORD_FILE", str(tmp_path / "absent"))
    with pytest.raises(mqtt_broker.MqttError, match="BRAIN_MQTT_PASSWORD"):
        mqtt_broker.credentials(config.load())
    monkeypatch.setenv("BRAIN_MQTT_PASSWORD", "wrong")
    assert not mqtt_broker.ready(config.load())      # username/password are enforced


@pytest.mark.slow
def test_bridged_records_reach_silver(isolated_cfg, edge_cfg, spark):
    """The pipeline takes bridged records like any others: Kafka -> bronze -> silver, none quarantined;
    a sequence gap and a device death end as dead letters and UNCERTAIN readings, and reconcile is ok.
    (isolated_cfg first: its own lake and checkpoints; edge_cfg then sets the bridge's own settings.)"""
    from brain import pipeline
    from brain.contracts import topic_names
    from brain.lake.tables import table_path

    cfg = edge_cfg
    kafka_io.create_topics(cfg, topic_names.industry_topics(cfg, "raw_materials"))
    Bridge(cfg, log=lambda m: None).run(once=True, idle_timeout=0.5)
    now = int(time.time() * 1000) - 60_000
    node = EdgeNode(cfg, f"node-{uuid.uuid4().hex[:6]}")
    try:
        node.publish(f"{NS}/NBIRTH/gw-bf-2", payload.encode(
            [{"name": "bdSeq", "datatype": UInt64, "value": 0}], seq=0, timestamp=now))
        node.publish(f"{NS}/DBIRTH/gw-bf-2/Blower", payload.encode(
            [{"name": "Fan/Vibration", "alias": 1, "datatype": Double, "value": 2.1},
             {"name": "Fan/MotorCurrent", "alias": 2, "datatype": Double, "value": 350.0},
             {"name": "Machine/State", "alias": 3, "datatype": Int32, "value": 1}], seq=1, timestamp=now))
        for i in range(3):
            node.publish(f"{NS}/DDATA/gw-bf-2/Blower", payload.encode(
                [{"alias": 1, "datatype": Double, "value": 2.2 + i / 10},
                 {"alias": 2, "datatype": Double, "value": 351.0 + i}], seq=2 + i, timestamp=now + 10_000 * (i + 1)))
        # seq 5 never arrives: 6 is a gap (dead letter, rebirth asked), and until the rebirth the
        # session is stale, so 7's readings are UNCERTAIN. Then the device dies: its DDEATH closes
        # it, and a DDATA after it has no birth to resolve its aliases.
        node.publish(f"{NS}/DDATA/gw-bf-2/Blower", payload.encode(
            [{"alias": 1, "datatype": Double, "value": 9.9}], seq=6, timestamp=now + 40_000))
        node.publish(f"{NS}/DDATA/gw-bf-2/Blower", payload.encode(
            [{"alias": 1, "datatype": Double, "value": 2.6},
             {"alias": 2, "datatype": Double, "value": 355.0}], seq=7, timestamp=now + 50_000))
        node.publish(f"{NS}/DDEATH/gw-bf-2/Blower", payload.encode([], seq=8, timestamp=now + 55_000))
        node.publish(f"{NS}/DDATA/gw-bf-2/Blower", payload.encode(
            [{"alias": 1, "datatype": Double, "value": 2.7}], seq=9, timestamp=now + 60_000))
        result = Bridge(cfg, log=lambda m: None).run(once=True, idle_timeout=2)
    finally:
        node.close()
    assert (result["received"], result["bridged"], result["records_produced"], result["dead_lettered"]) == (
        9, 7, 11, 2)
    letters = sorted(json.loads(m.value)["reason"] for m in _records(cfg, dead_letter_topic(cfg)))
    assert letters == ["no_birth", "sequence_gap"]

    prefix = cfg.get("kafka.topic_prefix")
    sent = {json.loads(m.value)["event_id"] for t in ("telemetry", "machine_state")
            for m in _records(cfg, f"{prefix}raw_materials.{t}")}
    pipeline.ingest(cfg, "raw_materials", log=lambda m: None)

    def ids(table: str) -> set:
        path = table_path(cfg, table)
        return {r["event_id"] for r in spark.read.format("delta").load(str(path)).select("event_id").collect()}

    assert ids("silver.raw_materials_telemetry") | ids("silver.raw_materials_machine_state") == sent
    assert not ids("silver.quarantine") & sent
    telemetry = spark.read.format("delta").load(str(table_path(cfg, "silver.raw_materials_telemetry")))
    quality = {(r["sensor"], r["value"]): r["quality"] for r in telemetry.collect()}
    assert {k: q for k, q in quality.items() if q != "GOOD"} == {
        ("fan_vibration_rms", 2.6): "UNCERTAIN", ("fan_motor_current", 355.0): "UNCERTAIN"}
    assert len(quality) == 10  # the birth's 2, 3 x 2, the stale message's 2 (the gap and the late DDATA: dead letters)

    from brain.ops.reconcile import reconcile

    report = reconcile(cfg, ["raw_materials"])
    assert report.ok, report.to_dict()
    assert report.totals()["silver"] == len(sent) and report.totals()["lost"] == 0
