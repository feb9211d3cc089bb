"""Pure parts of the quality gate, gold suites and offline Data Docs (no Spark, no GX run)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from brain.quality.docs_assets import CDN_FILES, remote_references, rewrite_page
from brain.quality.gate import (
    ACCEPT,
    CLOSE,
    RELEASE_QUARANTINE,
    PublishBlocked,
    blocked_result,
    raise_if_blocked,
    state_from_events,
)
from brain.quality.gold_suites import gold_suite

RULE = "expect_column_values_to_be_between:value"


def closing(at: str, run: str, sample=("e-1",)) -> dict:
    detail = [{"table": "silver.energy_meter", "suite": "silver.energy_meter", "run_ids": [run],
               "failed": [{"name": RULE, "type": "expect_column_values_to_be_between", "policy": "fail",
                           "unexpected_count": 1, "element_count": 3, "observed": None, "error": None,
                           "sample": list(sample)}]}]
    return {"industry": "energy", "action": CLOSE, "is_open": False, "run_id": run, "detail": json.dumps(detail),
            "actor": "validation", "reason": None, "at": datetime.fromisoformat(at)}


def opening(at: str, action: str = ACCEPT) -> dict:
    return {"industry": "energy", "action": action, "is_open": True, "run_id": None, "detail": "[]",
            "actor": "ops", "reason": "checked", "at": datetime.fromisoformat(at)}


def test_gate_is_open_without_events_and_after_a_release():
    assert state_from_events("energy", []).is_open
    state = state_from_events("energy", [opening("2026-11-02T00:00"), closing("2026-11-01T00:00", "r1")])
    assert state.is_open and state.last_opened["action"] == ACCEPT  # order by time, not by list position


def test_closures_accumulate_until_released_and_only_later_ones_count():
    events = [closing("2026-11-01T00:00", "r1"), opening("2026-11-02T00:00", RELEASE_QUARANTINE),
              closing("2026-11-03T00:00", "r2"), closing("2026-11-04T00:00", "r3", sample=("e-9",))]
    state = state_from_events("energy", events)
    assert not state.is_open
    assert [c["run_id"] for c in state.closures] == ["r2", "r3"]
    assert state.failed_tables() == {
        "silver.energy_meter": {"run_ids": {"r2", "r3"}, "expectations": {RULE: "expect_column_values_to_be_between"}}}
    text = state.describe()
    assert "CLOSED" in text and "r2" in text and "e-9" in text and "r1" not in text
    assert "--release --quarantine-failed" in text and "--accept" in text


def test_blocked_industries_fail_the_metrics_task_after_the_others_published():
    state = state_from_events("energy", [closing("2026-11-01T00:00", "r1")])
    published = {"energy": [blocked_result(state)], "raw_materials": [{"table": "gold.x", "days": [], "rows": 0}]}
    assert published["energy"][0]["failed"] == [RULE] and published["energy"][0]["closed_by_runs"] == ["r1"]
    with pytest.raises(PublishBlocked, match="1 industry") as info:
        raise_if_blocked(published)
    assert "energy: CLOSED" in str(info.value)
    raise_if_blocked({"raw_materials": published["raw_materials"]})  # nothing blocked: no raise


def test_data_docs_pages_point_at_local_copies_relative_to_each_page():
    url = "https://code.jquery.com/jquery-3.7.1.min.js"
    popper = "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js"
    html = (f'<script src="{url}"></script>\n<script src="{popper}" integrity="sha384-x" '
            f'crossorigin="anonymous"></script>\n<script src="https://example.org/new.js"></script>'
            '<img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png?d=1&id=x"/>')
    site = Path("/site")
    out = rewrite_page(html, site / "validations" / "a" / "b", site / "static" / "vendor")
    assert '<script src="../../../static/vendor/jquery/dist/jquery.min.js"></script>' in out
    assert '<script src="../../../static/vendor/popper.js/dist/umd/popper.min.js"></script>' in out
    assert '<img src="../../../static/images/logo-long.png"/>' in out  # no call home with the context id
    assert remote_references(out) == ["https://example.org/new.js"]  # unknown ones are reported, not hidden
    assert all(u.startswith("https://") for u in CDN_FILES)


def test_gold_suite_checks_keys_ratios_and_counts():
    suite = gold_suite("gold.x_oee_daily_line", [("site", "string"), ("line", "string"), ("event_date", "date"),
                                                 ("oee", "double"), ("produced", "bigint"), ("pot_s", "double"),
                                                 ("mtbf_s", "double"), ("note", "string")])
    got = [(e["type"], tuple(sorted(e["kwargs"].items()))) for e in suite["expectations"]]
    between = "expect_column_values_to_be_between"
    assert got == [
        ("expect_column_values_to_not_be_null", (("column", "site"),)),
        ("expect_column_values_to_not_be_null", (("column", "line"),)),
        ("expect_column_values_to_not_be_null", (("column", "event_date"),)),
        ("expect_compound_columns_to_be_unique", (("column_list", ["site", "line", "event_date"]),)),
        (between, (("column", "oee"), ("max_value", 1), ("min_value", 0))),
        (between, (("column", "produced"), ("min_value", 0))),
        (between, (("column", "pot_s"), ("min_value", 0))),
        (between, (("column", "mtbf_s"), ("min_value", 0))),
    ]
    assert {e["meta"]["policy"] for e in suite["expectations"]} == {"warn"}
