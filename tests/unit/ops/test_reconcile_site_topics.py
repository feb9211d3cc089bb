"""`brain reconcile` per topic, site topics included, on a lake written with delta-rs and a checkpoint
written by hand (no Spark, no Kafka: reconcile reads both without either).

The energy pass's checkpoint started on the shared topic only; the site topic
``energy.site.rm-baotou.energy_meter`` appeared later (its partition is not in ``sources/0/0``):
Spark read it from offset 0, and reconcile must count it from there, in the record type's one
bronze table.
"""

from __future__ import annotations

import json

import pyarrow as pa
from deltalake import write_deltalake

from brain import config
from brain.lake.tables import QUARANTINE, bronze_table, pass_checkpoint, silver_table, table_path
from brain.ops.reconcile import reconcile

SHARED, SITE = "energy.energy_meter", "energy.site.rm-baotou.energy_meter"


def _cfg(tmp_path):
    return config.load(environ={"BRAIN__LAKE__ROOT": str(tmp_path / "lake"),
                                "BRAIN__LAKE__CHECKPOINTS": str(tmp_path / "checkpoints")})


def _table(cfg, name: str, columns: dict) -> None:
    write_deltalake(str(table_path(cfg, name)), pa.table(columns))


def _checkpoint(cfg, start: dict, committed: dict) -> None:
    cp = pass_checkpoint(cfg, "energy")
    for sub in ("offsets", "commits", "sources/0"):
        (cp / sub).mkdir(parents=True, exist_ok=True)
    (cp / "sources" / "0" / "0").write_text("\x00v1\n" + json.dumps(start))
    (cp / "offsets" / "0").write_text("v1\n" + json.dumps({"batchWatermarkMs": 0}) + "\n" + json.dumps(committed))
    (cp / "commits" / "0").write_text("v1\n{}")


def _lake(cfg, site_offsets: list[int], silver_site: list[int]) -> None:
    """Bronze: shared offsets 0-2 and the site topic's ``site_offsets``; silver: shared 0, 1 and the site
    topic's ``silver_site``; quarantine: shared 2."""
    topics = [SHARED] * 3 + [SITE] * len(site_offsets)
    offsets = [0, 1, 2] + site_offsets
    _table(cfg, bronze_table("energy", "energy_meter"),
           {"topic": topics, "partition": pa.array([0] * len(topics), pa.int32()),
            "offset": pa.array(offsets, pa.int64())})
    _table(cfg, silver_table("energy", "energy_meter"),
           {"_topic": [SHARED, SHARED] + [SITE] * len(silver_site),
            "_partition": pa.array([0] * (2 + len(silver_site)), pa.int32()),
            "_offset": pa.array([0, 1] + silver_site, pa.int64())})
    _table(cfg, QUARANTINE, {"industry": ["energy"], "reason": ["site_mismatch"], "topic": [SHARED],
                             "partition": pa.array([0], pa.int32()), "offset": pa.array([2], pa.int64())})


def test_a_site_topic_found_after_the_start_is_reconciled_from_offset_zero(tmp_path):
    cfg = _cfg(tmp_path)
    _lake(cfg, [0, 1], [0, 1])
    _checkpoint(cfg, start={SHARED: {"0": 0}}, committed={SHARED: {"0": 3}, SITE: {"0": 2}})
    report = reconcile(cfg, ["energy"], kafka=False)
    assert report.ok, [p.problems for p in report.partitions]
    rows = {p.topic: p for p in report.partitions}
    assert set(rows) == {SHARED, SITE}
    assert (rows[SITE].kafka_start, rows[SITE].kafka_consumed, rows[SITE].silver) == (0, 2, 2)
    assert rows[SITE].record_type == rows[SHARED].record_type == "energy_meter"
    assert report.totals()["kafka_consumed"] == 5 and report.totals()["quarantine"] == 1


def test_a_site_topics_missing_first_offset_and_lost_row_are_mismatches(tmp_path):
    cfg = _cfg(tmp_path)
    _lake(cfg, [1], [])  # bronze lacks the site topic's offset 0; its offset 1 reached no fate
    _checkpoint(cfg, start={SHARED: {"0": 0}}, committed={SHARED: {"0": 3}, SITE: {"0": 2}})
    report = reconcile(cfg, ["energy"], kafka=False)
    assert not report.ok
    (site,) = [p for p in report.partitions if p.topic == SITE]
    assert (site.gaps, site.lost) == (1, 1)
    assert [p.topic for p in report.mismatches()] == [SITE]
    assert report.lost == [{"topic": SITE, "partition": 0, "offset": 1}]
