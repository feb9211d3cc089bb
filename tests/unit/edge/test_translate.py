"""Messages -> contract records with the project's conf/edge.yaml and conf/assets.yaml (pure: no MQTT, no Kafka)."""

from __future__ import annotations

import json

import pytest

from brain.contracts import validate
from brain.edge import mapping, payload
from brain.edge.ledger import Ledger
from brain.edge.sessions import SessionTable
from brain.edge.sparkplug_b_pb2 import Boolean, Double, Int32, UInt64
from brain.edge.translate import Translator

NS = "spBv1.0/baotou-steel"
TS = 1_700_000_000_000


@pytest.fixture()
def tr() -> Translator:
    return Translator(mapping.load(mapping.conf_dir() / "edge.yaml"), SessionTable())


def nbirth(seq=0):
    return payload.encode([{"name": "bdSeq", "datatype": UInt64, "value": 0},
                           {"name": "Node Control/Rebirth", "datatype": Boolean, "value": False}],
                          seq=seq, timestamp=TS)


def dbirth(seq=1):
    return payload.encode([{"name": "Furnace/Temperature", "alias": 1, "datatype": Double, "value": 1500.5},
                           {"name": "Machine/State", "alias": 2, "datatype": Int32, "value": 1},
                           {"name": "Vendor/Firmware", "alias": 3, "datatype": Int32, "value": 7}],
                          seq=seq, timestamp=TS)


def test_births_and_data_become_valid_contract_records(tr):
    assert tr.handle(f"{NS}/NBIRTH/gw-bf-1", nbirth()).skipped == {"control": 2}
    birth = tr.handle(f"{NS}/DBIRTH/gw-bf-1/BlastFurnace", dbirth())
    assert birth.dead_letter is None and birth.skipped == {"not_mapped": 1}
    temp, state = birth.records
    assert (temp["site"], temp["area"], temp["line"], temp["device"]) == ("rm-baotou", "ironmaking", "bf-1", "furnace")
    assert (temp["sensor"], temp["value"], temp["unit"], temp["event_ts"]) == ("furnace_temp", 1500.5, "degC", TS)
    assert (state["state"], state["reason_code"], state["planned"]) == ("RUNNING", None, False)
    data = tr.handle(f"{NS}/DDATA/gw-bf-1/BlastFurnace",
                     payload.encode([{"alias": 1, "datatype": Double, "value": 1510.0, "timestamp": TS + 5}], seq=2))
    (rec,) = data.records
    assert (rec["value"], rec["event_ts"], rec["quality"]) == (1510.0, TS + 5, "GOOD")
    for r in [*birth.records, rec]:
        assert validate(json.dumps(r).encode()) == [], r


def test_event_ids_are_stable_across_a_resend(tr):
    first = Translator(tr.map, SessionTable()).handle(f"{NS}/NBIRTH/gw-bf-1", nbirth())
    assert first.dead_letter is None
    a = Translator(tr.map, SessionTable())
    b = Translator(tr.map, SessionTable())
    for t in (a, b):
        t.handle(f"{NS}/NBIRTH/gw-bf-1", nbirth())
    ids = [[r["event_id"] for r in t.handle(f"{NS}/DBIRTH/gw-bf-1/BlastFurnace", dbirth()).records] for t in (a, b)]
    assert ids[0] == ids[1] and len(set(ids[0])) == 2


@pytest.mark.parametrize("topic,data,reason,rebirth", [
    (f"{NS}/DDATA/gw-bf-1/BlastFurnace", b"\x0a\xff garbage", "undecodable", False),
    (f"{NS}/DDATA/gw-bf-2/Blower", None, "no_birth", True),               # no NBIRTH from gw-bf-2
    ("spBv1.0/unknown-group/NBIRTH/gw", None, "unknown_device", False),
    (f"{NS}/NDATA/gw-unknown", None, "unknown_device", False),
])
def test_what_cannot_be_bridged_gets_a_reason(tr, topic, data, reason, rebirth):
    out = tr.handle(topic, data if data is not None else nbirth(seq=1))
    assert out.dead_letter[0] == reason and out.records == []
    assert (out.rebirth is not None) == rebirth


