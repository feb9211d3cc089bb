"""Great Expectations on Spark, for real: GX 1.x + Spark + Delta on small hand-made batches.

One module-scoped "dirty batch" validation feeds most tests (a GX run costs
seconds); the fail policy, the row-level twins and idempotent recording get
their own runs. GX stores, Data Docs, suites and the lake live in a temp dir.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import uuid
from pathlib import Path

import pytest

from brain import config
from brain.lake.tables import table_path
from brain.quality import QualityGateFailed, enforce, record_results, validate_batch
from brain.quality.results import RESULTS_TABLE
from brain.quality.rowlevel import REASON, REASONS

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TABLE = "silver.energy_meter"
SCHEMA = ("event_id string, enterprise string, site string, area string, line string, device string, "
          "industry string, event_ts_utc timestamp, event_date date, quality string, carrier string, "
          "value double, unit string, source_unit string, interval_s int, demand_kw double, power_factor double")
COLUMNS = [c.split()[0] for c in SCHEMA.split(", ")]
TS = dt.datetime(2026, 11, 28, 10, 0)
BETWEEN_VALUE = "expect_column_values_to_be_between:value"
NOT_NULL_VALUE = "expect_column_values_to_not_be_null:value"
UNIT_IN_SET = "expect_column_values_to_be_in_set:unit"
QUALITY_IN_SET = "expect_column_values_to_be_in_set:quality"
EVENT_ID_NOT_NULL = "expect_column_values_to_not_be_null:event_id"


def eid(n: int) -> str:
    return str(uuid.UUID(int=n))


def reading(n: int, **over) -> tuple:
    rec = {"event_id": eid(n), "enterprise": "acme", "site": "site-01", "area": "utilities", "line": "line-01",
           "device": "meter-01", "industry": "energy", "event_ts_utc": TS, "event_date": TS.date(),
           "quality": "GOOD", "carrier": "electricity", "value": 12.5, "unit": "kWh", "source_unit": "kWh",
           "interval_s": 900, "demand_kw": None, "power_factor": 0.95}
    rec.update(over)
    return tuple(rec[c] for c in COLUMNS)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """Quality state in a temp dir, set through the environment like every brain process reads it."""
    tmp = tmp_path_factory.mktemp("quality")
    mp = pytest.MonkeyPatch()
    for key, value in {"LAKE__ROOT": tmp / "lake", "QUALITY__GX_DIR": tmp / "gx",
                       "QUALITY__DATA_DOCS_DIR": tmp / "docs"}.items():
        mp.setenv(f"BRAIN__{key}", str(value))
    yield tmp
    mp.undo()


@pytest.fixture(scope="module")
def qcfg(env):
    return config.load()


# Out-of-range rows: 100 negative, 101 too large and in a non-normalised unit, 102 NaN
# (NaN sorts above every number in Spark, so GX counts it out of range), 103 no value at all
# (not_null:value, but *not* between: GX skips nulls), 104 unknown quality flag (warn only).
DIRTY = {100: {"value": -5.0}, 101: {"value": 2e7, "unit": "kg"}, 102: {"value": float("nan")},
         103: {"value": None}, 104: {"quality": "WEIRD"}}
EXPECTED_REASONS = {eid(100): [BETWEEN_VALUE], eid(101): [UNIT_IN_SET, BETWEEN_VALUE],
                    eid(102): [BETWEEN_VALUE], eid(103): [NOT_NULL_VALUE]}


@pytest.fixture(scope="module")
def dirty(spark, qcfg):
    rows = [reading(i) for i in range(30)] + [reading(n, **over) for n, over in DIRTY.items()]
    outcome = validate_batch(spark, spark.createDataFrame(rows, SCHEMA), TABLE, "run-dirty", qcfg)
    yield outcome
    outcome.release()


def by_name(outcome):
    return {r.name: r for r in outcome.results}


def test_warn_keeps_rows_and_reports_them(dirty):
    warn = by_name(dirty)[QUALITY_IN_SET]
    assert warn.policy == "warn" and not warn.success
    assert (warn.element_count, warn.unexpected_count, warn.unexpected_sample) == (35, 1, (eid(104),))
    passed_ids = {r.event_id for r in dirty.passed_df.select("event_id").collect()}
    assert eid(104) in passed_ids
    assert dirty.success  # warn and quarantine failures do not fail the gate
    enforce(dirty)


def test_quarantine_moves_exactly_the_failing_rows(dirty):
    q = {r.event_id: r for r in dirty.quarantine_df.collect()}
    assert {k: list(v[REASONS]) for k, v in q.items()} == EXPECTED_REASONS
    assert {k: v[REASON] for k, v in q.items()} == {k: v[0] for k, v in EXPECTED_REASONS.items()}
    assert dirty.quarantine_df.columns == COLUMNS + [REASON, REASONS]  # the whole row travels
    passed = [r.event_id for r in dirty.passed_df.collect()]
    assert dirty.passed_df.columns == COLUMNS
    assert len(passed) == 35 - 4 and not set(passed) & set(q)
    # rows per reason == GX's unexpected_count for that expectation
    results = by_name(dirty)
    for name in (BETWEEN_VALUE, NOT_NULL_VALUE, UNIT_IN_SET):
        assert results[name].policy == "quarantine"
        assert sum(name in v[REASONS] for v in q.values()) == results[name].unexpected_count
    assert results[BETWEEN_VALUE].unexpected_count == 3
    assert set(results[BETWEEN_VALUE].unexpected_sample) == {eid(100), eid(101), eid(102)}
    assert dirty.quarantined_count == 4 and dirty.has_quarantine


def test_clean_expectations_report_counts_without_samples(dirty):
    ok = by_name(dirty)["expect_column_values_to_not_be_null:site"]
    assert (ok.success, ok.element_count, ok.unexpected_count, ok.unexpected_sample) == (True, 35, 0, ())
    assert dirty.row_count == 35


def test_fail_policy_blocks_with_expectations_and_sample_ids(spark, qcfg, monkeypatch):
    # An operator turns the value range into a hard gate for this deployment.
    monkeypatch.setenv("BRAIN__QUALITY__POLICIES", json.dumps({TABLE: {BETWEEN_VALUE: "fail"}}))
    cfg = config.load()
    rows = [reading(i) for i in range(5)] + [reading(200, value=-1.0), reading(201, event_id=None)]
    outcome = validate_batch(spark, spark.createDataFrame(rows, SCHEMA), TABLE, "run-fail", cfg)
    try:
        assert not outcome.success
        assert {r.name for r in outcome.blocking} == {BETWEEN_VALUE, EVENT_ID_NOT_NULL}
        with pytest.raises(QualityGateFailed) as info:
            enforce(outcome)
        msg = str(info.value)
        assert f"{BETWEEN_VALUE} [fail]: 1 of 7 rows unexpected; sample event_ids: {eid(200)}" in msg
        assert f"{EVENT_ID_NOT_NULL} [fail]: 1 of 7 rows unexpected" in msg
        # fail rules move nothing; every column of the empty split still plans (no rule: an empty reasons array)
        assert outcome.quarantine_df.collect() == [] and not outcome.has_quarantine
        assert record_results(spark, outcome, cfg) == len(outcome.results)
    finally:
        outcome.release()


def test_results_table_one_row_per_expectation_per_run_and_idempotent(spark, qcfg, dirty):
    path = str(table_path(qcfg, RESULTS_TABLE))
    n = len(dirty.results)
    record_results(spark, dataclasses.replace(dirty, run_id="run-before"), qcfg)  # the table exists
    record_results(spark, dirty, qcfg)  # a run it holds nothing of: appended
    record_results(spark, dirty, qcfg)  # a retried task records the same run again: replaced
    df = spark.read.format("delta").load(path).where("run_id = 'run-dirty'")
    assert df.count() == n
    assert spark.read.format("delta").load(path).where("run_id = 'run-before'").count() == n  # left alone
    assert df.select("expectation").distinct().count() == n
    assert df.columns == ["run_id", "table_name", "validated_at", "expectation", "column", "policy", "success",
                          "element_count", "unexpected_count", "unexpected_sample", "suite_name"]
    row = df.where(f"expectation = '{BETWEEN_VALUE}'").collect()[0]
    assert (row.table_name, row.policy, row.success, row.element_count, row.unexpected_count) == \
        (TABLE, "quarantine", False, 35, 3)
    assert sorted(row.unexpected_sample) == sorted([eid(100), eid(101), eid(102)])
    assert row.suite_name == TABLE


def test_data_docs_list_every_run(spark, qcfg, dirty, env):
    # The fail test's run (if it ran) and this one are listed too: docs are rebuilt from the
    # validation results on disk, which outlive the (per-run) GX context and the process.
    later = validate_batch(spark, spark.createDataFrame([reading(300)], SCHEMA), TABLE, "run-later", qcfg)
    later.release()
    index = Path(qcfg.path("quality.data_docs_dir")) / "index.html"
    assert later.data_docs_index == index.as_uri()
    html = index.read_text()
    assert "run-dirty" in html and "run-later" in html and TABLE in html
    assert list((env / "gx" / "validations").rglob("*.json"))  # the results Data Docs are built from
    pages = list((index.parent / "validations").rglob("*.html"))
    assert any("run-dirty" in str(p) for p in pages) and any("run-later" in str(p) for p in pages)


def test_data_docs_of_several_runs_are_built_once_together(spark, qcfg, dirty):
    """pipeline.validate validates each table with docs=False and builds Data Docs once for all
    of them: nothing is rendered before that build, every run's page and the index after it."""
    from brain.quality import build_docs_for

    index = Path(qcfg.path("quality.data_docs_dir")) / "index.html"
    outcomes = []
    for n, run in ((500, "run-together-a"), (501, "run-together-b")):
        outcome = validate_batch(spark, spark.createDataFrame([reading(n)], SCHEMA), TABLE, run, qcfg, docs=False)
        outcome.release()
        outcomes.append(outcome)
        assert outcome.data_docs_index is None and outcome.docs_resources
    assert "run-together-a" not in (index.read_text() if index.exists() else "")
    assert build_docs_for(qcfg, outcomes) == index.as_uri()
    html = index.read_text()
    assert "run-together-a" in html and "run-together-b" in html
    pages = [str(p) for p in (index.parent / "validations").rglob("*.html")]
    assert any("run-together-a" in p for p in pages) and any("run-together-b" in p for p in pages)
    assert build_docs_for(qcfg, []) is None  # nothing validated: no build


