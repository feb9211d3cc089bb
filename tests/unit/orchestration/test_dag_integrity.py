"""DAG hygiene: every DAG imports cleanly, cheaply, and is configured to be safe to retry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from brain import config
from brain.config import project_root

DAGS = project_root() / "dags"
HEAVY = ("pyspark", "great_expectations", "kafka", "confluent_kafka", "delta", "duckdb", "deltalake")


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_every_dag_file_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert {f.name for f in DAGS.glob("*.py")} == {Path(d.fileloc).name for d in dagbag.dags.values()}


def test_one_dag_per_configured_industry_plus_metrics_maintenance_backfill(dagbag):
    industries = config.load().industry_names()
    assert set(dagbag.dags) == {f"brain_{i}" for i in industries} | {
        "brain_metrics", "brain_maintenance", "brain_backfill"}


def test_dags_are_safe_to_retry_and_rerun(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.max_active_runs == 1, dag_id
        assert dag.catchup is False, dag_id
        assert dag.doc_md, f"{dag_id} has no doc_md"
        for t in dag.tasks:
            assert t.retries >= 2, f"{dag_id}.{t.task_id} retries={t.retries}"
            assert t.retry_exponential_backoff, f"{dag_id}.{t.task_id} has no backoff"


def test_industry_dag_marks_silver_assets_only_after_validation(dagbag):
    dag = dagbag.dags["brain_energy"]
    assert [t.task_id for t in dag.topological_sort()] == ["ingest", "validate"]
    outlets = {o.name for o in dag.get_task("validate").outlets}
    assert outlets == {"silver.energy_meter"}
    assert not dag.get_task("ingest").outlets


def test_metrics_dag_is_scheduled_on_silver_assets(dagbag):
    dag = dagbag.dags["brain_metrics"]
    condition = dag.timetable.asset_condition
    assert type(condition).__name__ == "AssetAny"  # any industry's new silver data triggers it
    names = {a.name for a in condition.objects}
    industries = config.load().industry_names()
    expected = {f"silver.{rt if rt.startswith(i) else i + '_' + rt}"
                for i in industries for rt in config.load().get(f"industries.{i}.record_types")}
    assert names == expected


def test_parsing_imports_no_heavy_library():
    """No Spark, GX or Kafka at parse time: the scheduler parses these files constantly."""
    script = (
        "import sys, json\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"DagBag(dag_folder={str(DAGS)!r})\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {list(HEAVY)!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=os.environ,
                         timeout=300, check=True)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded == []


def test_silver_assets_keep_their_uri_wherever_the_lake_is(dagbag, monkeypatch):
    """Airflow refuses an Asset whose name an active Asset holds with another URI, so the URI must not
    follow lake.root (moving the lake would fail every validate task)."""
    from brain.orchestration.wiring import silver_asset

    here = silver_asset(config.load(), "energy", "energy_meter")
    monkeypatch.setenv("BRAIN__LAKE__ROOT", "/elsewhere/lake")
    assert silver_asset(config.load(), "energy", "energy_meter").uri == here.uri == "x-brain://lake/silver/energy_meter"
    assert here in dagbag.dags["brain_energy"].get_task("validate").outlets
