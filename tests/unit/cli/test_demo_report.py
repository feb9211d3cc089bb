"""`brain demo`'s report: what each part says, and the shape README's sample is compared by."""

from __future__ import annotations

from brain.cli import demo

FACTS = {
    "run_id": "run_20261204T230000Z_0123abcd", "seconds": 181.4,
    "window": {"start": "2026-12-04T06:00:00Z", "end": "2026-12-04T12:00:00Z", "seed": 12026120406,
               "windows_held_before": 0},
    "simulated": {"records": 2000, "bad": 60, "kinds": {"clean": 1920, "malformed_json": 6, "duplicate": 20}},
    "industries": [{"industry": "energy", "records_in": 1000, "silver": 990, "quarantined": 6, "duplicates": 4},
                   {"industry": "raw_materials", "records_in": 1000, "silver": 990, "quarantined": 0,
                    "duplicates": 10}],
    "quarantine_by_reason": {"malformed_json": 6},
    "reconcile": {"ok": True, "lost": 0, "doubled": 0, "orphans": 0, "gaps": 0, "pending": 0},
    "enterprise_day": "2026-12-04",
    "enterprise": [{"site": "en-1", "oee": None, "energy_kwh": 1234.5, "co2_t": 0.6789, "dq_score": 0.98,
                    "pdm_alerts": None},
                   {"site": "rm-1", "oee": 0.6512, "energy_kwh": None, "co2_t": None, "dq_score": 1.0,
                    "pdm_alerts": 2}],
    "dashboard": "reports/index.html", "dashboard_sections": {"kpis": True, "pdm": False},
    "data_docs": ".state/data_docs/index.html", "lot": "LOT-S1-sugar-000001",
    "next_window": "2026-12-04 00:00-06:00 UTC",
}


def test_the_report_says_what_happened():
    text = demo.render(FACTS)
    assert text.startswith("demo window 2026-12-04 06:00-12:00 UTC (seed 12026120406): the newest whole window")
    assert ("simulated 2,000 records for 2 industries, 60 with an injected fault (malformed_json 6, duplicate 20)"
            in text)
    assert "duplicates: 14 (counted in quality.duplicates, not in silver)" in text
    assert "reconcile: ok (0 lost, 0 doubled)" in text.splitlines()
    assert "total          2000        1980    6            14" in text
    assert "dashboard: reports/index.html (1 of 2 sections with data)" in text
    assert "  .venv/bin/brain trace --lot LOT-S1-sugar-000001" in text
    assert "  .venv/bin/brain quarantine show --reason malformed_json --limit 3" in text
    assert "again: adds the window 2026-12-04 00:00-06:00 UTC" in text


def test_enterprise_rows_show_percentages_and_dashes_for_what_a_site_does_not_have():
    rows = demo.enterprise_table(FACTS["enterprise"]).splitlines()
    assert rows[0].split() == ["site", "OEE", "energy", "kWh", "tCO2", "DQ", "score", "PdM", "alerts"]
    assert rows[2].split() == ["en-1", "-", "1,234", "0.68", "98.0", "%", "-"]
    assert rows[3].split() == ["rm-1", "65.1", "%", "-", "-", "100.0", "%", "2"]


def test_a_mismatch_is_loud_and_points_at_brain_reconcile():
    line = demo.reconcile_line({"ok": False, "lost": 3, "doubled": 0, "orphans": 0, "gaps": 2, "pending": 0})
    assert line == ("reconcile: MISMATCH (3 lost, 0 doubled, 2 gaps) - `brain reconcile` names each topic "
                    "and partition")


def test_shape_keeps_the_layout_and_drops_the_values():
    other = {**FACTS, "seconds": 99.0, "quarantine_by_reason": {"a": 1, "b:x": 2, "c": 3},
             "window": {**FACTS["window"], "seed": 7, "windows_held_before": 3},
             "enterprise": FACTS["enterprise"][:1], "lot": "LOT-S2-salt-000777"}
    assert demo.shape(demo.render(FACTS)) == demo.shape(demo.render(other))
    shape = demo.shape(demo.render(FACTS))
    assert shape[:3] == ["demo window", "simulated", "run"]
    assert "table: reason records" in shape and "reconcile:" in shape and "next:" in shape
    assert shape.count("rows") == 3


def test_shape_notices_a_missing_section():
    text = demo.render(FACTS)
    assert demo.shape(text.replace("reconcile: ok", "reconciled")) != demo.shape(text)
    assert demo.shape(demo.render({**FACTS, "enterprise": []})) != demo.shape(text)   # "(no rows)"
