"""A failed enterprise build is redone whole by its retry (Airflow retries the `enterprise` task).

The build writes gold.enterprise_brain, then gold.enterprise_brain_hourly,
then announces on Kafka `brain.metrics`. Before, a failure after the daily
write left that table looking up to date, so the retry rebuilt nothing: the
hourly table and the announcement were silently skipped (CI saw the hourly
table missing after a retried run of the metrics DAG).
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from brain import pipeline
from brain.gold import enterprise
from brain.gold.enterprise import ENTERPRISE_BRAIN, ENTERPRISE_BRAIN_HOURLY
from brain.ingest import kafka_io
from brain.lake.tables import is_delta, table_path
from brain.serve import metrics_topic
from brain.simulator import run_simulation
from tests.sim_dates import recent_monday

pytestmark = [pytest.mark.slow, pytest.mark.fault]


class Injected(RuntimeError):
    """The failure this test injects (not a product error)."""


def test_a_build_that_failed_after_its_daily_write_or_its_announcement_is_redone_by_the_retry(
        broker, spark, isolated_cfg, monkeypatch):
    cfg = isolated_cfg
    run_simulation(cfg, industry="energy", sites=1, days=2, records=400, seed=5,
                   start=recent_monday(at_least_days_ago=3).isoformat())

    real_write, real_announce = enterprise._write_days, metrics_topic.announce

    def write_failing_at_hourly(cfg_, name, df, days):
        if name == ENTERPRISE_BRAIN_HOURLY:
            raise Injected("the process died between the daily and the hourly write")
        return real_write(cfg_, name, df, days)

    monkeypatch.setattr(enterprise, "_write_days", write_failing_at_hourly)
    with pytest.raises(Injected):
        pipeline.run_cycle(cfg, ["energy"], log=lambda m: None)
    assert is_delta(table_path(cfg, ENTERPRISE_BRAIN)) and not is_delta(table_path(cfg, ENTERPRISE_BRAIN_HOURLY))

    # The retry: the hourly table is written now, then the announcement fails.
    monkeypatch.setattr(enterprise, "_write_days", real_write)
    monkeypatch.setattr(metrics_topic, "announce", lambda *a, **k: (_ for _ in ()).throw(Injected("Kafka down")))
    with pytest.raises(Injected):
        pipeline.publish_enterprise(cfg)

    # The next retry rebuilds the same days and announces them; after it, nothing is pending.
    monkeypatch.setattr(metrics_topic, "announce", real_announce)
    report = pipeline.publish_enterprise(cfg)[0]
    daily = spark.read.format("delta").load(str(table_path(cfg, ENTERPRISE_BRAIN))).collect()
    hourly = spark.read.format("delta").load(str(table_path(cfg, ENTERPRISE_BRAIN_HOURLY))).collect()
    site_days = {(r["site"], r["event_date"].isoformat()) for r in daily}
    assert len(site_days) >= 2
    assert sorted(report["days"]) == sorted({d for _, d in site_days})
    assert {(r["site"], r["event_date"].isoformat()) for r in hourly} == site_days
    sent = [json.loads(m.value) for m in kafka_io.consume_all(cfg, metrics_topic.topic(cfg))]
    by_kind = Counter(m["granularity"] for m in sent)
    assert by_kind["day"] == len(site_days) and by_kind["hour"] == len(hourly)
    assert report["announced"] == len(sent)
    assert pipeline.publish_enterprise(cfg)[0]["days"] == []  # built and announced: not pending again
