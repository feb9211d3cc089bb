"""Parse once: the quick view plus the diagnosis of what it does not pass judges every record exactly
as the diagnosis alone does (brain.clean.fate: classify vs diagnose).

The diagnosis on every row is the oracle: it is the check table as every record was judged
before the quick view existed, pinned by test_fate.py, test_record_specs.py and the fault suite.
The rows are hostile on purpose: every field of five record specs (numbers, ints, booleans,
strings, enums, timestamps, a list, a nullable-but-present field) takes each value of a list of
wrong and borderline JSON values, and whole payloads are broken in the ways producers break them.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import pytest

from brain.clean.fate import (
    Limits,
    classify,
    decode,
    diagnose,
    parse,
    to_silver,
    undeclared_fields,
)
from brain.industries import consumer_goods, energy, raw_materials

INGEST = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
LIMITS = Limits(max_payload_bytes=20_000, future_tolerance_s=300, late_horizon_days=30)
EPOCH_MS = int(datetime(2026, 11, 28, 7, 0, tzinfo=timezone.utc).timestamp() * 1000)


def envelope(industry: str, record_type: str, **fields) -> dict:
    rec = {"schema_version": "1.0", "event_id": str(uuid.UUID(int=7)), "record_type": record_type,
           "industry": industry, "enterprise": "acme", "site": "site-01", "area": "a1", "line": "line-01",
           "device": "dev-01", "event_ts": "2026-11-28T08:00:00Z", "quality": "GOOD"}
    return {**rec, **fields}


SPECS = {
    "energy_meter": (energy.ENERGY_METER, envelope(
        "energy", "energy_meter", carrier="electricity", value=12.5, unit="kWh", interval_s=900,
        demand_kw=3.5, power_factor=0.9)),
    "telemetry": (raw_materials.RECORD_SPECS["telemetry"], envelope(
        "raw_materials", "telemetry", sensor="furnace_temp", value=2732.0, unit="degF")),
    "machine_state": (raw_materials.RECORD_SPECS["machine_state"], envelope(
        "raw_materials", "machine_state", state="DOWN", reason_code="BEARING_FAILURE", planned=False,
        operator_id="op-7")),
    "production": (consumer_goods.RECORD_SPECS["production"], envelope(
        "consumer_goods", "production", order_id="o1", batch_id="b1", product="gear", planned_cycle_time_s=30.0,
        produced=100, good=95, scrap=3, rework=2, start_ts=EPOCH_MS, end_ts="2026-11-28T16:00:00+08:00",
        count_unit="pcs")),
    "quality_inspection": (consumer_goods.RECORD_SPECS["quality_inspection"], envelope(
        "consumer_goods", "quality_inspection", batch_id="b1", inspected=10, passed=9,
        defect_codes=["SEAL_LEAK"], product="gear")),
}

_DROP = object()
# Each field takes each of these (the JSON types, the borderline numbers, blank and quoted forms).
FIELD_VALUES = [_DROP, None, "", "  ", "x", 7, -3, 0, 12.0, 7.5, 1e-9, 1e300, 2**31, 2**63, -(2**63), 10**30,
                "7", "7.5", "12.5kW", True, "true", [], ["x"], ["x", 1], [None], {"a": 1}, "../../etc/passwd",
                "2026-11-28T10:00:00Z", "2026-11-28T10:00:00", "2026-12-28T10:00:00Z", "2026-09-01T00:00:00Z",
                EPOCH_MS, str(EPOCH_MS), EPOCH_MS + 0.5, "1.0", "2.0", "1.3", 1.0, "MWh", "m3", "furlongs",
                "electricity", "GOOD", "EXCELLENT", "degC", "ppm"]


def hostile_payloads(base: dict) -> list[bytes | None]:
    """The base record (valid), each field set to each of FIELD_VALUES, and whole-payload breakage."""
    text = json.dumps(base)
    out: list[bytes | None] = [text.encode()]
    for name in base:
        for value in FIELD_VALUES:
            rec = {k: v for k, v in {**base, name: value}.items() if v is not _DROP}
            out.append(json.dumps(rec).encode())
    first = next(iter(base))
    out += [
        text.replace(": ", ":").encode(), " \n\t".encode() + text.encode() + b"\n",  # whitespace
        (text + " trailing junk").encode(), (text + "}").encode(), (text + text).encode(),  # trailing junk
        ('{"%s": %s, ' % (first, json.dumps(base[first])) + text[1:]).encode(),  # a key twice, same value
        ('{"%s": "zz", ' % first + text[1:]).encode(),  # a key twice, another value first
        (text[:-1] + ', "%s": "zz"}' % first).encode(),  # ... and last
        (text[:-1] + ', "firmware": "3.2"}').encode(),  # an undeclared key
        (text[:-1] + ', "firmware": {"a": 1, "a": 2}}').encode(),  # ... holding a repeated key
        (text[:-1] + ', "firmware": [1, NaN]}').encode(),  # ... holding a NaN
        (text[:-1] + ', "firmware": ' + "[" * 600 + "]" * 600 + "}").encode(),  # ... nested deep
        (text[:-1] + ', "Quality": "GOOD"}').encode(),  # another case of a declared key
        (text[:-1] + ', "\\u0071uality": "GOOD"}').encode(),  # a declared key, escaped, twice
        text.replace('"1.0"', "1.0").encode(), text.replace('"1.0"', "'1.0'").encode(),  # schema_version unquoted
        text.replace(", ", ", // c\n", 1).encode(),  # a comment
        "\ufeff".encode() + text.encode(),  # a byte-order mark
        text.encode("utf-16"), text.encode()[:-1], text.encode()[:20],  # other encodings, cut short
        b"[" + text.encode() + b"]", b'"just a string"', b"42", b"null", b"{}", b"", None, b"\xff\xfe\x00",
        ("{" + '"pad": "' + "x" * 30_000 + '"}').encode(),  # oversized
        (text[:-1] + ', "pad": "' + "x" * 15_000 + '"}').encode(),  # large, not oversized
    ]
    for name, value in base.items():  # numbers written in every JSON form, in every field
        for form in ("NaN", "Infinity", "-Infinity", "1e400", "-1e400", "-0", "-0.0", "1E2", "1E+2", "12.50",
                     "01", "0x10", "+1", ".5", "1.", '"NaN"', "1" * 40, "0." + "0" * 30 + "1", "true", "null"):
            out.append(text.replace(f'"{name}": {json.dumps(value)}', f'"{name}": {form}', 1).encode())
        if isinstance(value, str):  # escapes and control characters in strings
            for form in ('"\\u0041"', '"a\\tb"', '"a\tb"', '"\\ud800"', '"\\udc00x"', '"\\ud83d\\ude00"',
                         '"\\q"', '" x "', '"\\u0000"', '"?"', '"7"', '"-1.5e3"', '"true"', '"[1]"', '"{}"'):
                out.append(text.replace(f'"{name}": {json.dumps(value)}', f'"{name}": {form}', 1).encode())
    return out


def frame(spark, payloads):
    rows = [(p, None, "t", 0, i, INGEST, INGEST) for i, p in enumerate(payloads)]
    return spark.createDataFrame(rows, "payload binary, key binary, topic string, partition int, offset long, "
                                       "kafka_ts timestamp, ingest_ts timestamp")


def _row(r) -> tuple:
    return tuple(r)


@pytest.mark.parametrize("name", list(SPECS))
def test_the_quick_view_and_its_diagnosis_judge_every_record_as_the_diagnosis_alone(spark, name):
    spec, base = SPECS[name]
    payloads = hostile_payloads(base)
    decoded = decode(frame(spark, payloads))
    new = classify(parse(decoded, spec), spec, LIMITS).localCheckpoint()
    oracle = diagnose(decoded, spec, LIMITS).localCheckpoint()

    got = {r["offset"]: (r["reason"], r["_fast"]) for r in new.select("offset", "reason", "_fast").collect()}
    want = {r["offset"]: r["reason"] for r in oracle.select("offset", "reason").collect()}
    differ = {i: (payloads[i][:160] if payloads[i] else payloads[i], got[i][0], want[i])
              for i in want if got[i][0] != want[i]}
    assert differ == {}

    # A valid record's silver row is the same, value for value (ints-as-doubles, epoch ms, units, blanks).
    cols = to_silver(new, spec).columns
    assert sorted(map(_row, to_silver(new, spec).collect()), key=lambda r: r[cols.index("_offset")]) == sorted(
        map(_row, to_silver(oracle, spec).collect()), key=lambda r: r[cols.index("_offset")])

    # The quick view really decides: the plain record and most valid variants pass it without
    # the diagnosis, and a row it passes is one the diagnosis finds valid (checked above).
    fast = {i for i, (_, f) in got.items() if f}
    valid = {i for i, w in want.items() if w is None}
    assert 0 in fast and fast <= valid
    assert len(fast) >= 0.6 * len(valid), (len(fast), len(valid))


# The same mix with provenance checked: the base records' place registered (a made-up registry:
# the checks are pure functions of it) and every row read from its site's own topic, so each hostile
# location value meets site_mismatch or unknown_asset:<level> in both views.
PLACE = ("acme", "site-01", "a1", "line-01", "dev-01")
REGISTERED = Limits(max_payload_bytes=20_000, future_tolerance_s=300, late_horizon_days=30,
                    assets=tuple(sorted({(spec.industry, *PLACE) for spec, _ in SPECS.values()}
                                        | {(spec.industry, *PLACE[:4], "dev-02") for spec, _ in SPECS.values()})))


@pytest.mark.parametrize("name", list(SPECS))
def test_both_views_agree_with_provenance_checked_on_a_site_topic(spark, name):
    spec, base = SPECS[name]
    payloads = hostile_payloads(base) + [json.dumps({**base, "device": "dev-02"}).encode(),
                                         json.dumps({**base, "device": "dev-03"}).encode(),
                                         json.dumps({**base, "site": "site-02"}).encode()]
    topic = f"{spec.industry}.site.site-01.{spec.record_type}"
    rows = [(p, None, topic, 0, i, INGEST, INGEST) for i, p in enumerate(payloads)]
    decoded = decode(spark.createDataFrame(rows, "payload binary, key binary, topic string, partition int, "
                                                 "offset long, kafka_ts timestamp, ingest_ts timestamp"))
    got = {r["offset"]: r["reason"] for r in classify(parse(decoded, spec), spec, REGISTERED)
           .select("offset", "reason").collect()}
    want = {r["offset"]: r["reason"] for r in diagnose(decoded, spec, REGISTERED).select("offset", "reason").collect()}
    assert {i: (got[i], want[i]) for i in want if got[i] != want[i]} == {}
    n = len(payloads)
    assert (want[0], want[n - 3], want[n - 2], want[n - 1]) == (None, None, "unknown_asset:device", "site_mismatch")
    assert {"unknown_asset:enterprise", "unknown_asset:area", "unknown_asset:line", "site_mismatch"} <= set(
        want.values())


def test_the_mix_holds_every_reason_the_table_can_give(spark):
    """Every reason family of the check table is given to some row of the mix above, by the oracle and
    so (the test above) by the quick view's path too, plus valid rows."""
    seen: set = set()
    for spec, base in SPECS.values():
        decoded = decode(frame(spark, hostile_payloads(base)))
        seen |= {r["reason"] for r in classify(parse(decoded, spec), spec, LIMITS).select("reason").distinct()
                 .collect()}
    families = {r.split(":")[0] + (":" if ":" in r else "") for r in seen if r}
    expected = {"oversized", "non_utf8", "malformed_json", "missing_field:", "schema_mismatch", "wrong_topic",
                "wrong_type:", "bad_timestamp:", "invalid_id:", "invalid_value:", "unknown_unit", "bad_timestamp",
                "future_timestamp", "late_beyond_horizon", "out_of_range:"}
    assert expected <= families, expected - families
    assert {"missing_field:schema_version", "invalid_id:event_id", "invalid_id:site",
            "invalid_value:schema_version"} <= seen
    assert None in seen


