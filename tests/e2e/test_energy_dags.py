"""The energy slice through Airflow: dag.test() of brain_energy, then brain_metrics."""

from __future__ import annotations

import pytest

from tests.energy_data import batch, send

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _rows(spark, cfg, table):
    from brain.lake.tables import table_path

    return spark.read.format("delta").load(str(table_path(cfg, table)))


def test_energy_dag_then_metrics_dag_build_gold(dagbag, broker, spark, isolated_cfg):
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

    # Running the industry DAG again with nothing new changes nothing.
    run = bag.dags["brain_energy"].test()
    assert run.state == "success"
    assert _rows(spark, cfg, "silver.energy_meter").count() == expected["silver"]
    assert _rows(spark, cfg, "quality.duplicates").count() == expected["duplicates"]
