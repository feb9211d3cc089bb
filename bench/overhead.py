"""Cycle overhead: what an Airflow cycle of every industry costs when there is no data to move.

Each industry DAG is run with ``dag.test()`` (the real tasks, in this
process) right after the pipeline measurement drained the topics, so its
ingest, clean and validate find nothing new: the whole wall time is overhead
(Airflow's run bookkeeping, Spark query start-up, Delta log reads, empty
commits). The same cycle without Airflow (brain.pipeline stages called
directly) is measured alongside to separate the two.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from bench.env import Clock


def prepare_airflow(cfg, home: Path) -> None:
    """Airflow's environment and a migrated SQLite metadata DB under ``home`` (before importing airflow)."""
    from brain.orchestration.airflow_env import airflow_env

    home.mkdir(parents=True, exist_ok=True)
    os.environ["BRAIN__AIRFLOW__HOME"] = str(home)
    for key, value in airflow_env(cfg).items():
        os.environ[key] = value
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{home / 'airflow.db'}"
    subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"], env=os.environ,
                   check=True, capture_output=True, timeout=900)
    from airflow import settings

    settings.configure_orm()


def airflow_cycle(industries: list[str]) -> dict:
    from airflow.dag_processing.dagbag import DagBag

    dags_dir = Path(__file__).resolve().parent.parent / "dags"
    bag = DagBag(dag_folder=str(dags_dir))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    clock = Clock()
    states = {}
    for ind in industries:
        run = clock.time(ind, bag.dags[f"brain_{ind}"].test)
        states[ind] = str(run.state)
    failed = {ind: st for ind, st in states.items() if st != "success"}
    if failed:  # a DAG that failed fast would pass for a cheap cycle
        raise RuntimeError(f"DAG runs did not succeed: {failed}")
    return {"seconds": round(sum(clock.phases.values()), 3), "per_dag_s": clock.phases, "states": states}


def direct_cycle(cfg, industries: list[str]) -> dict:
    from brain import pipeline as p

    clock = Clock()
    run_id = p.new_run_id()
    for ind in industries:
        clock.time(f"{ind}.ingest", p.ingest, cfg, ind, run_id)
        clock.time(f"{ind}.validate", p.validate, cfg, ind, run_id)
    return {"seconds": round(sum(clock.phases.values()), 3), "phases_s": clock.phases}


def measure(cfg, industries: list[str], home: Path, log=print, without_airflow: bool = True) -> dict:
    """``without_airflow`` also runs the same empty cycle through brain.pipeline directly (as long again)."""
    t = time.perf_counter()
    prepare_airflow(cfg, home)
    migrate_s = round(time.perf_counter() - t, 1)
    log(f"  airflow db ready in {migrate_s}s; dag.test() of {len(industries)} industry DAGs, no new data")
    af = airflow_cycle(industries)
    out = {"cycle_overhead_s": af["seconds"], "airflow": af, "db_migrate_s_not_counted": migrate_s}
    if without_airflow:
        log(f"  airflow cycle {af['seconds']}s; same cycle without Airflow")
        direct = direct_cycle(cfg, industries)
        out.update(without_airflow_s=direct["seconds"], airflow_share_s=round(af["seconds"] - direct["seconds"], 3),
                   without_airflow=direct)
    return out
