"""A simulated week of 2 sites x 4 industries, every bad-data knob on, through every DAG.

One module-scoped run (simulate -> the four industry DAGs -> the metrics DAG)
feeds the tests below, which each check one thing a user relies on: nothing
is lost, every gold table and the enterprise brain are populated, subscribers
hear on Kafka `brain.metrics`, the dashboard shows charts, traceability
answers both ways. The last test sends a late record for an old day and runs
the DAGs again: that day's KPIs change and nothing else does.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from brain import config
from tests.sim_dates import recent_monday

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SITES, DAYS, RECORDS = 2, 7, 8000


def _read(spark, cfg, name):
    from brain.lake.tables import table_path

    return spark.read.format("delta").load(str(table_path(cfg, name)))


def _run_dags(dagbag, industries):
    for ind in industries:
        run = dagbag.dags[f"brain_{ind}"].test()
        assert run.state == "success", (ind, [(ti.task_id, ti.state) for ti in run.get_task_instances()])
    run = dagbag.dags["brain_metrics"].test()
    assert run.state == "success", [(ti.task_id, ti.state) for ti in run.get_task_instances()]


@pytest.fixture(scope="module")
def week(dagbag, broker, spark, tmp_path_factory):
    from brain.simulator.run import run_simulation

    root = tmp_path_factory.mktemp("week")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BRAIN__LAKE__ROOT", str(root / "lake"))
        mp.setenv("BRAIN__LAKE__CHECKPOINTS", str(root / "checkpoints"))
        mp.setenv("BRAIN__KAFKA__TOPIC_PREFIX", f"t{uuid.uuid4().hex[:10]}.")
        cfg = config.load()
        start = recent_monday(at_least_days_ago=DAYS + 1).isoformat()  # Monday..Sunday, any day CI runs
        summary = run_simulation(cfg, industry="all", sites=SITES, records=RECORDS, days=DAYS, seed=11,
                                 bad_ratio=0.1, start=start)
        assert summary.total == RECORDS
        _run_dags(dagbag, cfg.industry_names())
        yield cfg, summary


def test_nothing_is_lost(week, spark):
    from pyspark.sql import functions as F

    from brain.ops.reconcile import reconcile
    from brain.simulator.inject import DETECTABLE, INVALID

    cfg, summary = week
    report = reconcile(cfg, cfg.industry_names())
    assert report.ok, report
    quarantine = _read(spark, cfg, "silver.quarantine")
    by_kind = {r["kind"]: r["count"] for r in
               quarantine.groupBy(F.split("reason", ":")[0].alias("kind")).count().collect()}
    assert by_kind == {k: n for k, n in summary.kinds.items() if (k in INVALID or k in DETECTABLE) and n}
    assert _read(spark, cfg, "quality.duplicates").count() == summary.kinds["duplicate"]


def test_every_gold_table_and_the_enterprise_brain_are_populated(week, spark):
    from brain import industries
    from brain.gold.enterprise import COLUMNS, ENTERPRISE_BRAIN

    cfg, _ = week
    # A healthy simulated week may raise no maintenance alert: that table must exist, rows are optional
    # (tests/integration/test_pdm_simulation.py drives a device to failure and checks the alert).
    may_be_empty = {"gold.pdm_alerts"}
    for ind in cfg.industry_names():
        for gold in industries.load(cfg, ind).GOLD:
            rows = _read(spark, cfg, gold).count()
            assert gold in may_be_empty or rows > 0, gold
    # Cross-industry (energy meters x raw-materials output), published with the enterprise brain.
    per_tonne = _read(spark, cfg, "gold.raw_materials_energy_per_tonne_daily_site").collect()
    assert per_tonne and all(r["kgce_per_t"] is None or r["kgce_per_t"] > 0 for r in per_tonne)
    scores = _read(spark, cfg, "gold.data_quality_daily")
    assert {r["industry"] for r in scores.select("industry").distinct().collect()} == set(cfg.industry_names())

    brain = _read(spark, cfg, ENTERPRISE_BRAIN)
    assert brain.columns[:len(COLUMNS)] == [name for name, _ in COLUMNS]
    rows = brain.collect()
    assert len({r["site"] for r in rows}) >= SITES
    assert len({r["event_date"] for r in rows}) >= DAYS - 1
    assert all(r["oee"] is None or 0.0 <= r["oee"] <= 1.0 for r in rows)
    assert any(r["oee"] is not None for r in rows) and any(r["energy_kwh"] for r in rows)
    assert all(r["dq_score"] is None or 0.0 <= r["dq_score"] <= 1.0 for r in rows)


def test_brain_metrics_topic_has_one_message_per_site_day_and_per_site_hour(week, spark):
    from brain.gold.enterprise import ENTERPRISE_BRAIN, ENTERPRISE_BRAIN_HOURLY
    from brain.ingest import kafka_io
    from brain.serve import metrics_topic

    cfg, _ = week
    expected = {(r["site"], r["event_date"].isoformat()) for r in _read(spark, cfg, ENTERPRISE_BRAIN).collect()}
    expected_hours = {(r["site"], metrics_topic.message(r.asDict())["hour_start"])
                      for r in _read(spark, cfg, ENTERPRISE_BRAIN_HOURLY).collect()}
    msgs = list(kafka_io.consume_all(cfg, metrics_topic.topic(cfg)))
    seen, hours = {}, set()
    for m in msgs:
        payload = json.loads(m.value)
        assert m.key.decode() == payload["site"]
        if payload["granularity"] == "hour":
            hours.add((payload["site"], payload["hour_start"]))
        else:
            seen[(payload["site"], payload["event_date"])] = payload
    assert set(seen) == expected
    assert hours == expected_hours and len(hours) > len(seen)


def test_dashboard_shows_charts_with_data(week, tmp_path):
    from brain.serve.dashboard import build
    from tests.browser import dump_dom, screenshot

    cfg, _ = week
    page = build(cfg, tmp_path / "reports", days=DAYS + 2)
    dom = dump_dom(page)
    for section in ("overview", "oee", "energy", "data-quality"):
        assert f'<section id="{section}" data-state="data">' in dom, section
    assert dom.count('class="series"') >= SITES and dom.count('class="bar"') > 0
    screenshot(page, tmp_path / "dashboard.png")


def test_trace_answers_both_directions(week):
    from brain.serve.trace import load_links, trace

    cfg, _ = week
    links = load_links(cfg)
    lot = next(link.parent_id for link in links if link.link_type == "lot_to_batch")
    forward = trace(links, "lot", lot)
    assert forward["batches"], forward
    shipped = [s for s in (trace(links, "batch", b)["shipments"] for b in forward["batches"]) if s]
    if shipped:  # a batch made at the very end of the week may not have shipped yet
        back = trace(links, "shipment", shipped[0][0])
        assert lot in back["lots"]
    back = trace(links, "batch", forward["batches"][0])
    assert lot in back["lots"]


def test_late_record_changes_only_its_day(week, spark, dagbag):
    """Last in the module: it changes the lake the tests above read."""
    from pyspark.sql import functions as F

    from tests import energy_data

    cfg, _ = week
    site_row = _read(spark, cfg, "gold.energy_daily_site").orderBy("event_date").first()
    old_day: date = site_row["event_date"]
    keys = {"gold.energy_daily_site": ("enterprise", "site", "event_date", "carrier", "unit"),
            "gold.enterprise_brain": ("enterprise", "site", "event_date")}

    def snapshot(name):
        return {tuple(r[c] for c in keys[name]): r.asDict() for r in _read(spark, cfg, name).collect()}

    before = {t: snapshot(t) for t in keys}
    late_ts = datetime.combine(old_day, datetime.min.time(), timezone.utc) + timedelta(hours=12)
    rec = energy_data.meter(site_row["site"], 123.0, site_row["unit"], day=late_ts, enterprise=site_row["enterprise"],
                            carrier=site_row["carrier"])
    energy_data.send(cfg, [(None, json.dumps(rec).encode())])
    _run_dags(dagbag, ["energy"])

    for t in keys:
        after = snapshot(t)
        assert set(after) == set(before[t]), t
        changed = {k for k in after if after[k] != before[t][k]}
        assert changed, f"{t}: the late record changed nothing"
        assert {k[2] for k in changed} == {old_day}, (t, changed)
    day_rows = _read(spark, cfg, "gold.energy_daily_site").where(F.col("event_date") == old_day)
    assert day_rows.count() >= 1