def test_unknown_alias_gap_and_unknown_device_after_birth(tr):
    tr.handle(f"{NS}/NBIRTH/gw-bf-1", nbirth())
    tr.handle(f"{NS}/DBIRTH/gw-bf-1/BlastFurnace", dbirth())
    unknown = tr.handle(f"{NS}/DDATA/gw-bf-1/BlastFurnace",
                        payload.encode([{"alias": 1, "datatype": Double, "value": 1.0},
                                        {"alias": 42, "datatype": Double, "value": 1.0}], seq=2))
    assert unknown.dead_letter[0] == "unknown_alias" and unknown.records == []   # whole message or nothing
    assert unknown.rebirth == ("baotou-steel", "gw-bf-1")
    gap = tr.handle(f"{NS}/DDATA/gw-bf-1/BlastFurnace",
                    payload.encode([{"alias": 1, "datatype": Double, "value": 1.0}], seq=9))
    assert gap.dead_letter[0] == "sequence_gap" and "expected sequence number 3, got 9" in gap.dead_letter[1]
    stale = tr.handle(f"{NS}/DDATA/gw-bf-1/BlastFurnace",
                      payload.encode([{"alias": 1, "datatype": Double, "value": 1.0}], seq=10))
    assert [r["quality"] for r in stale.records] == ["UNCERTAIN"]          # stale until the next NBIRTH
    mystery = tr.handle(f"{NS}/DBIRTH/gw-bf-1/Mystery", dbirth(seq=11))
    assert mystery.dead_letter[0] == "unknown_device"


def test_quality_property_and_nulls(tr):
    tr.handle(f"{NS}/NBIRTH/gw-bf-1", nbirth())
    out = tr.handle(f"{NS}/DBIRTH/gw-bf-1/BlastFurnace", payload.encode(
        [{"name": "Furnace/Temperature", "alias": 1, "datatype": Double, "value": 1.0, "properties": {"Quality": 0}},
         {"name": "Furnace/CO", "alias": 2, "datatype": Double, "value": 1.0, "properties": {"Quality": 500}},
         {"name": "Furnace/HotBlastPressure", "alias": 3, "datatype": Double, "is_null": True}], seq=1))
    assert [r["quality"] for r in out.records] == ["BAD", "UNCERTAIN"] and out.skipped == {"null_value": 1}


def test_a_redelivered_message_is_bridged_again_with_the_same_ids(tr):
    """After Kafka failed, the broker resends what was not acknowledged (DUP set): behind the
    sequence, so a replay, not a gap; the records carry the ids of the first time."""
    tr.handle(f"{NS}/NBIRTH/gw-bf-1", nbirth())
    first = [tr.handle(f"{NS}/DBIRTH/gw-bf-1/BlastFurnace", dbirth())]
    first += [tr.handle(f"{NS}/DDATA/gw-bf-1/BlastFurnace", payload.encode(
        [{"alias": 1, "datatype": Double, "value": 1.0 + s}], seq=s, timestamp=TS + s)) for s in (2, 3)]
    again = [tr.handle(f"{NS}/DBIRTH/gw-bf-1/BlastFurnace", dbirth(), redelivered=True)]
    again += [tr.handle(f"{NS}/DDATA/gw-bf-1/BlastFurnace", payload.encode(
        [{"alias": 1, "datatype": Double, "value": 1.0 + s}], seq=s, timestamp=TS + s), redelivered=True)
        for s in (2, 3)]
    assert all(o.dead_letter is None for o in first + again)
    assert [r["event_id"] for o in again for r in o.records] == [r["event_id"] for o in first for r in o.records]
    nxt = tr.handle(f"{NS}/DDATA/gw-bf-1/BlastFurnace",
                    payload.encode([{"alias": 1, "datatype": Double, "value": 9.0}], seq=4))
    assert nxt.dead_letter is None and nxt.records[0]["quality"] == "GOOD"


def test_plain_json_devices(tr):
    out = tr.handle("brain/json/stuttgart-drivetrain/plc-housing-1/mill-1",
                    json.dumps({"timestamp": TS, "metrics": {"Spindle/Vibration": 1.2, "Spindle/BearingTemp": 120.0,
                                                             "Machine/State": "IDLE", "unknown": 1}}).encode())
    vib, temp, state = out.records
    assert (vib["sensor"], vib["industry"], vib["line"]) == ("spindle_vibration_rms", "equipment_manufacturing",
                                                             "housing-1")
    assert (temp["sensor"], temp["unit"]) == ("spindle_bearing_temp", "degF")
    assert state["state"] == "IDLE" and out.skipped == {"not_mapped": 1}
    for r in out.records:
        assert validate(json.dumps(r).encode()) == [], r
    assert tr.handle("brain/json/stuttgart-drivetrain/plc-housing-1/mill-1", b"{").dead_letter[0] == "undecodable"


