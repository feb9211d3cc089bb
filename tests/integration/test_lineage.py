"""OpenLineage on for one real cycle (Kafka -> bronze -> silver -> gold): `brain lineage` answers from its events.

`brain run` runs in its own process, so its Spark driver starts with the OpenLineage listener and
jar (the session's shared Spark has lineage off), as an operator's would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from brain import config
from brain.lake.tables import table_path
from brain.serve import lineage
from tests.energy_data import batch, send

pytestmark = pytest.mark.integration


def _brain(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "brain.cli.main", *argv], env=os.environ, capture_output=True,
                          text=True, timeout=900)


def test_lineage_of_a_silver_table_after_one_cycle(broker, isolated_cfg, monkeypatch, tmp_path):
    monkeypatch.setenv("BRAIN__LINEAGE__ENABLED", "true")
    monkeypatch.setenv("BRAIN__LINEAGE__DIR", str(tmp_path / "lineage"))
    cfg = config.load()
    msgs, _ = batch()
    topic = send(cfg, msgs)

    run = _brain("run", "--industry", "energy", "--json")
    assert run.returncode == 0, run.stderr[-3000:]

    out = _brain("lineage", "silver.energy_meter", "--json")
    assert out.returncode == 0, out.stderr[-2000:]
    found = json.loads(out.stdout)
    assert found["dataset"] == str(table_path(cfg, "silver.energy_meter"))
    up = {h["name"]: h["depth"] for h in found["upstream"]}
    assert up == {"bronze.energy_meter": 1, f"kafka:{topic}": 2}
    down = {h["name"] for h in found["downstream"]}
    assert {"gold.energy_daily_site", "gold.energy_daily_site_kwh", "gold.energy_carbon_daily_site",
            "gold.energy_hourly_site", "gold.data_quality_daily", "gold.enterprise_brain"} <= down
    metrics = f"kafka:{cfg.get('kafka.topic_prefix')}{cfg.get('analyst.metrics_topic')}"
    assert metrics in down  # announced: gold.enterprise_brain -> brain.metrics

    # The Spark listener's own events, next to the pipeline's: the Kafka read inside foreachBatch
    # and every table write, by the same names (what it cannot give, a write's source, the
    # pipeline's events give: docs/lineage.md).
    assert list((tmp_path / "lineage").glob("spark-*.jsonl"))
    spark_events = [e for e in lineage.read_events(tmp_path / "lineage") if "integration/spark" in e["producer"]]
    read = {lineage.dataset_key(d) for e in spark_events for d in e.get("inputs") or []}
    written = {lineage.dataset_key(d) for e in spark_events for d in e.get("outputs") or []}
    assert any(ns.startswith("kafka://") and name == topic for ns, name in read)
    assert ("file", str(table_path(cfg, "silver.energy_meter"))) in written
    assert ("file", str(table_path(cfg, "gold.enterprise_brain"))) in written

    text = _brain("lineage", "gold.enterprise_brain", "--upstream")
    assert text.returncode == 0 and f"kafka:{topic}" in text.stdout
