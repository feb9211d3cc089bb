"""
### Maintenance: expire, compact and vacuum every lake table

Daily. Retention first deletes the rows older than their industry's horizon
for their layer (`retention.*`, `industries.<name>.retention`; the deleted
coordinates go to `quality.expired`, so reconcile reports them as expired, not
lost: docs/retention.md). `OPTIMIZE` merges the small files that hourly streaming appends
leave behind; `VACUUM` removes files older than `lake.vacuum_retain_hours`
(7 days by default, so time travel and streaming readers keep working within
that window). Delta retries concurrent-writer conflicts, so this can run while
the industry pipelines ingest.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from brain.orchestration.wiring import START_DATE, config, default_args

_cfg = config()


@dag(
    dag_id="brain_maintenance",
    schedule="@daily",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(_cfg),
    tags=["brain", "maintenance"],
    doc_md=__doc__,
)
def brain_maintenance():
    @task
    def optimize_and_vacuum() -> list:
        from brain.config import load
        from brain.lake.maintenance import maintain
        from brain.spark import get_session

        cfg = load()
        return maintain(get_session(cfg), cfg)

    optimize_and_vacuum()


brain_maintenance()
