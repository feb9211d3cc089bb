"""The energy slice through Airflow: dag.test() of brain_energy, then brain_metrics."""

from __future__ import annotations

import pytest

from tests.energy_data import batch, send

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _rows(spark, cfg, table):
    from brain.lake.tables import table_path

    return spark.read.format("delta").load(str(table_path(cfg, table)))


def test_energy_dag_then_metrics_dag_build_gold(dagbag, broker, spark, isolated_cfg, monkeypatch, tmp_path):
    import json

    # The pipeline's own lineage events (not the Spark listener: this session started without it).
    monkeypatch.setenv("BRAIN__LINEAGE__ENABLED", "true")
    monkeypatch.setenv("BRAIN__LINEAGE__DIR", str(tmp_path / "lineage"))
    cfg = isolated_cfg
    msgs, expected = batch()
    send(cfg, msgs)
    bag = dagbag

    run = bag.dags["brain_energy"].test()
    assert run.state == "success", [(ti.task_id, ti.state) for ti in run.get_task_instances()]
    assert _rows(spark, cfg, "silver.energy_meter").count() == expected["silver"]

    run = bag.dags["brain_metrics"].test()
    assert run.state == "success"
    kwh = {r["site"]: r["electricity_kwh"] for r in _rows(spark, cfg, "gold.energy_daily_site_kwh").collect()}
    assert kwh == pytest.approx(expected["kwh"])

    # Each stage's lineage event hangs under the Airflow task that ran it, and that under its DAG.
    events = [json.loads(line) for f in (tmp_path / "lineage").glob("brain-*.jsonl") for line in f.open()]
    parents = {e["job"]["name"]: e["run"]["facets"]["parent"] for e in events}
    assert parents["energy.ingest.energy_meter"]["job"]["name"] == "brain_energy.ingest"
    assert parents["energy.ingest.energy_meter"]["root"]["job"]["name"] == "brain_energy"
    assert parents["energy.publish.energy_daily_site_kwh"]["job"]["name"] == "brain_metrics.publish"
    assert len({p["run"]["runId"] for p in parents.values()}) >= 2  # one run id per task run

    # Running the industry DAG again with nothing new changes nothing.
    run = bag.dags["brain_energy"].test()
    assert run.state == "success"
    assert _rows(spark, cfg, "silver.energy_meter").count() == expected["silver"]
    assert _rows(spark, cfg, "quality.duplicates").count() == expected["duplicates"]
