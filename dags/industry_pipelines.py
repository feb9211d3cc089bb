"""
### Industry pipelines: Kafka -> bronze -> silver, validated

One DAG per industry in `conf/ industries:` (`brain_<industry>`), all built
here the same way:

1. **ingest** - one Spark Structured Streaming query drains the industry's
   Kafka topics (`<industry>.<record_type>`), `availableNow`, exactly once:
   each micro-batch lands raw in bronze and, from the same rows, becomes
   typed silver rows, quarantine rows with a reason, or counted duplicates;
   replays change nothing.
2. **validate** - Great Expectations checks the rows this run added
   (`expectations/<table>.json`). A `fail` expectation fails the task, so the
   silver Asset stays unmarked and `brain_metrics` does not run on bad data.

Each task calls one function of `brain.pipeline`, the same the `brain run`
command calls. Retries back off exponentially; one run at a time per industry.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from brain.orchestration.wiring import (
    START_DATE,
    config,
    current_run_id,
    default_args,
    no_retry_on_quality_gate,
    silver_assets,
)


def build(industry: str, cfg):
    spec = cfg.get(f"industries.{industry}")

    @dag(
        dag_id=f"brain_{industry}",
        description=spec.get("description", industry),
        schedule=spec.get("schedule", "@hourly"),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=default_args(cfg),
        tags=["brain", "ingest", industry],
        doc_md=__doc__,
    )
    def pipeline():
        @task
        def ingest() -> dict:
            from brain import pipeline as p
            from brain.config import load

            return p.ingest(load(), industry, current_run_id())

        @task(outlets=silver_assets(cfg, industry))
        def validate() -> list:
            from brain import pipeline as p
            from brain.config import load

            with no_retry_on_quality_gate():
                return p.validate(load(), industry, current_run_id())

        ingest() >> validate()

    return pipeline()


_cfg = config()
for _industry in _cfg.industry_names():
    globals()[f"brain_{_industry}"] = build(_industry, _cfg)
