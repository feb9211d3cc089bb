"""Suites generated from the contracts and the asset registry: pure, no Spark (GX checks the expectations)."""

from __future__ import annotations

import argparse
import json
import os

import pytest

from brain import config
from brain.cli.quality import add_quality_arguments, run_quality
from brain.contracts import load_registry
from brain.lake.tables import silver_table
from brain.quality.generate import (
    configured_tables,
    generate_suite,
    industry_sensors,
    key_sensor,
    render,
    suite_status,
    write_suite,
)
from brain.quality.policy import FAIL, QUARANTINE, WARN
from brain.quality.rowlevel import unsupported_reason
from brain.quality.suites import parse_suite


@pytest.fixture(scope="module")
def cfg():
    return config.load()


def _cfg(**env: str):
    return config.load(environ={**os.environ, **env})


def _by_name(suite: dict) -> dict[str, dict]:
    parsed = parse_suite(suite, expected_name=suite["name"])
    return {r.name: r for r in parsed.rules}


def test_every_configured_table_gets_a_valid_lean_suite(cfg):
    tables = configured_tables(cfg)
    assert {t for _, _, t in tables} >= {"silver.raw_materials_telemetry", "silver.energy_meter",
                                          "silver.consumer_goods_material_genealogy"}
    for ind, rt, table in tables:
        suite = generate_suite(cfg, ind, rt)
        assert suite["name"] == table == silver_table(ind, rt)
        rules = _by_name(suite)  # strict loader: GX builds every expectation
        assert 6 <= len(rules) <= 12, (table, len(rules))
        assert rules["expect_column_values_to_not_be_null:event_id"].policy == FAIL
        assert rules["expect_column_values_to_be_unique:event_id"].policy == WARN
        assert sum(r.type == "expect_column_values_to_be_unique" for r in rules.values()) == 1
        for key in ("site", "device", "event_ts_utc"):
            assert rules[f"expect_column_values_to_not_be_null:{key}"].policy == QUARANTINE
        assert rules["freshness:event_ts_utc"].policy == WARN
        for r in rules.values():
            if r.policy == QUARANTINE:
                assert unsupported_reason(r.type, r.kwargs) is None, (table, r.name)
            if r.kwargs.get("row_condition"):
                assert r.policy == WARN, (table, r.name)


def test_quarantine_sets_restate_the_contract_so_no_valid_record_moves(cfg):
    from brain.contracts.specs import record_spec

    for ind, rt, _ in configured_tables(cfg):
        spec = record_spec(ind, rt)
        rules = _by_name(generate_suite(cfg, ind, rt))
        assert rules["expect_column_values_to_be_in_set:quality"].kwargs["value_set"] == ["GOOD", "UNCERTAIN", "BAD"]
        for f in spec.fields:
            if f.allowed and f.name != spec.unit_field:
                assert rules[f"expect_column_values_to_be_in_set:{f.name}"].kwargs["value_set"] == list(f.allowed)


def test_unit_sets_are_standard_units(cfg):
    reg = load_registry()
    tel = _by_name(generate_suite(cfg, "raw_materials", "telemetry"))
    assert tel["expect_column_values_to_be_in_set:unit"].kwargs["value_set"] == sorted(
        {s.unit for s in reg.sensors.values()})
    energy = _by_name(generate_suite(cfg, "energy", "energy_meter"))
    assert set(energy["expect_column_values_to_be_in_set:unit"].kwargs["value_set"]) == {"kWh", "m3", "t"}
    assert set(energy["expect_column_values_to_be_in_set:carrier"].kwargs["value_set"]) == {
        "electricity", "natural_gas", "coal", "steam"}
    gen = _by_name(generate_suite(cfg, "consumer_goods", "material_genealogy"))
    assert "pcs" in gen["expect_column_values_to_be_in_set:unit"].kwargs["value_set"]


