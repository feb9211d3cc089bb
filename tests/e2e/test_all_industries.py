"""Simulated factories of all four industries, every bad-data knob on, through every DAG.

Done when nothing is lost: reconcile is clean, quarantine counts by kind
equal the simulator's summary, duplicates equal the resends, and every gold
table has rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_simulated_week_of_bad_data_is_fully_accounted_for(dagbag, broker, spark, isolated_cfg):
    from pyspark.sql import functions as F

    from brain.lake import table_path
    from brain.reconcile import reconcile
    from brain.simulator.inject import DETECTABLE, INVALID
    from brain.simulator.run import run_simulation

    cfg = isolated_cfg
    start = (datetime.now(timezone.utc) - timedelta(days=3)).date().isoformat()
    summary = run_simulation(cfg, industry="all", records=4000, days=2, seed=11, bad_ratio=0.1, start=start)
    assert summary.total == 4000

    industries = cfg.industry_names()
    for ind in industries:
        run = dagbag.dags[f"brain_{ind}"].test()
        assert run.state == "success", (ind, [(ti.task_id, ti.state) for ti in run.get_task_instances()])
    assert dagbag.dags["brain_metrics"].test().state == "success"

    report = reconcile(spark, cfg, industries)
    assert report.ok, report

    quarantine = spark.read.format("delta").load(str(table_path(cfg, "silver.quarantine")))
    by_kind = {r["kind"]: r["count"] for r in
               quarantine.groupBy(F.split("reason", ":")[0].alias("kind")).count().collect()}
    expected = {k: n for k, n in summary.kinds.items() if (k in INVALID or k in DETECTABLE) and n}
    assert by_kind == expected
    duplicates = spark.read.format("delta").load(str(table_path(cfg, "quality.duplicates"))).count()
    assert duplicates == summary.kinds["duplicate"]

    for ind in industries:
        module = __import__(f"brain.industries.{ind}", fromlist=["GOLD"])
        for gold in module.GOLD:
            assert spark.read.format("delta").load(str(table_path(cfg, gold))).count() > 0, gold
    scores = spark.read.format("delta").load(str(table_path(cfg, "gold.data_quality_daily")))
    assert {r["industry"] for r in scores.select("industry").distinct().collect()} == set(industries)
