"""
### Metrics: silver -> gold, for the days new data touched

Runs when any industry's silver Asset is updated (data-aware scheduling), so
it only ever sees validated data. Recomputes, per gold table, exactly the
event days that new or late records touched (`quality.touched_days`), with a
partition overwrite: running it twice gives the same tables. A second task
then rebuilds `gold.enterprise_brain` for the days the first one recomputed
(and announces them on Kafka `brain.metrics`) while another validates the
gold days just written (`expectations/gold.*.json`); the last task fails the run,
naming them, if an industry's quality gate is closed (`brain quality gate`).
"""

from __future__ import annotations

from airflow.sdk import AssetAny, dag, task

from brain.orchestration.wiring import START_DATE, config, default_args, no_retry_on_quality_gate, silver_assets

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

    @task
    def enterprise() -> list:
        from brain import pipeline as p
        from brain.config import load

        return p.publish_enterprise(load())

    @task
    def validate_gold(published: dict) -> list:
        from brain import pipeline as p
        from brain.config import load

        return p.validate_gold(load(), published)

    # Last, so a blocked industry turns the run red (the others' days were still published and rolled up).
    @task
    def quality_gates(published: dict) -> None:
        from brain.quality.gate import raise_if_blocked

        with no_retry_on_quality_gate():
            raise_if_blocked(published)

    published = publish()
    published >> [enterprise(), validate_gold(published)] >> quality_gates(published)


brain_metrics()
