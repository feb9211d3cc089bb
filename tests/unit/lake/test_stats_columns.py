"""Delta file statistics only for the columns config lists per layer (lake.stats_columns, issue #12 item 4)."""

from __future__ import annotations

import json

from brain.clean.fate import silver_columns
from brain.clean.silver import silver_properties
from brain.clean.writes import append
from brain.config import load
from brain.industries import energy
from brain.lake.stats_columns import PROPERTY, stats_property


def _cfg(**layers):
    env = {f"BRAIN__LAKE__STATS_COLUMNS__{k.upper()}": json.dumps(v) for k, v in layers.items()}
    return load(environ=env)


def test_only_the_configured_columns_the_table_has_in_the_configured_order():
    cfg = _cfg(silver=["event_id", "no_such_column", "site"])
    assert stats_property(cfg, "silver", ["site", "value", "event_id"]) == {PROPERTY: "event_id,site"}


def test_a_layer_without_a_list_keeps_deltas_default():
    assert stats_property(load(environ={}), "gold", ["a", "b"]) == {}
    assert stats_property(_cfg(silver=["nope"]), "silver", ["a"]) == {}


def test_a_silver_table_is_created_with_the_filter_columns_and_not_its_measurements():
    cfg = load(environ={})
    spec = energy.RECORD_SPECS["energy_meter"]
    chosen = silver_properties(cfg, spec)[PROPERTY].split(",")
    assert {"event_id", "site", "_topic", "_partition", "_offset"} <= set(chosen)
    assert not {"value", "unit", "carrier", "quality"} & set(chosen)
    assert set(chosen) <= set(silver_columns(spec))


def test_the_first_files_of_a_new_table_carry_only_those_statistics(spark, tmp_path):
    df = spark.range(6).selectExpr("id", "cast(id AS string) AS event_id", "id * 1.5 AS value",
                                   "repeat('x', 200) AS payload", "current_date() AS d")
    path = str(tmp_path / "t")
    append(spark, path, df, ["d"], {"brain.layer": "silver", PROPERTY: "event_id,id"}, ("app", 0))
    append(spark, path, df, ["d"], {"brain.layer": "silver", PROPERTY: "event_id,id"}, ("app", 1))
    stats = []
    for log in sorted((tmp_path / "t" / "_delta_log").glob("*.json")):
        for line in log.read_text().splitlines():
            action = json.loads(line)
            if "add" in action:
                stats.append(json.loads(action["add"]["stats"]))
            if "metaData" in action:
                assert action["metaData"]["configuration"][PROPERTY] == "event_id,id"
    assert len(stats) >= 2  # the creating write's files and the next one's
    for s in stats:
        assert set(s["minValues"]) == set(s["nullCount"]) == {"event_id", "id"}, s
