"""Each quality policy through the real DAGs: an out-of-range reading under warn, quarantine and fail.

One energy batch per policy, each with one reading of 2e7 kWh (the contract
accepts it, the suite's ``expect_column_values_to_be_between:value`` does
not), the policy set the way an operator sets it: BRAIN__QUALITY__POLICIES.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from brain.ingest import kafka_io
from tests.energy_data import meter, send

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TABLE = "silver.energy_meter"
RULE = "expect_column_values_to_be_between:value"
HUGE = 2e7  # kWh in one interval: past the suite's 1e7 bound, within the contract


def _df(spark, cfg, table):
    from brain.lake.tables import table_path

    return spark.read.format("delta").load(str(table_path(cfg, table)))


def _policy(monkeypatch, policy: str):
    monkeypatch.setenv("BRAIN__QUALITY__POLICIES", json.dumps({TABLE: {RULE: policy}}))


def _send(cfg, site: str, day: datetime) -> tuple[list[dict], dict]:
    good = [meter(site, 10.0, day=day), meter(site, 5.0, day=day)]
    bad = meter(site, HUGE, day=day)
    send(cfg, [(kafka_io.record_key(r), kafka_io.encode(r)) for r in [*good, bad]])
    return good, bad


def _asset_events(run) -> int:
    """Asset events the run's tasks emitted (the silver Asset is the validate task's outlet)."""
    from airflow import settings
    from airflow.models.asset import AssetEvent
    from sqlalchemy import func, select

    with settings.Session() as session:
        return session.scalar(select(func.count()).select_from(AssetEvent).where(
            AssetEvent.source_dag_id == run.dag_id, AssetEvent.source_run_id == run.run_id))


def _states(run) -> dict:
    return {ti.task_id: ti.state for ti in run.get_task_instances()}


def _result(spark, cfg, run_id: str):
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in run_id)  # as wiring.current_run_id
    rows = (_df(spark, cfg, "quality.validation_results")
            .where(f"run_id = '{safe}' AND expectation = '{RULE}'").collect())
    assert len(rows) == 1, rows
    return rows[0]


def _accounted(spark, cfg) -> None:
    """Nothing lost: every record in bronze is in silver, quarantine or duplicates."""
    parts = [_df(spark, cfg, t).count() for t in (TABLE, "silver.quarantine", "quality.duplicates")]
    assert _df(spark, cfg, "bronze.energy_meter").count() == sum(parts), parts


def _kwh(spark, cfg) -> dict:
    return {(r["site"], r["event_date"]): r["electricity_kwh"]
            for r in _df(spark, cfg, "gold.energy_daily_site_kwh").collect()}


def test_warn_quarantine_and_fail_policies_through_the_dags(dagbag, broker, spark, isolated_cfg, monkeypatch,
                                                            capsys):
    from brain import pipeline
    from brain.cli import main as cli
    from brain.quality.gate import PublishBlocked, QualityGateFailed, raise_if_blocked, read_state

    cfg = isolated_cfg
    energy, metrics = dagbag.dags["brain_energy"], dagbag.dags["brain_metrics"]
    for task in [*energy.tasks, *metrics.tasks]:
        # A closed gate does not open by retrying; three retries per failed task would only slow this test.
        monkeypatch.setattr(task, "retries", 0)
    today = datetime.now(timezone.utc) - timedelta(hours=1)
    yesterday = today - timedelta(days=1)
    day, bad_day = today.date(), yesterday.date()  # event_date is the UTC day

    # warn: the reading stays in silver, the failure is recorded, the Asset is marked.
    _policy(monkeypatch, "warn")
    _, bad = _send(cfg, "rm-baotou", today)
    run = energy.test()
    assert run.state == "success", _states(run)
    assert _df(spark, cfg, TABLE).where(f"event_id = '{bad['event_id']}'").count() == 1
    res = _result(spark, cfg, run.run_id)
    assert (res["policy"], res["success"], res["unexpected_count"], list(res["unexpected_sample"])) == \
        ("warn", False, 1, [bad["event_id"]])
    assert _asset_events(run) >= 1

    # quarantine: the reading moves to silver.quarantine named by the expectation; the rest stays.
    _policy(monkeypatch, "quarantine")
    good, bad = _send(cfg, "rm-ludwigshafen", today)
    run = energy.test()
    assert run.state == "success", _states(run)
    moved = _df(spark, cfg, "silver.quarantine").where(f"event_id = '{bad['event_id']}'").collect()
    assert [r["reason"] for r in moved] == [f"expectation:{RULE}"]
    assert {r["event_id"] for r in _df(spark, cfg, TABLE).where("site = 'rm-ludwigshafen'").collect()} == \
        {g["event_id"] for g in good}
    assert _result(spark, cfg, run.run_id)["policy"] == "quarantine"
    _accounted(spark, cfg)
    assert metrics.test().state == "success"
    assert _kwh(spark, cfg) == pytest.approx({("rm-baotou", day): 15.0 + HUGE, ("rm-ludwigshafen", day): 15.0})

    # fail: validate fails, no Asset event (brain_metrics is not triggered), the gate closes.
    _policy(monkeypatch, "fail")
    good, bad = _send(cfg, "rm-tangshan", yesterday)
    run = energy.test()
    assert run.state == "failed"
    assert _states(run)["validate"] == "failed"
    assert _asset_events(run) == 0
    state = read_state(spark, cfg, "energy")
    assert not state.is_open
    assert state.failed_tables()[TABLE]["expectations"] == {RULE: "expect_column_values_to_be_between"}
    # The bad day is held back: publish reports the industry blocked instead of publishing it,
    # and the metrics task (brain.quality.gate.raise_if_blocked) goes red naming it.
    (blocked,) = pipeline.publish(cfg, "energy")
    assert blocked["blocked"] and blocked["failed"] == [RULE] and bad["event_id"] in blocked["message"]
    assert ("rm-tangshan", bad_day) not in _kwh(spark, cfg)
    with pytest.raises(PublishBlocked, match="energy: CLOSED"):
        raise_if_blocked({"energy": [blocked]})
    # Good rows arriving later (the same stages the DAG runs, without a second DAG run) do not reopen it.
    _policy(monkeypatch, "quarantine")
    later = meter("rm-tangshan", 1.0, day=yesterday)
    send(cfg, [(kafka_io.record_key(later), kafka_io.encode(later))])
    pipeline.ingest(cfg, "energy", "run_later")
    with pytest.raises(QualityGateFailed, match="new rows passed, but the quality gate of energy is still closed"):
        pipeline.validate(cfg, "energy", "run_later")
    assert not read_state(spark, cfg, "energy").is_open

    # The operator looks, then resolves it: failing rows to quarantine, gate open, the day is published.
    capsys.readouterr()
    assert cli.main(["quality", "gate", "--industry", "energy"]) == 1  # closed
    shown = capsys.readouterr().out
    assert "energy: CLOSED" in shown and RULE in shown and bad["event_id"] in shown
    assert cli.main(["quality", "gate", "--industry", "energy", "--release", "--accept"]) == 2  # --reason needed
    assert not read_state(spark, cfg, "energy").is_open
    assert cli.main(["quality", "gate", "--industry", "energy", "--release", "--quarantine-failed",
                     "--by", "e2e test", "--json"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert done["moved"] == {TABLE: {RULE: 1}}
    state = read_state(spark, cfg, "energy")
    assert state.is_open and state.last_opened["actor"] == "e2e test"
    run = metrics.test()
    assert run.state == "success" and _states(run)["publish"] == "success"
    assert _kwh(spark, cfg)[("rm-tangshan", bad_day)] == pytest.approx(16.0)
    reasons = [r["reason"] for r in _df(spark, cfg, "silver.quarantine").where(f"event_id = '{bad['event_id']}'")
               .collect()]
    assert reasons == [f"expectation:{RULE}"]
    _accounted(spark, cfg)
