"""One energy cycle attached to the warm Spark Connect server, run as a user runs it.

`brain run` and `brain reconcile` in subprocesses with spark.remote=service: the
industry pass's foreachBatch runs in the server's Python worker, the MERGEs and
GX validation go through Connect, and the same records must land where the
in-process pipeline puts them.
"""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from brain.ops import spark_service as svc
from tests.connect_env import brain, report, rows
from tests.fault.ledger import assert_nothing_lost_or_doubled, energy_batch, send

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def connect_cfg(broker, spark_service, isolated_cfg):
    """The test session's warm Spark Connect server (make test stops it), and this test's own lake."""
    return isolated_cfg


def test_energy_cycle_over_connect_lands_every_record_and_reconciles(connect_cfg, tmp_path):
    cfg = connect_cfg
    ledger = tmp_path / "ledger.jsonl"
    msgs, expected = energy_batch(60)
    send(cfg, msgs, ledger)
    server_log, forks_log = _logs(cfg)
    logged = (server_log.stat().st_size, forks_log.stat().st_size)

    out = report(brain("run", "--industry", "energy", "--json"))
    clean = out["industries"]["energy"]["clean"][0]
    assert (clean["bronze_rows"], clean["inserted"], clean["quarantined"], clean["duplicates"]) == (
        len(msgs), expected["silver"], expected["quarantine"], expected["duplicates"])
    validated = out["industries"]["energy"]["validate"][0]
    assert validated["validated"] and validated["success"] and validated["rows"] == expected["silver"]

    # The batch function ran in the server's Python worker, not in the client; the warm parent
    # forked that worker (no fresh interpreter importing pyspark against Spark's 10 s).
    assert "Streaming ForeachBatch worker Completed batch 0" in _since(server_log, logged[0])
    assert "for pyspark.sql.connect.streaming.worker.foreach_batch_worker" in _since(forks_log, logged[1])

    silver = rows(cfg, "silver.energy_meter")
    assert len(silver) == len({r["event_id"] for r in silver}) == expected["silver"]
    reasons = defaultdict(int)
    for r in rows(cfg, "silver.quarantine"):
        reasons[r["reason"]] += 1
    assert sum(reasons.values()) == expected["quarantine"] and set(reasons) == {"malformed_json",
                                                                               "out_of_range:value"}
    assert len(rows(cfg, "quality.duplicates")) == expected["duplicates"]

    # Gold: every site's kWh for the day is the sum of its silver readings.
    kwh = defaultdict(float)
    for r in silver:
        kwh[r["site"]] += r["value"]
    gold = defaultdict(float)
    for r in rows(cfg, "gold.energy_daily_site_kwh"):
        gold[r["site"]] += r["electricity_kwh"]
    assert dict(gold) == pytest.approx(dict(kwh)) and len(gold) == 3
    # The rows each publish reports written (counted while the write ran, over Connect) are the rows
    # its table holds: a fresh lake, this run's days only.
    published = [p for p in out["industries"]["energy"]["publish"] if p.get("days")]
    assert published and all(len(rows(cfg, p["table"])) == p["rows"] > 0 for p in published), published

    recon = report(brain("reconcile", "--industry", "energy", "--json"))
    assert recon["ok"], json.dumps(recon)[:3000]
    assert_nothing_lost_or_doubled(None, cfg, ledger)

    # A second cycle with nothing new changes nothing (the pass is not even started).
    again = report(brain("run", "--industry", "energy", "--json"))
    assert again["totals"]["records_in"] == 0
    assert len(rows(cfg, "silver.energy_meter")) == expected["silver"]


def test_dag_tasks_and_spark_queries_attach_to_the_service(connect_cfg, tmp_path):
    """brain_energy's tasks, run by Airflow in a process with no JVM of its own, and `brain query
    --engine spark` both work through the warm server (what spark.remote: auto does while it runs)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    cfg = connect_cfg
    ledger = tmp_path / "ledger.jsonl"
    msgs, expected = energy_batch(40)
    send(cfg, msgs, ledger)

    airflow = str(Path(sys.executable).parent / "airflow")
    env = {**os.environ, "BRAIN__SPARK__REMOTE": "service"}
    env.pop("SPARK_CONNECT_MODE_ENABLED", None)
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True, timeout=600)
    server_log, _ = _logs(cfg)
    logged = server_log.stat().st_size
    dag_run = subprocess.run([airflow, "dags", "test", "brain_energy"], env=env, capture_output=True,
                             text=True, timeout=900)
    assert dag_run.returncode == 0, dag_run.stdout[-3000:] + dag_run.stderr[-5000:]
    # spark.remote = service attaches or fails: the batches ran in the server's Python worker.
    assert "Streaming ForeachBatch worker Completed batch 0" in _since(server_log, logged)

    assert len(rows(cfg, "silver.energy_meter")) == expected["silver"]
    assert len(rows(cfg, "silver.quarantine")) == expected["quarantine"]

    # The shipped default, auto, finds the running server (and its token) by itself.
    counted = brain("query", "--engine", "spark", "--format", "json",
                    "SELECT count(*) AS n FROM silver.energy_meter", env={"BRAIN__SPARK__REMOTE": "auto"})
    assert counted.returncode == 0, counted.stderr[-3000:]
    assert json.loads(counted.stdout)[0]["n"] == expected["silver"]
    assert "running Spark in this process" not in counted.stderr
    assert_nothing_lost_or_doubled(None, cfg, ledger)


def _logs(cfg):
    """The shared server's log and its warm worker parent's log."""
    return svc.paths(cfg).stdout, svc.paths(cfg).logs / "pyworker-zygote.out"


def _since(path, offset: int) -> str:
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read().decode(errors="replace")