def test_undeclared_keys_are_counted_from_the_key_list_without_a_variant_parse_of_valid_rows(spark):
    from pyspark.sql import functions as F

    spec, base = SPECS["energy_meter"]
    text = json.dumps(base)
    payloads = [text.encode(), (text[:-1] + ', "firmware": "3.2", "fw": {"b": 1}}').encode(), b"[1]"]
    classified = classify(parse(decode(frame(spark, payloads)), spec), spec, LIMITS).orderBy("offset")
    rows = classified.select("reason", "_fast", F.col("_v").isNull().alias("no_variant"),
                             undeclared_fields(spec).alias("extra")).collect()
    assert [(r["reason"], r["_fast"], r["no_variant"], r["extra"]) for r in rows] == [
        (None, True, True, []),                       # valid, passed quickly: no variant parse at all
        (None, False, False, ["firmware", "fw"]),     # valid, carries two: diagnosed, counted
        ("malformed_json", False, False, None)]       # not an object: nothing to count


def test_checks_that_read_only_typed_columns_do_not_reach_into_either_parse(spark):
    """The quick view and the diagnosis share every check after the parse-level ones (they read the
    typed columns both views fill); a check there that read ``_r``/``_v`` directly would judge quick
    rows by a parse they never got."""
    import re

    from pyspark.sql import functions as F

    from brain.clean.fate import _Full, _Judged, _Quick, _reasons

    full_only = re.compile(r"(?<![\w.])(_r|_v|_jt_\w+)(?![\w])")
    quick_only = re.compile(r"(?<![\w.])(_p|_keys|_qt_\w+|_qr_\w+)(?![\w])")
    for spec, _ in SPECS.values():
        for view, foreign in ((_Quick(spec), full_only), (_Full(), quick_only)):
            conds = [str(cond) for cond, _why in _reasons(_Judged(spec, LIMITS, F.col("ingest_ts"), view))]
            assert len(conds) > 20
            assert [c[:200] for c in conds if foreign.search(c)] == []
