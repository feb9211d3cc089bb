"""`brain quarantine list|show|replay` on the real broker and Delta.

The replay story: a meter sends GWh, a unit the contract does not know today,
so the record is quarantined as ``unknown_unit``. The contract then learns
GWh; replay moves the record to silver exactly once, even when the first
attempt dies between the insert and the delete, and a second replay changes
nothing.
"""

from __future__ import annotations

import json

import pytest

from brain import pipeline
from brain.cli import main as cli
from brain.contracts import units
from brain.ingest import kafka_io
from brain.lake.tables import TOUCHED, table_path
from brain.ops.quarantine_tools import list_reasons, replay, show
from brain.ops.reconcile import reconcile
from tests.energy_data import meter, send

pytestmark = pytest.mark.integration


def _df(spark, cfg, table):
    return spark.read.format("delta").load(str(table_path(cfg, table)))


def _accept_gwh(monkeypatch) -> None:
    """The contract change: GWh becomes a known energy unit for electricity."""
    monkeypatch.setitem(units.CONVERSIONS, "GWh", units.Conversion("kWh", 1e6))
    monkeypatch.setitem(units.CARRIER_UNITS, "electricity", (*units.CARRIER_UNITS["electricity"], "GWh"))


def test_list_show_and_replay_exactly_once(broker, spark, isolated_cfg, monkeypatch, capsys):
    import brain.ops.quarantine_tools as qt

    cfg = isolated_cfg
    gwh = meter("rm-baotou", 0.002, "GWh")            # valid once GWh is known: 2000 kWh
    gwh_negative = meter("rm-baotou", -1.0, "GWh")    # then still invalid, for another reason
    ok = meter("rm-baotou", 5.0)
    send(cfg, [(kafka_io.record_key(r), kafka_io.encode(r)) for r in (gwh, gwh_negative, ok)]
         + [(None, b"\x00\x01 binary \xff garbage")])
    pipeline.ingest(cfg, "energy")

    # list and show
    assert list_reasons(spark, cfg, "energy") == [
        {"industry": "energy", "record_type": "energy_meter", "reason": "unknown_unit", "count": 2},
        {"industry": "energy", "record_type": "energy_meter", "reason": "non_utf8", "count": 1}]
    shown = show(spark, cfg, reason="unknown_unit", industry="energy", preview_bytes=4096)
    assert {r["event_id"] for r in shown} == {gwh["event_id"], gwh_negative["event_id"]}
    assert all('"unit":"GWh"' in r["payload_preview"] for r in shown)
    cut = show(spark, cfg, reason="unknown", preview_bytes=50)  # no such reason family: nothing
    assert cut == []
    cut = show(spark, cfg, reason="unknown_unit", limit=1, preview_bytes=50)
    assert len(cut) == 1 and cut[0]["payload_preview"].endswith(f"... ({cut[0]['payload_bytes']:,} bytes)")
    garbage = show(spark, cfg, reason="non_utf8")[0]["payload_preview"]
    assert garbage.isprintable() and "\\xff" in garbage and "garbage" in garbage
    assert show(spark, cfg, reason="wrong_type") == []

    # Today's rules: nothing to release.
    dry = replay(spark, cfg, industry="energy", dry_run=True)
    assert (dry.examined, dry.released, dry.still_invalid, dry.reason_changed) == (3, 0, 3, 0)

    _accept_gwh(monkeypatch)
    dry = replay(spark, cfg, industry="energy", reason="unknown_unit", dry_run=True)
    assert (dry.examined, dry.released, dry.to_silver, dry.reason_changed) == (2, 1, 1, 1)
    assert dry.transitions == {"unknown_unit -> valid": 1, "unknown_unit -> out_of_range:value": 1}
    assert _df(spark, cfg, "silver.quarantine").count() == 3  # a dry run changes nothing

    # The first attempt dies after the silver insert, before the records leave quarantine.
    real_landed = qt._landed_coordinates

    def crash(*args, **kwargs):
        raise RuntimeError("killed between insert and delete")

    monkeypatch.setattr(qt, "_landed_coordinates", crash)
    with pytest.raises(RuntimeError, match="killed"):
        replay(spark, cfg, industry="energy", reason="unknown_unit")
    assert reconcile(cfg, ["energy"], kafka=False).totals()["doubled"] == 1  # the checker sees it

    monkeypatch.setattr(qt, "_landed_coordinates", real_landed)
    capsys.readouterr()
    assert cli.main(["quarantine", "replay", "--industry", "energy", "--reason", "unknown_unit", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert (res["released"], res["to_silver"], res["already_in_silver"], res["left_quarantine"]) == (1, 0, 1, 1)
    assert res["reason_changed"] == 1

    silver = _df(spark, cfg, "silver.energy_meter")
    replayed = silver.where(f"event_id = '{gwh['event_id']}'").collect()
    assert len(replayed) == 1
    assert (replayed[0]["value"], replayed[0]["unit"], replayed[0]["source_unit"]) == (2000.0, "kWh", "GWh")
    assert silver.count() == 2
    reasons = {r["event_id"]: r["reason"] for r in _df(spark, cfg, "silver.quarantine").collect()}
    assert gwh["event_id"] not in reasons
    assert reasons[gwh_negative["event_id"]] == "out_of_range:value"
    touched = _df(spark, cfg, TOUCHED).where("run_id LIKE 'replay_%'").collect()
    assert [str(r["event_date"]) for r in touched] == [str(replayed[0]["event_date"])]

    report = reconcile(cfg, ["energy"], kafka=False)
    assert report.ok and report.totals()["doubled"] == 0
    assert report.quarantine_by_reason == {"energy": {"non_utf8": 1, "out_of_range:value": 1}}

    # Replaying again, with or without a filter, changes nothing.
    versions = {t: len(spark.sql(f"DESCRIBE HISTORY delta.`{table_path(cfg, t)}`").collect())
                for t in ("silver.energy_meter", "silver.quarantine")}
    again = replay(spark, cfg, industry="energy")
    assert (again.examined, again.released, again.reason_changed, again.left_quarantine) == (2, 0, 0, 0)
    assert versions == {t: len(spark.sql(f"DESCRIBE HISTORY delta.`{table_path(cfg, t)}`").collect())
                        for t in versions}
    assert _df(spark, cfg, "silver.energy_meter").count() == 2
