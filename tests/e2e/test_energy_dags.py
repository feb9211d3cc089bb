"""The energy slice through Airflow: dag.test() of brain_energy, then brain_metrics."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.energy_data import batch, send

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="session")
def airflow_db():
    """Airflow's metadata DB (SQLite) in this session's AIRFLOW_HOME."""
    subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"], env=os.environ,
                   check=True, capture_output=True, timeout=600)
    from airflow import settings

    settings.configure_orm()
    return os.environ["AIRFLOW_HOME"]


def _rows(spark, cfg, table):
    from brain.lake import table_path

    return spark.read.format("delta").load(str(table_path(cfg, table)))


def test_energy_dag_then_metrics_dag_build_gold(airflow_db, broker, spark, isolated_cfg):
    from airflow.dag_processing.dagbag import DagBag

    cfg = isolated_cfg
    msgs, expected = batch()
    send(cfg, msgs)
    bag = DagBag(dag_folder=str(DAGS))

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