def test_data_docs_work_offline_in_headless_chromium(spark, qcfg, dirty, tmp_path):
    """The index lists the runs once its scripts ran, with every script and style local
    (tests/browser.py opens pages with networking off)."""
    from brain.quality.docs_assets import missing_assets, remote_references
    from brain.quality.settings import QualitySettings
    from tests.browser import dump_dom, screenshot

    assets = QualitySettings.from_config(qcfg).data_docs_assets
    if missing_assets(assets):
        pytest.fail(f"Data Docs assets missing in {assets}: run `make web` (npm ci in web/; needs npm, "
                    f"e.g. `apt-get install npm`, and the npm registry)")
    validate_batch(spark, spark.createDataFrame([reading(400)], SCHEMA), TABLE, "run-offline", qcfg).release()
    index = Path(qcfg.path("quality.data_docs_dir")) / "index.html"
    html = index.read_text()
    assert remote_references(html) == []
    assert "data-index" not in html  # run rows exist only once bootstrap-table's script has run

    dom = dump_dom(index)
    rows = re.findall(r'<tr class="clickable-row" data-href="validations/([^"]+)" data-index="\d+">(.*?)</tr>',
                      dom, re.S)
    cells = [[c.strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)] for _, body in rows]
    listed = {c for row in cells for c in row}
    assert {"run-dirty", "run-offline", TABLE} <= listed, cells
    screenshot(index, tmp_path / "data_docs_index.png")  # asserts a real, non-blank image


