"""
### Backfill: reprocess silver from bronze for a date range

Triggered by hand (`airflow dags trigger brain_backfill --conf
'{"industry": "energy", "start": "2026-11-01", "end": "2026-11-07"}'`, or
the UI's trigger form). Reprocesses the bronze rows ingested in that range
through the same rules as the hourly pipeline. Every write is keyed on
`event_id` or Kafka coordinates, so rows already in silver, quarantine or
duplicates are untouched: a backfill restores what is missing and never
doubles. The days it touches are recomputed by `brain_metrics` afterwards.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, get_current_context, task

from brain.orchestration.wiring import (
    START_DATE,
    config,
    current_run_id,
    default_args,
    no_retry_on_quality_gate,
    silver_assets,
)

_cfg = config()


@dag(
    dag_id="brain_backfill",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(_cfg),
    tags=["brain", "backfill"],
    doc_md=__doc__,
    params={
        "industry": Param("energy", type="string", enum=_cfg.industry_names()),
        "start": Param("2026-01-01", type="string", format="date"),
        "end": Param("2026-01-01", type="string", format="date"),
    },
)
def brain_backfill():
    @task(outlets=[a for ind in _cfg.industry_names() for a in silver_assets(_cfg, ind)])
    def reprocess() -> list:
        from brain import pipeline
        from brain.config import load

        p = get_current_context()["params"]
        run_id = current_run_id()
        cfg = load()
        report = pipeline.backfill(cfg, p["industry"], p["start"], p["end"], run_id)
        with no_retry_on_quality_gate():
            pipeline.validate(cfg, p["industry"], run_id)
        return report

    reprocess()


brain_backfill()
