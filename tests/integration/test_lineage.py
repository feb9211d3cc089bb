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


@pytest.mark.slow
def test_a_dag_tasks_spark_jobs_hang_under_the_task_run(broker, isolated_cfg, monkeypatch, tmp_path):
    """brain_energy run by Airflow (`airflow dags test`, its own process, in-process Spark): the
    Spark listener's events carry the task's run as parent and the DAG run as root, the same ids
    the pipeline's own stage events (and Airflow's provider) use."""
    from pathlib import Path

    monkeypatch.setenv("BRAIN__LINEAGE__ENABLED", "true")
    monkeypatch.setenv("BRAIN__LINEAGE__DIR", str(tmp_path / "lineage"))
    cfg = config.load()
    msgs, _ = batch()
    send(cfg, msgs)

    airflow = str(Path(sys.executable).parent / "airflow")
    subprocess.run([airflow, "db", "migrate"], env=os.environ, check=True, capture_output=True, timeout=600)
    dag_run = subprocess.run([airflow, "dags", "test", "brain_energy"], env=os.environ, capture_output=True,
                             text=True, timeout=900)
    assert dag_run.returncode == 0, dag_run.stdout[-3000:] + dag_run.stderr[-3000:]

    events = list(lineage.read_events(tmp_path / "lineage"))
    spark_events = [e for e in events if "integration/spark" in e["producer"]]
    ours = [e for e in events if e not in spark_events and "parent" in e["run"].get("facets", {})]
    assert spark_events and ours
    ingest_parent = next(e["run"]["facets"]["parent"] for e in ours if e["job"]["name"] == "energy.ingest.energy_meter")
    assert ingest_parent["job"]["name"] == "brain_energy.ingest"
    parents = {(e["run"]["facets"]["parent"]["run"]["runId"], e["run"]["facets"]["parent"]["root"]["run"]["runId"])
               for e in spark_events if "parent" in e["run"].get("facets", {})}
    # Each task's Spark jobs name a task run of this DAG run as parent (the ingest task's among
    # them), and the DAG run as root.
    assert ingest_parent["run"]["runId"] in {run for run, _ in parents} and len(parents) <= 2  # ingest, validate
    assert {root for _, root in parents} == {ingest_parent["root"]["run"]["runId"]}
    assert all("parent" in e["run"].get("facets", {}) for e in spark_events)
