"""The simulator and `brain produce` against the real test broker, on topics of their own.

Each test gets a fresh topic prefix (``isolated_cfg``), so reruns and parallel
work never share a topic, and deletes its topics afterwards.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict

import pytest

from brain import contracts
from brain.contracts import topic_names
from brain.ingest import kafka_io
from brain.simulator import cli as sim_cli
from brain.simulator import produce_file, run_simulation

pytestmark = pytest.mark.integration
START = "2026-11-16"
NOW_MS = 1795132800000


@pytest.fixture
def cfg(broker, isolated_cfg):
    yield isolated_cfg
    kafka_io.delete_topics_with_prefix(isolated_cfg, isolated_cfg.get("kafka.topic_prefix"))


def offsets(cfg, topics) -> dict[str, int]:
    return {t.topic: t.total for t in kafka_io.describe_topics(cfg, topics)}


def messages(cfg, topic):
    return list(kafka_io.consume_all(cfg, topic))


def test_simulate_20000_records_land_exactly_in_the_topics(cfg):
    # A fixed Monday: the default start follows the calendar, and weekends stop lines.
    summary = run_simulation(cfg, industry="all", records=20000, seed=7, start=START)
    topics = topic_names.all_topics(cfg)
    assert len(topics) == 14 and all(t.startswith(cfg.get("kafka.topic_prefix")) for t in topics)
    counts = offsets(cfg, topics)
    assert sum(counts.values()) == summary.total == 20000
    assert counts == summary.topics and all(counts.values())
    assert summary.sink == "kafka" and summary.records_per_s > 0


def test_kafka_holds_the_same_records_as_the_file_output_keyed_by_device(cfg, tmp_path):
    run_simulation(cfg, industry="energy", records=600, seed=3, start=START)
    run_simulation(cfg, industry="energy", records=600, seed=3, start=START, out=tmp_path)
    topic = topic_names.topic_for(cfg, "energy", "energy_meter")
    got = messages(cfg, topic)
    lines = (tmp_path / f"{topic}.jsonl").read_bytes().splitlines()
    assert sorted(m.value for m in got) == sorted(lines)
    in_kafka, in_file = defaultdict(list), defaultdict(list)
    for m in sorted(got, key=lambda m: (m.partition, m.offset)):
        assert m.key == kafka_io.record_key(json.loads(m.value))
        in_kafka[m.key].append(m.value)
    for raw in lines:
        in_file[kafka_io.record_key(json.loads(raw))].append(raw)
    assert in_kafka == in_file   # one device's records stay in order
    partitions = defaultdict(set)
    for m in got:
        partitions[m.key].add(m.partition)
    assert all(len(p) == 1 for p in partitions.values())
    assert all(contracts.validate(m.value) == [] for m in got)


def test_bad_data_reaches_kafka_and_reconciles(cfg):
    summary = run_simulation(cfg, records=3000, days=0.25, seed=4, start=START, bad_ratio=0.3)
    reg, units = contracts.load_registry(), contracts.load_units()
    quarantined, oversized, ids = 0, 0, Counter()
    for topic in topic_names.all_topics(cfg):
        for m in messages(cfg, topic):
            oversized += len(m.value) > contracts.MAX_RECORD_BYTES
            if contracts.validate(m.value):
                quarantined += 1
                continue
            rec = json.loads(m.value)
            ids[rec["event_id"]] += 1
            quarantined += bool(contracts.out_of_range(rec, reg, units) or contracts.in_future(rec, NOW_MS))
    assert quarantined == summary.bad_total > 0
    assert oversized == summary.kinds["oversized"] > 0
    assert sum(n - 1 for n in ids.values()) == summary.kinds["duplicate"] > 0


def test_produce_jsonl_and_csv_files(cfg, tmp_path):
    run_simulation(cfg, industry="consumer_goods", records=400, seed=2, start=START, out=tmp_path,
                   bad="malformed_json=0.05")
    topic = topic_names.topic_for(cfg, "consumer_goods", "production")
    path = tmp_path / f"{topic}.jsonl"
    lines = path.read_bytes().splitlines()
    counts = produce_file(cfg, path, topic, check=True)
    assert counts["sent"] == len(lines) and counts["not_json"] == counts["invalid"]
    assert sorted(m.value for m in messages(cfg, topic)) == sorted(lines)

    csv_path = tmp_path / "meters.csv"
    csv_path.write_text(
        "schema_version,event_id,record_type,industry,enterprise,site,area,line,device,event_ts,quality,"
        "carrier,value,unit,interval_s\n"
        "1.0,0b1c2d3e-4f50-4a1b-8c2d-3e4f5a6b7c8d,energy_meter,energy,acme,s1,utilities,site-main,m1,"
        "2026-11-20T08:00:00+08:00,GOOD,electricity,12.5,MWh,900\n")
    meter_topic = topic_names.topic_for(cfg, "energy", "energy_meter")
    assert produce_file(cfg, csv_path, meter_topic, check=True)["invalid"] == 0
    (msg,) = messages(cfg, meter_topic)
    assert json.loads(msg.value)["value"] == 12.5 and msg.key == b"s1/site-main/m1"


def test_produce_refuses_an_unknown_topic(cfg, tmp_path):
    from brain.simulator import ProduceError

    path = tmp_path / "x.jsonl"
    path.write_text("{}\n")
    with pytest.raises(ProduceError, match="does not exist"):
        produce_file(cfg, path, "no.such_topic_for_sure")


def test_topics_cli_creates_and_lists_with_end_offsets(cfg, capsys):
    parser = argparse.ArgumentParser()
    sim_cli.add_topics_arguments(parser)
    assert sim_cli.run_topics(parser.parse_args(["create", "--industry", "energy"]), cfg) == 0
    assert "created" in capsys.readouterr().out
    topic = topic_names.topic_for(cfg, "energy", "energy_meter")
    kafka_io.produce(cfg, [(topic, b"k", b"{}")] * 3)
    assert sim_cli.run_topics(parser.parse_args(["list", "--json"]), cfg) == 0
    rows = {r["topic"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows[topic]["records"] == 3 and rows[topic]["partitions"] == cfg.get("kafka.topic_partitions")
    assert not rows[topic_names.topic_for(cfg, "consumer_goods", "telemetry")]["exists"]
    assert sim_cli.run_topics(parser.parse_args(["list"]), cfg) == 0
    assert "missing" in capsys.readouterr().out