def test_gold_days_are_validated_after_publishing_with_warnings_recorded(spark, qcfg):
    from brain.quality.gold_suites import validate_gold

    gold = "gold.energy_daily_site_kwh"
    day, other = dt.date(2026, 11, 27), dt.date(2026, 11, 26)
    cols = ("enterprise string, site string, event_date date, electricity_kwh double, readings long, "
            "uncertain_readings long, bad_readings_excluded long, peak_demand_kw double, computed_at timestamp")
    rows = [("acme", "site-01", day, 10.0, 4, 0, 0, 2.0, TS), ("acme", "site-01", day, 12.0, 4, 0, 0, 2.0, TS),
            ("acme", "site-02", day, -3.0, 2, 0, 1, None, TS), ("acme", None, other, -1.0, -1, 0, 0, None, TS)]
    spark.createDataFrame(rows, cols).write.format("delta").mode("overwrite").save(str(table_path(qcfg, gold)))

    report = validate_gold(spark, qcfg, gold, [day], run_id="gold-run-1")  # the other day is not checked
    assert report["validated"] and report["rows"] == 3
    assert report["success"]  # warnings: recorded, nothing blocked
    results = {r.expectation: r for r in spark.read.format("delta").load(str(table_path(qcfg, RESULTS_TABLE)))
               .where("run_id = 'gold-run-1'").collect()}
    failed = {"expect_compound_columns_to_be_unique:enterprise,site,event_date",
              "expect_column_values_to_be_between:electricity_kwh"}
    assert {n for n, r in results.items() if not r.success} == failed == set(report["failed"])
    assert results["expect_column_values_to_be_between:electricity_kwh"].unexpected_count == 1
    assert results["expect_column_values_to_not_be_null:site"].success  # the null site is on the other day
    assert {r.policy for r in results.values()} == {"warn"} and {r.table_name for r in results.values()} == {gold}