def test_telemetry_normal_range_and_mean_come_from_the_registry(cfg):
    reg = load_registry()
    assert key_sensor(reg, "raw_materials") == "furnace_temp"
    rules = _by_name(generate_suite(cfg, "raw_materials", "telemetry"))
    rng = rules["normal_range:furnace_temp"]
    assert (rng.kwargs["min_value"], rng.kwargs["max_value"]) == reg.sensors["furnace_temp"].normal
    assert rng.kwargs["row_condition"] == {"type": "comparison", "column": {"name": "sensor"},
                                           "operator": "==", "parameter": "furnace_temp"}
    mean = rules["mean:furnace_temp"]
    assert (mean.kwargs["min_value"], mean.kwargs["max_value"]) == (1150.0, 1540.0)  # idle .. normal top
    assert rules["expect_column_values_to_be_in_set:sensor"].kwargs["value_set"] == \
        industry_sensors(reg, "raw_materials")


def test_normal_ranges_all_adds_one_check_per_sensor_except_counters():
    reg = load_registry()
    rules = _by_name(generate_suite(_cfg(BRAIN__QUALITY__GENERATE__NORMAL_RANGES="all"), "consumer_goods",
                                    "telemetry"))
    got = {n.split(":", 1)[1] for n in rules if n.startswith("normal_range:")}
    want = {s for s in industry_sensors(reg, "consumer_goods") if reg.sensors[s].normal != reg.sensors[s].instrument}
    assert got == want and "processed_count" not in got
    none = _by_name(generate_suite(_cfg(BRAIN__QUALITY__GENERATE__NORMAL_RANGES="none"), "consumer_goods",
                                   "telemetry"))
    assert not [n for n in none if n.startswith("normal_range:")]
    with pytest.raises(ValueError, match="normal_ranges"):
        generate_suite(_cfg(BRAIN__QUALITY__GENERATE__NORMAL_RANGES="some"), "consumer_goods", "telemetry")


def test_production_mean_bound_from_products(cfg):
    reg = load_registry()
    rules = _by_name(generate_suite(cfg, "consumer_goods", "production"))
    top = rules["expect_column_mean_to_be_between:produced"].kwargs["max_value"]
    assert top == round(reg.reporting["production_interval_s"] / 0.15 * 2)  # conditioner_250ml is fastest
    assert not [n for n in _by_name(generate_suite(cfg, "raw_materials", "machine_state"))
                if n.startswith("expect_column_mean")]


def test_committed_suites_match_the_generator(cfg, capsys):
    assert _run(cfg, "suites", "--check") == 0, capsys.readouterr().out


def _run(cfg, *argv: str) -> int:
    p = argparse.ArgumentParser()
    add_quality_arguments(p)
    return run_quality(p.parse_args(list(argv)), cfg)


def test_write_and_check_honour_hand_tuned(tmp_path, capsys):
    cfg = _cfg(BRAIN__QUALITY__SUITES_DIR=str(tmp_path))
    assert _run(cfg, "suites", "--check", "--industry", "energy") == 1  # missing
    assert _run(cfg, "suites", "--write", "--industry", "energy") == 0
    path = tmp_path / "silver.energy_meter.json"
    generated = generate_suite(cfg, "energy", "energy_meter")
    assert path.read_text() == render(generated)
    assert _run(cfg, "suites", "--check", "--industry", "energy") == 0

    edited = json.loads(path.read_text())
    edited["expectations"].pop()
    path.write_text(json.dumps(edited))
    assert suite_status(cfg, "silver.energy_meter", generated)[0] == "differs"
    assert _run(cfg, "suites", "--check", "--industry", "energy") == 1

    edited["meta"]["hand_tuned"] = True
    path.write_text(json.dumps(edited))
    assert _run(cfg, "suites", "--check", "--industry", "energy") == 0
    assert write_suite(cfg, "silver.energy_meter", generated)[0] == "hand_tuned"
    assert json.loads(path.read_text()) == edited  # never overwritten
    assert "hand-tuned" in capsys.readouterr().out


def test_quality_takes_record_specs_from_the_contracts_not_the_industries():
    """brain.industries imports gold's KPI modules; quality is a stage below gold."""
    import subprocess
    import sys

    code = ("import sys, brain.quality.generate, brain.quality.gate_release; "
            "print(sorted(m for m in sys.modules if m.startswith(('brain.industries', 'brain.gold'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
