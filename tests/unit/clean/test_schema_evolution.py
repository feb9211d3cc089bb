"""Additive contract versions: the spec, the records' fates and the silver table's columns."""

from __future__ import annotations

import uuid

import pytest

from brain.clean.fate import classify, decode, parse, to_silver, undeclared_fields
from brain.clean.schema_evolution import (
    CONTRACT_PROPERTY,
    BreakingSchemaChange,
    NewColumn,
    columns_to_add,
    evolve,
    newer_version,
)
from brain.contracts.specs import record_spec
from tests.contract_versions import add_meter_version, copy_conf
from tests.unit.clean.test_fate import LIMITS, bronze, enc, meter

SERIAL = {"meter_serial": {"type": "string", "description": "Nameplate serial of the meter."}}


# ---- pure ---------------------------------------------------------------------------------------

def test_new_columns_follow_the_column_before_them_in_the_rows():
    table = [("event_id", "string"), ("value", "double"), ("_run_id", "string")]
    rows = [("event_id", "string"), ("value", "double"), ("serial", "string"), ("tags", "array<string>"),
            ("_run_id", "string")]
    assert columns_to_add(table, rows) == [NewColumn("serial", "string", "value"),
                                           NewColumn("tags", "array<string>", "serial")]
    assert columns_to_add(rows, rows) == []
    assert columns_to_add(rows, table) == []  # rows of an older contract: the table keeps its columns
    assert columns_to_add(table, [("first", "int")] + table) == [NewColumn("first", "int", None)]


def test_a_column_of_another_type_is_refused_not_evolved():
    with pytest.raises(BreakingSchemaChange, match="value double -> string"):
        columns_to_add([("value", "double")], [("value", "string"), ("serial", "string")])


def test_the_recorded_contract_version_only_moves_forward():
    assert newer_version("1.1", "1.0") and newer_version("1.10", "1.9") and newer_version("1.0", None)
    assert not newer_version("1.0", "1.1") and not newer_version("1.1", "1.1")


# ---- records under a 1.1 contract (local Spark) --------------------------------------------------

@pytest.fixture
def v11(tmp_path):
    contracts = copy_conf(tmp_path / "conf") / "contracts"
    add_meter_version(contracts, "1.1", SERIAL)
    return record_spec("energy", "energy_meter", contracts)


def _judge(spark, spec, records: list[dict]):
    return classify(parse(decode(bronze(spark, [enc(r) for r in records])), spec), spec, LIMITS).orderBy("offset")


def test_a_minor_version_adds_an_optional_silver_column(spark, v11):
    assert v11.contract_version == "1.1"
    assert next(f for f in v11.envelope if f.name == "schema_version").allowed == ("1.0", "1.1")
    serial = next(f for f in v11.fields if f.name == "meter_serial")
    assert (serial.type, serial.required) == ("string", False)

    records = [meter(), meter(schema_version="1.1", meter_serial="EM-4711"),
               meter(schema_version="1.1", meter_serial=4711), meter(schema_version="2.0", meter_serial="x"),
               meter(schema_version="1.2")]
    judged = _judge(spark, v11, records)
    assert [r["reason"] for r in judged.select("reason").collect()] == [
        None, None, "wrong_type:meter_serial", "schema_mismatch", "invalid_value:schema_version"]
    silver = to_silver(judged, v11)
    assert silver.columns.index("meter_serial") == silver.columns.index("power_factor") + 1
    assert [(r["schema_version"], r["meter_serial"]) for r in silver.collect()] == [("1.0", None),
                                                                                  ("1.1", "EM-4711")]


def test_a_field_no_contract_declares_is_named_not_silently_dropped(spark, v11):
    records = [meter(schema_version="1.1", meter_serial="EM-1", firmware="3.2"), meter()]
    judged = _judge(spark, v11, records)
    rows = judged.select("reason", undeclared_fields(v11).alias("extra")).collect()
    assert [(r["reason"], r["extra"]) for r in rows] == [(None, ["firmware"]), (None, [])]
    assert "firmware" not in to_silver(judged, v11).columns


def test_a_major_version_quarantines_the_old_major_as_schema_mismatch(spark, tmp_path):
    contracts = copy_conf(tmp_path / "conf") / "contracts"
    add_meter_version(contracts, "1.1", SERIAL)
    add_meter_version(contracts, "2.0", SERIAL, required=("meter_serial",))
    spec = record_spec("energy", "energy_meter", contracts)
    assert (spec.contract_version, spec.contract_major) == ("2.0", "2")
    records = [meter(), meter(schema_version="1.1", meter_serial="EM-1"),
               meter(schema_version="2.0", meter_serial="EM-1"), meter(schema_version="2.0")]
    assert [r["reason"] for r in _judge(spark, spec, records).select("reason").collect()] == [
        "schema_mismatch", "schema_mismatch", None, "missing_field:meter_serial"]


# ---- the table (local Delta) ---------------------------------------------------------------------

def test_evolve_adds_missing_columns_in_place_records_the_version_and_is_idempotent(spark, tmp_path):
    from delta.tables import DeltaTable

    path = str(tmp_path / f"t{uuid.uuid4().hex[:6]}")
    old = spark.createDataFrame([("a", 1.0, "r1")], "event_id string, value double, _run_id string")
    old.write.format("delta").save(path)
    spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ('{CONTRACT_PROPERTY}' = '1.0')")
    new = spark.createDataFrame([("b", 2.0, "EM-1", "r2")],
                                "event_id string, value double, meter_serial string, _run_id string")

    assert evolve(spark, path, new.schema, "1.1") == [NewColumn("meter_serial", "string", "value")]
    assert evolve(spark, path, new.schema, "1.1") == []
    new.write.format("delta").mode("append").save(path)
    table = DeltaTable.forPath(spark, path)
    assert table.toDF().columns == ["event_id", "value", "meter_serial", "_run_id"]
    assert {r["event_id"]: r["meter_serial"] for r in table.toDF().collect()} == {"a": None, "b": "EM-1"}
    assert table.detail().first()["properties"][CONTRACT_PROPERTY] == "1.1"
    # A writer still on 1.0 (rows without the column) neither drops it nor lowers the version.
    assert evolve(spark, path, old.schema, "1.0") == []
    assert table.detail().first()["properties"][CONTRACT_PROPERTY] == "1.1"
