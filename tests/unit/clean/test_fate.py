"""The fate of each record: pure transforms on small frames (local Spark, no Kafka)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import pytest

from brain.clean.dedupe import split_duplicates
from brain.clean.fate import Limits, classify, decode, parse, to_quarantine, to_silver
from brain.industries.energy import ENERGY_METER, daily_site_kwh

INGEST = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
LIMITS = Limits(max_payload_bytes=10_000, future_tolerance_s=300, late_horizon_days=30)


def meter(**over) -> dict:
    rec = {"schema_version": "1.0", "event_id": str(uuid.uuid4()), "record_type": "energy_meter",
           "industry": "energy", "enterprise": "acme", "site": "site-01", "area": "utilities",
           "line": "line-01", "device": "meter-01", "event_ts": "2026-11-28T10:00:00+08:00",
           "quality": "GOOD", "carrier": "electricity", "value": 12.5, "unit": "kWh", "interval_s": 900}
    rec.update(over)
    return {k: v for k, v in rec.items() if v is not _DROP}


_DROP = object()


def bronze(spark, payloads: list[bytes | None]):
    rows = [(p, None, "energy.energy_meter", 0, i, INGEST, INGEST) for i, p in enumerate(payloads)]
    return spark.createDataFrame(
        rows, "payload binary, key binary, topic string, partition int, offset long, kafka_ts timestamp, "
              "ingest_ts timestamp")


def enc(rec: dict) -> bytes:
    return json.dumps(rec).encode()


def reasons(spark, payloads) -> list:
    df = classify(parse(decode(bronze(spark, payloads)), ENERGY_METER), ENERGY_METER, LIMITS)
    return [r["reason"] for r in df.orderBy("offset").select("reason").collect()]


def test_good_record_passes_and_is_typed(spark):
    df = classify(parse(decode(bronze(spark, [enc(meter())])), ENERGY_METER), ENERGY_METER, LIMITS)
    row = to_silver(df, ENERGY_METER).collect()[0]
    assert row["value"] == 12.5 and row["unit"] == "kWh" and row["source_unit"] == "kWh"
    assert row["event_ts_utc"] == datetime(2026, 11, 28, 2, 0)  # +08:00 -> UTC (session tz is UTC)
    assert str(row["event_date"]) == "2026-11-28"
    assert row["_topic"] == "energy.energy_meter" and row["_offset"] == 0


def test_epoch_millis_and_units_are_normalised(spark):
    epoch = int(datetime(2026, 11, 27, 6, 30, tzinfo=timezone.utc).timestamp() * 1000)
    payload = enc(meter(event_ts=epoch, value=1.25, unit="MWh"))
    df = classify(parse(decode(bronze(spark, [payload])), ENERGY_METER), ENERGY_METER, LIMITS)
    row = to_silver(df, ENERGY_METER).collect()[0]
    assert row["value"] == pytest.approx(1250.0) and row["unit"] == "kWh" and row["source_unit"] == "MWh"
    assert row["event_ts_utc"] == datetime(2026, 11, 27, 6, 30)


@pytest.mark.parametrize("payload,reason", [
    (b"\xff\xfe\x00garbage", "non_utf8"),
    (b"{not json", "malformed_json"),
    (b"[1, 2, 3]", "malformed_json"),
    (b"", "malformed_json"),
    (None, "malformed_json"),
    (enc(meter(site=_DROP)), "missing_field:site"),
    (enc(meter(device="  ")), "missing_field:device"),
    (enc(meter(schema_version="2.0")), "schema_mismatch"),
    (enc(meter(record_type="telemetry")), "wrong_topic"),
    (enc(meter(value="twelve")), "wrong_type:value"),
    (enc(meter(event_ts=True)), "wrong_type:event_ts"),
    (enc(meter(value={"nested": [1, 2]})), "wrong_type:value"),
    (enc(meter(event_id="../../etc/passwd")), "invalid_id:event_id"),
    (enc(meter(site="x'; DROP TABLE silver;--")), "invalid_id:site"),
    (enc(meter(quality="EXCELLENT")), "invalid_value:quality"),
    (enc(meter(carrier="plutonium")), "invalid_value:carrier"),
    (enc(meter(unit="furlongs")), "unknown_unit"),
    (enc(meter(unit="m3")), "unknown_unit"),  # a real unit, but not for electricity
    (enc(meter(event_ts="2026-11-28T10:00:00")), "bad_timestamp"),  # no offset: ambiguous
    (enc(meter(event_ts="yesterday")), "bad_timestamp"),
    (enc(meter(event_ts="2026-11-28T13:00:00Z")), "future_timestamp"),
    (enc(meter(event_ts="2026-09-01T00:00:00Z")), "late_beyond_horizon"),
    (enc(meter(value=-3)), "out_of_range:value"),
    (b'{"schema_version":"1.0","value":12}', "missing_field:event_id"),
    (enc(meter(power_factor=1.7)), "out_of_range:power_factor"),
    (b"{" + b'"a":' * 0 + b'"pad":"' + b"x" * 20_000 + b'"}', "oversized"),
])
def test_each_bad_record_gets_one_clear_reason(spark, payload, reason):
    assert reasons(spark, [payload]) == [reason]


def test_nan_and_infinity_are_not_json(spark):
    # Python's json module writes NaN/Infinity, but they are not JSON.
    good = meter()
    nan = enc(good).replace(b'"value": 12.5', b'"value": NaN')
    inf = enc(good).replace(b'"value": 12.5', b'"value": -Infinity')
    assert reasons(spark, [nan, inf]) == ["malformed_json", "malformed_json"]


@pytest.mark.parametrize("field,value", [
    ("value", "12.5"),        # a quoted number
    ("interval_s", 900.5),    # a fraction for an integer
    ("site", 7),              # a number for a string
    ("quality", ["GOOD"]),    # a list for a string
    ("interval_s", True),     # a boolean for a number
    ("event_ts", "1764324000000"),  # epoch milliseconds, quoted
])
def test_json_types_are_checked_strictly(spark, field, value):
    assert reasons(spark, [enc(meter(**{field: value}))]) == [f"wrong_type:{field}"]


def test_deeply_nested_json_is_quarantined_not_a_crash(spark):
    deep = b'{"schema_version":"1.0","value":' + b"[" * 5000 + b"]" * 5000 + b"}"
    assert reasons(spark, [deep])[0] is not None


def test_quarantine_rows_keep_payload_and_coordinates(spark):
    df = classify(parse(decode(bronze(spark, [b"junk", enc(meter())])), ENERGY_METER), ENERGY_METER, LIMITS)
    q = to_quarantine(df, ENERGY_METER).collect()
    assert len(q) == 1
    assert (q[0]["reason"], bytes(q[0]["payload"]), q[0]["topic"], q[0]["partition"], q[0]["offset"]) == (
        "malformed_json", b"junk", "energy.energy_meter", 0, 0)


@pytest.mark.parametrize("small", [False, True], ids=["shuffled", "broadcast"])
def test_duplicates_within_batch_and_against_silver(spark, small):
    from pyspark.sql import functions as F

    a, b, other = meter(), meter(), meter()
    resent = enc(a)
    df = classify(parse(decode(bronze(spark, [enc(a), enc(b), resent])), ENERGY_METER), ENERGY_METER, LIMITS)
    valid = to_silver(df, ENERGY_METER)
    new, dups = split_duplicates(valid, None, small)
    assert sorted(r["_offset"] for r in new.collect()) == [0, 1]
    assert [r["_offset"] for r in dups.collect()] == [2]

    # Against silver: a stored under offset 0 (and a record of another batch). Replaying offsets 0..2
    # inserts nothing, and only offset 2 is a duplicate (offset 0 is the same record).
    elsewhere = to_silver(classify(parse(decode(bronze(spark, [enc(other)])), ENERGY_METER), ENERGY_METER, LIMITS),
                          ENERGY_METER).withColumn("_offset", F.lit(99).cast("long"))
    stored = valid.where("_offset = 0").unionByName(elsewhere)
    new2, dups2 = split_duplicates(valid, stored, small)
    assert sorted(r["_offset"] for r in new2.collect()) == [1]
    assert [r["_offset"] for r in dups2.collect()] == [2]


def test_daily_kwh_excludes_bad_readings_and_counts_them(spark):
    recs = [meter(value=10.0), meter(value=0.02, unit="MWh"), meter(value=99.0, quality="BAD"),
            meter(value=5.0, quality="UNCERTAIN"), meter(site="site-02", value=7.0)]
    df = classify(parse(decode(bronze(spark, [enc(r) for r in recs])), ENERGY_METER), ENERGY_METER, LIMITS)
    gold = {r["site"]: r for r in daily_site_kwh(to_silver(df, ENERGY_METER)).collect()}
    assert gold["site-01"]["electricity_kwh"] == pytest.approx(35.0)
    assert (gold["site-01"]["readings"], gold["site-01"]["uncertain_readings"],
            gold["site-01"]["bad_readings_excluded"]) == (3, 1, 1)
    assert gold["site-02"]["electricity_kwh"] == pytest.approx(7.0)


def test_columns_built_once_per_spec_are_reused_but_never_across_limits_specs_or_units(spark, monkeypatch):
    """parse and classify build their Columns once per spec, units and limits (brain.clean.fate._built):
    a second batch reuses them; other limits, another spec or a unit learnt since get their own."""
    from dataclasses import replace

    from brain.clean import fate

    ten_days_old = enc(meter(event_ts="2026-11-18T10:00:00+08:00"))
    assert reasons(spark, [ten_days_old]) == [None]
    built = dict(fate._BUILT)
    assert reasons(spark, [ten_days_old]) == [None]
    assert fate._BUILT == built  # nothing rebuilt for the second batch
    strict = replace(LIMITS, late_horizon_days=5)
    df = classify(parse(decode(bronze(spark, [ten_days_old])), ENERGY_METER), ENERGY_METER, strict)
    assert [r["reason"] for r in df.select("reason").collect()] == ["late_beyond_horizon"]
    other = replace(ENERGY_METER, contract_version="2.0")
    df = classify(parse(decode(bronze(spark, [ten_days_old])), other), other, LIMITS)
    assert [r["reason"] for r in df.select("reason").collect()] == ["schema_mismatch"]
    # The contract learns GWh in this process (as `brain quarantine replay` after a contract change).
    gwh = enc(meter(value=0.002, unit="GWh"))
    assert reasons(spark, [gwh]) == ["unknown_unit"]
    from brain.contracts import units
    monkeypatch.setitem(units.CONVERSIONS, "GWh", units.Conversion("kWh", 1e6))
    monkeypatch.setitem(units.CARRIER_UNITS, "electricity", (*units.CARRIER_UNITS["electricity"], "GWh"))
    df = classify(parse(decode(bronze(spark, [gwh])), ENERGY_METER), ENERGY_METER, LIMITS)
    assert [(r["reason"], r["_std_value"]) for r in df.select("reason", "_std_value").collect()] == [(None, 2000.0)]


def test_json_types_each_field_type_accepts(spark):
    """What schema_of_variant may name a value, per field type: numbers of any width for a double (a
    decimal of any scale too), whole numbers only for an integer (a decimal of scale 0: 12.0 written
    as 12.0 is a DECIMAL(3,1), refused), strings only for a string."""
    import re

    from pyspark.sql import functions as F

    from brain.clean.fate import json_type_ok

    spec = {  # the rule as regexes over the whole name: an independent statement of it
        "string": r"STRING", "boolean": r"BOOLEAN", "array<string>": r"ARRAY<(STRING|VOID)>",
        "timestamp": r"STRING|BIGINT|INT|SMALLINT|TINYINT",
        "double": r"BIGINT|INT|SMALLINT|TINYINT|DOUBLE|FLOAT|DECIMAL\(\d+,\d+\)",
        "long": r"BIGINT|INT|SMALLINT|TINYINT|DECIMAL\(\d+,0\)", "int": r"BIGINT|INT|SMALLINT|TINYINT|DECIMAL\(\d+,0\)"}
    names = ["STRING", "BOOLEAN", "BIGINT", "INT", "SMALLINT", "TINYINT", "DOUBLE", "FLOAT", "DECIMAL(3,1)",
             "DECIMAL(20,0)", "DECIMAL(12,10)", "ARRAY<STRING>", "ARRAY<VOID>", "ARRAY<BIGINT>", "OBJECT<a: INT>",
             "VOID", "DATE", "STRINGS", "XSTRING"]
    row = spark.range(1).select(*[json_type_ok(F.lit(n), t).alias(f"{t}|{n}") for t in spec for n in names]).first()
    got = {k: v for k, v in row.asDict().items()}
    want = {f"{t}|{n}": bool(re.fullmatch(spec[t], n)) for t in spec for n in names}
    assert got == want