def test_mapping_errors_name_the_problem(tmp_path):
    bad = tmp_path / "edge.yaml"
    bad.write_text("groups:\n  g: {industry: raw_materials, site: nowhere, edge_nodes: {}}\n")
    with pytest.raises(mapping.MappingError, match="site 'nowhere' is not a raw_materials site"):
        mapping.load(bad)


def test_the_ledger_balances_and_survives_a_reload(tmp_path):
    led = Ledger(received=6, bridged=3, dead_lettered=1, left_unacknowledged=1, in_flight=1)
    led.dead_letters_by_reason["no_birth"] += 1
    led.save(tmp_path / "ledger.json")
    again = Ledger.load(tmp_path / "ledger.json")
    assert again.balanced() and again.dead_letters_by_reason == {"no_birth": 1}
    again.received += 1
    assert not again.balanced()


def test_places_are_looked_up_once_per_device_and_belong_to_their_mapping(tmp_path, monkeypatch):
    """EdgeMap.place caches each (group, edge node, device) for the mapping it was loaded from:
    the registry's hierarchy is built once per device, not per message; what it cannot place is
    asked again (and fails again), and a mapping loaded anew (a restarted bridge) has its own places."""
    from brain.contracts.assets import Registry

    text = (mapping.conf_dir() / "edge.yaml").read_text()
    edge_map = mapping.load(mapping.conf_dir() / "edge.yaml")
    built = []
    real_sites = Registry.sites
    monkeypatch.setattr(Registry, "sites", lambda self, industry, *a, **k: built.append(industry) or
                        real_sites(self, industry, *a, **k))

    first = edge_map.place("baotou-steel", "gw-bf-1", "BlastFurnace")
    assert (first.site, first.area, first.line, first.device) == ("rm-baotou", "ironmaking", "bf-1", "furnace")
    assert [edge_map.place("baotou-steel", "gw-bf-1", "BlastFurnace") for _ in range(50)] == [first] * 50
    assert edge_map.place("baotou-steel", "gw-bf-1", "Blower").device == "blower"
    assert built == ["raw_materials", "raw_materials"]        # one build per device, not per call

    for _ in range(2):
        with pytest.raises(mapping.UnknownPlace, match="no-such-device"):
            edge_map.place("baotou-steel", "gw-bf-1", "no-such-device")
    assert len(built) == 4                                    # not cached: looked up (and refused) each time

    moved = tmp_path / "edge.yaml"
    moved.write_text(text.replace("gw-bf-1: {line: bf-1}", "gw-bf-1: {line: bf-2}"))
    assert mapping.load(moved).place("baotou-steel", "gw-bf-1", "BlastFurnace").line == "bf-2"
    assert edge_map.place("baotou-steel", "gw-bf-1", "BlastFurnace") is first


@pytest.mark.parametrize("source,metric,ms", [
    ("baotou-steel/gw-bf-1/BlastFurnace", "Furnace/Temperature", TS),
    ("g/n/", "bdSeq", 0), ("grüße/knoten/gerät", "Temperatur °C|x", 2**53 + 1)])
def test_event_id_is_the_uuid5_of_the_reading(source, metric, ms):
    import uuid

    assert mapping.event_id(source, metric, ms) == str(uuid.uuid5(mapping.EVENT_NAMESPACE, f"{source}|{metric}|{ms}"))


def test_a_metric_target_is_the_same_looked_up_again(tr):
    place = tr.map.place("baotou-steel", "gw-bf-1", "BlastFurnace")
    first = [tr.map.target("baotou-steel", place, m) for m in ("Furnace/Temperature", "Machine/State", "Vendor/X")]
    assert [t and (t.record_type, t.sensor, t.unit) for t in first] == [
        ("telemetry", "furnace_temp", "degC"), ("machine_state", None, None), None]
    assert [tr.map.target("baotou-steel", place, m) for m in ("Furnace/Temperature", "Machine/State", "Vendor/X")] \
        == first
