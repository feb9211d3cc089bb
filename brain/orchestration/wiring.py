"""Shared wiring for the DAG files in dags/: default args and the silver Assets, from conf/.

Reading conf/ is a few small YAML files: cheap enough for parse time. Nothing
here imports Spark, GX or Kafka.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from airflow.sdk import Asset

from brain.config import load
from brain.lake.tables import silver_table

START_DATE = datetime(2026, 1, 1, tzinfo=timezone.utc)


def config():
    return load()


def default_args(cfg) -> dict:
    return {
        "owner": cfg.get("project.owner"),
        "retries": int(cfg.get("airflow.retries", 3)),
        "retry_delay": timedelta(seconds=int(cfg.get("airflow.retry_delay_s", 30))),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(seconds=int(cfg.get("airflow.max_retry_delay_s", 600))),
    }


def silver_asset(cfg, industry: str, record_type: str) -> Asset:
    """The silver table as an Asset with a URI that does not depend on where the lake is.

    A ``file://`` URI of the Delta path would let Airflow's OpenLineage integration name
    the table as Spark does, but Airflow refuses an Asset whose name an active Asset
    already holds with another URI: moving the lake (or two test lakes in one Airflow
    database) left the validate task failing on an "inactive asset". docs/lineage.md.
    """
    name = silver_table(industry, record_type)
    return Asset(name=name, uri=f"x-brain://lake/{name.replace('.', '/')}", group="silver")


def silver_assets(cfg, industry: str) -> list[Asset]:
    return [silver_asset(cfg, industry, rt) for rt in cfg.get(f"industries.{industry}.record_types")]


def current_run_id() -> str:
    """This Airflow run's id, made safe for a Delta column value; a retried task
    sees the same id, so it handles the same rows as its first try."""
    from airflow.sdk import get_current_context

    return "".join(c if c.isalnum() or c in "-_" else "_" for c in get_current_context()["run_id"])


@contextmanager
def no_retry_on_quality_gate():
    """A closed quality gate does not open by retrying: fail the task at once (no retries), with the
    gate's message, instead of waiting out the retry back-off three times."""
    from airflow.sdk.exceptions import AirflowFailException

    from brain.quality.gate import PublishBlocked, QualityGateFailed

    try:
        yield
    except (QualityGateFailed, PublishBlocked) as exc:
        raise AirflowFailException(str(exc)) from exc
