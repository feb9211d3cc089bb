"""
### Metrics: silver -> gold, for the days new data touched

Runs when any industry's silver Asset is updated (data-aware scheduling), so
it only ever sees validated data. Recomputes, per gold table, exactly the
event days that new or late records touched (`quality.touched_days`), with a
partition overwrite: running it twice gives the same tables. A second task
then rebuilds `gold.enterprise_brain` for the days the first one recomputed.
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
        from brain.quality.gate import raise_if_blocked

        cfg = load()
        published = {ind: p.publish(cfg, ind) for ind in cfg.industry_names()}
        raise_if_blocked(published)  # after all others published: red task listing the blocked industries
        return published

    # all_done: a blocked industry fails the task above, the others' new days still roll up.
    @task(trigger_rule="all_done")
    def enterprise() -> list:
        from brain import pipeline as p
        from brain.config import load

        return p.publish_enterprise(load())

    publish() >> enterprise()


brain_metrics()
