"""Suite parsing and policy resolution: pure, no Spark (GX is imported to check expectations)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from brain.config import project_root
from brain.quality.gate import QualityGateFailed, enforce, gate_message
from brain.quality.gx_run import gx_suite_dict
from brain.quality.policy import PolicyError, expectation_name, resolve_policy
from brain.quality.results import result_rows, sql_string
from brain.quality.rowlevel import QUARANTINE_TYPES, unsupported_reason
from brain.quality.suites import SuiteError, load_suite, parse_suite, suite_path
from brain.quality.validate import ExpectationOutcome, ValidationOutcome, gx_error

ROOT = project_root()
ENERGY = ROOT / "expectations" / "silver.energy_meter.json"


def exp(type_: str, policy: str | None = None, **kwargs) -> dict:
    e = {"type": type_, "kwargs": kwargs}
    if policy:
        e["meta"] = {"policy": policy}
    return e


def suite(*exps: dict, name: str = "silver.t") -> dict:
    return {"name": name, "expectations": list(exps)}


# --- names and policies -------------------------------------------------------------------

def test_expectation_name_is_type_and_column():
    assert expectation_name("expect_column_values_to_be_between", {"column": "value"}) == \
        "expect_column_values_to_be_between:value"
    assert expectation_name("expect_column_pair_values_a_to_be_greater_than_b",
                            {"column_A": "a", "column_B": "b"}) == \
        "expect_column_pair_values_a_to_be_greater_than_b:a,b"
    assert expectation_name("expect_compound_columns_to_be_unique", {"column_list": ["a", "b"]}) == \
        "expect_compound_columns_to_be_unique:a,b"
    assert expectation_name("expect_table_row_count_to_be_between", {}) == "expect_table_row_count_to_be_between"
    assert expectation_name("expect_column_values_to_be_between", {"column": "v"}, {"name": "v_range"}) == "v_range"


def test_policy_config_beats_meta_beats_default():
    name = "expect_column_values_to_be_between:value"
    over = {"silver.t": {name: "fail"}}
    assert resolve_policy("silver.t", name, "quarantine", over) == "fail"
    assert resolve_policy("silver.t", name, "quarantine", {}) == "quarantine"
    assert resolve_policy("silver.other", name, "quarantine", over) == "quarantine"
    assert resolve_policy("silver.t", name, None, {}, default="fail") == "fail"
    assert resolve_policy("silver.t", name, None, None) == "warn"


@pytest.mark.parametrize("bad", ["block", "", "FAIL", 1])
def test_policy_must_be_known(bad):
    with pytest.raises(PolicyError, match="must be one of warn, quarantine, fail"):
        resolve_policy("silver.t", "x", bad, {})


# --- parsing ------------------------------------------------------------------------------

def test_energy_suite_parses_with_its_policies():
    s = parse_suite(json.loads(ENERGY.read_text()), expected_name="silver.energy_meter")
    policies = {r.name: r.policy for r in s.rules}
    assert policies["expect_column_values_to_not_be_null:event_id"] == "fail"
    assert policies["expect_column_values_to_be_between:value"] == "quarantine"
    assert policies["expect_column_values_to_be_between:power_factor"] == "warn"
    assert policies["expect_column_values_to_be_in_set:unit"] == "quarantine"
    unit = s.rule("expect_column_values_to_be_in_set:unit")
    assert sorted(unit.kwargs["value_set"]) == ["kWh", "m3", "t"]
    assert set(s.rule("expect_column_values_to_be_in_set:carrier").kwargs["value_set"]) == \
        {"electricity", "natural_gas", "coal", "steam"}
    assert all(r.policy in ("warn", "quarantine", "fail") for r in s.rules)


def test_load_suite_reads_config(base_cfg):
    s = load_suite(base_cfg, "silver.energy_meter")
    assert s.name == "silver.energy_meter" and s.source == str(ENERGY)
    assert suite_path(base_cfg, "silver.energy_meter") == ENERGY


def test_missing_suite_is_an_error(base_cfg):
    with pytest.raises(SuiteError, match="no expectation suite for silver.nothing_here"):
        load_suite(base_cfg, "silver.nothing_here")


def test_default_policy_applies_without_meta():
    s = parse_suite(suite(exp("expect_column_values_to_not_be_null", column="a")), default_policy="fail")
    assert s.rules[0].policy == "fail"


def test_config_override_changes_policy_and_must_name_a_real_expectation():
    raw = suite(exp("expect_column_values_to_not_be_null", "warn", column="a"))
    s = parse_suite(raw, overrides={"silver.t": {"expect_column_values_to_not_be_null:a": "quarantine"}})
    assert s.rules[0].policy == "quarantine"
    with pytest.raises(SuiteError, match="names no expectation"):
        parse_suite(raw, overrides={"silver.t": {"expect_column_values_to_not_be_null:b": "fail"}})


@pytest.mark.parametrize("raw, message", [
    ([], "must be a JSON object"),
    ({"expectations": [exp("expect_column_values_to_not_be_null", column="a")]}, "'name'"),
    ({"name": "silver.t", "expectations": []}, "non-empty list"),
    (suite(exp("expect_column_values_to_be_betwen", column="a")), "invalid for GX"),
    (suite(exp("expect_column_values_to_be_between", column="a", min_valu=1)), "invalid for GX"),
    (suite(exp("expect_column_values_to_not_be_null", "maybe", column="a")), "must be one of"),
    (suite(exp("expect_column_values_to_not_be_null", column="a"),
           exp("expect_column_values_to_not_be_null", column="a")), "both named"),
    (suite(exp("expect_column_mean_to_be_between", "quarantine", column="a", min_value=0)),
     "cannot use policy quarantine"),
    (suite(exp("expect_column_values_to_be_between", "quarantine", column="a", min_value={"$PARAMETER": "lo"})),
     "suite parameters"),
    (suite(exp("expect_column_values_to_not_be_null", "quarantine", column="a", row_condition='col("b")>0',
               condition_parser="spark")), "row_condition"),
])
def test_bad_suites_fail_loudly(raw, message):
    with pytest.raises(SuiteError, match=message):
        parse_suite(raw)


def test_suite_name_must_match_table():
    with pytest.raises(SuiteError, match="must equal the table name"):
        parse_suite(suite(exp("expect_column_values_to_not_be_null", column="a")), expected_name="silver.x")


def test_aggregate_expectations_may_warn_or_fail():
    s = parse_suite(suite(exp("expect_column_mean_to_be_between", "fail", column="a", min_value=0, max_value=9)))
    assert s.rules[0].policy == "fail"


def test_quarantine_support_table():
    assert set(QUARANTINE_TYPES) == {
        "expect_column_values_to_not_be_null", "expect_column_values_to_be_between",
        "expect_column_values_to_be_in_set", "expect_column_values_to_be_unique",
        "expect_column_values_to_match_regex"}
    assert unsupported_reason("expect_column_values_to_be_between", {"column": "a", "max_value": 1}) is None
    assert "both be null" in unsupported_reason("expect_column_values_to_be_between", {"column": "a"})
    assert "column" in unsupported_reason("expect_column_values_to_not_be_null", {})


def test_gx_gets_the_effective_policy():
    raw = suite(exp("expect_column_values_to_not_be_null", "warn", column="a"))
    s = parse_suite(raw, overrides={"silver.t": {"expect_column_values_to_not_be_null:a": "fail"}})
    assert gx_suite_dict(s)["expectations"][0]["meta"]["policy"] == "fail"
    assert raw["expectations"][0]["meta"]["policy"] == "warn"  # the reviewed file's dict is untouched


# --- results and the gate -----------------------------------------------------------------

def test_gx_error_reads_flat_and_per_metric_forms():
    assert gx_error({"raised_exception": False, "exception_message": None}) is None
    assert gx_error({"raised_exception": True, "exception_message": "boom"}) == "boom"
    nested = {"m1": {"raised_exception": True, "exception_message": 'column "x" does not exist'},
              "m2": {"raised_exception": False}}
    assert gx_error(nested) == 'column "x" does not exist'
    assert gx_error(None) is None


def _outcome(*results: ExpectationOutcome) -> ValidationOutcome:
    o = ValidationOutcome(run_id="r1", table_name="silver.t", suite_name="silver.t",
                          validated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), success=True, results=list(results),
                          passed_df=None, quarantine_df=None)
    o.success = not o.blocking
    return o


FAILED_FAIL = ExpectationOutcome("expect_column_values_to_be_between:value", "expect_column_values_to_be_between",
                                 "value", "fail", False, 10, 2, ("e-1", "e-2"))
FAILED_WARN = ExpectationOutcome("expect_column_values_to_be_in_set:quality", "expect_column_values_to_be_in_set",
                                 "quality", "warn", False, 10, 1, ("e-3",))


def test_enforce_passes_warn_failures():
    o = _outcome(FAILED_WARN)
    assert o.success and enforce(o) is o


def test_enforce_lists_failed_expectations_and_sample_ids():
    o = _outcome(FAILED_WARN, FAILED_FAIL)
    assert not o.success
    with pytest.raises(QualityGateFailed) as info:
        enforce(o)
    msg = str(info.value)
    assert "expect_column_values_to_be_between:value [fail]: 2 of 10 rows unexpected" in msg
    assert "e-1, e-2" in msg
    assert "quality" not in msg.split("\n", 1)[1]  # warn failures do not block and are not listed
    assert info.value.outcome is o
    assert gate_message(o) == msg


def test_errored_expectation_blocks_whatever_its_policy():
    err = ExpectationOutcome("expect_column_values_to_not_be_null:x", "expect_column_values_to_not_be_null", "x",
                             "warn", False, None, None, error='column "x" does not exist')
    o = _outcome(err)
    assert not o.success
    with pytest.raises(QualityGateFailed, match="could not be evaluated"):
        enforce(o)


def test_result_rows_one_per_expectation():
    rows = result_rows(_outcome(FAILED_WARN, FAILED_FAIL))
    assert [r[3] for r in rows] == [FAILED_WARN.name, FAILED_FAIL.name]
    assert rows[1][:2] == ("r1", "silver.t") and rows[1][9] == ["e-1", "e-2"] and rows[1][10] == "silver.t"


def test_sql_string_escapes_quotes_and_backslashes():
    assert sql_string("scheduled__2026-01-01T00:00:00+00:00") == "'scheduled__2026-01-01T00:00:00+00:00'"
    assert sql_string("it's\\x") == "'it\\'s\\\\x'"