def test_row_level_twins_match_gx_on_edge_cases(spark, env, monkeypatch):
    """Every quarantine-capable type, with nulls, NaN, bounds and duplicates; validate_batch itself
    raises QuarantineMismatch if a twin disagrees with GX."""
    suites = env / "suites"
    suites.mkdir(exist_ok=True)
    q = {"policy": "quarantine"}
    (suites / "silver.edge.json").write_text(json.dumps({"name": "silver.edge", "expectations": [
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "x", "min_value": 0, "max_value": 10,
                                                                 "strict_max": True}, "meta": q},
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "y", "min_value": 1},
         "meta": {**q, "name": "y_at_least_1"}},
        {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "s", "value_set": ["a", "b"]}, "meta": q},
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "k"}, "meta": q},
        {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "s", "regex": "^[ab]$"},
         "meta": {"policy": "warn"}},
        {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "code", "regex": "^M-[0-9]+$"},
         "meta": q},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "s", "mostly": 0.5}, "meta": q},
    ]}))
    monkeypatch.setenv("BRAIN__QUALITY__SUITES_DIR", str(suites))
    cfg = config.load()
    rows = [  # event_id, x, y, s, k, code
        ("e0", 0.0, 1.0, "a", "k0", "M-1"),           # all fine (x at min)
        ("e1", 10.0, None, "b", "k1", "M-22"),        # x at strict max -> out; y null -> ignored
        ("e2", float("nan"), 0.5, "c", "k2", "m-1"),  # NaN out, y below, s not in set, regex case-sensitive
        ("e3", None, 2.0, None, "dup", None),         # nulls are not out of range / set / regex; s null -> not_null
        ("e4", -0.1, 2.0, "a", "dup", "M-"),          # duplicate k (both copies), regex needs a digit
        ("e5", 5.0, 2.0, "a", None, "xM-1"),          # null k is not a duplicate of another null
        ("e6", 5.0, 2.0, "a", None, "M-7"),
    ]
    df = spark.createDataFrame(rows, "event_id string, x double, y double, s string, k string, code string")
    outcome = validate_batch(spark, df, "silver.edge", "run-edge", cfg)
    try:
        counts = {r.name: r.unexpected_count for r in outcome.results}
        assert counts == {
            "expect_column_values_to_be_between:x": 3,  # e1, e2, e4
            "y_at_least_1": 1,                          # e2
            "expect_column_values_to_be_in_set:s": 1,   # e2
            "expect_column_values_to_be_unique:k": 2,   # e3, e4
            "expect_column_values_to_match_regex:s": 1,  # e2 (warn: not quarantined)
            "expect_column_values_to_match_regex:code": 3,  # e2, e4, e5
            "expect_column_values_to_not_be_null:s": 1,  # e3 (mostly lets it pass; the row still moves)
        }
        assert by_name(outcome)["expect_column_values_to_not_be_null:s"].success
        moved = {r.event_id: list(r[REASONS]) for r in outcome.quarantine_df.collect()}
        assert moved == {
            "e1": ["expect_column_values_to_be_between:x"],
            "e2": ["expect_column_values_to_be_between:x", "y_at_least_1", "expect_column_values_to_be_in_set:s",
                   "expect_column_values_to_match_regex:code"],
            "e3": ["expect_column_values_to_be_unique:k", "expect_column_values_to_not_be_null:s"],
            "e4": ["expect_column_values_to_be_between:x", "expect_column_values_to_be_unique:k",
                   "expect_column_values_to_match_regex:code"],
            "e5": ["expect_column_values_to_match_regex:code"],
        }
        assert sorted(r.event_id for r in outcome.passed_df.collect()) == ["e0", "e6"]
        assert outcome.quarantined_count == 5
    finally:
        outcome.release()
