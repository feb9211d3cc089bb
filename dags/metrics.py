"""
### Metrics: silver -> gold, for the days new data touched

Runs when any industry's silver Asset is updated (data-aware scheduling), so
it only ever sees validated data. Recomputes, per gold table, exactly the
event days that new or late records touched (`quality.touched_days`), with a
partition overwrite: running it twice gives the same tables.
"""

from __future__ import annotations

from airflow.sdk import AssetAny, dag, task

from brain.orchestration import START_DATE, config, default_args, silver_assets

_cfg = config()
_assets = [a for ind in _cfg.industry_names() for a in silver_assets(_cfg, ind)]


@dag(
    dag_id="brain_metrics",
    schedule=AssetAny(*_assets),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(_cfg),
    tags=["brain", "metrics", "gold"],
    doc_md=__doc__,
)
def brain_metrics():
    @task
    def publish() -> dict:
        from brain import pipeline as p
        from brain.config import load

        cfg = load()
        return {ind: p.publish(cfg, ind) for ind in cfg.industry_names()}

    publish()


brain_metrics()
