"""10,000 hostile messages through one pipeline cycle: every one in silver or in quarantine
with a reason, the valid ones in silver, the surely-invalid ones not, and no crash.

A seeded generator (the seed is in every failure message) mixes valid readings
with bad JSON, wrong types, huge strings, unicode, nulls, missing fields, deep
nesting, oversized payloads, tombstones and binary garbage. Each message's key
names its kind and what must become of it, so the lake can be checked per kind.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from brain import pipeline
from brain.lake.tables import table_path
from tests.energy_data import SITES, meter
from tests.fault.ledger import assert_nothing_lost_or_doubled, send

pytestmark = [pytest.mark.slow, pytest.mark.fault]
SEED = 20261129
TOTAL = 10_000
REQUIRED = ("event_id", "event_ts", "site", "value", "unit", "carrier", "record_type", "schema_version")
WRONG = [[], {}, True, "abc", 1e400, {"a": [1, {"b": None}]}, "", "\u0000"]


def _good(rng: random.Random) -> dict:
    when = datetime.now(timezone.utc) - timedelta(hours=1, minutes=rng.randrange(600))
    return meter(SITES[rng.randrange(3)], round(rng.uniform(0, 500), 3), day=when,
                 event_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)))


def _dumps(rec) -> bytes:
    return json.dumps(rec, ensure_ascii=rng_ascii(rec)).encode()


def rng_ascii(rec) -> bool:
    return len(str(rec)) % 2 == 0  # half the messages escape non-ASCII, half send it raw


def _nested(depth: int) -> bytes:
    return ("[" * depth + "]" * depth).encode()


def hostile(rng: random.Random) -> tuple[str, str, bytes | None]:
    """(kind, must: silver | quarantine | either, payload)."""
    kind = rng.choice(["good", "good", "bad_json", "wrong_type", "huge_string", "unicode", "null_field",
                       "missing_field", "deep_nesting", "binary", "not_object", "nan", "bad_id", "future",
                       "extra_fields", "empty", "tombstone"])
    rec = _good(rng)
    if kind == "good":
        return kind, "silver", _dumps(rec)
    if kind == "bad_json":
        text = _dumps(rec).decode()
        return kind, "quarantine", text[:rng.randrange(1, len(text) - 1)].encode()
    if kind == "wrong_type":
        rec[rng.choice(["value", "event_ts", "interval_s"])] = rng.choice(WRONG)
        return kind, "quarantine", _dumps(rec)
    if kind == "huge_string":
        rec[rng.choice(["site", "device", "event_id"])] = "x" * rng.randrange(10_000, 200_000)
        return kind, "quarantine", _dumps(rec)
    if kind == "unicode":
        rec[rng.choice(["site", "line", "device"])] = rng.choice(["工厂-01", "ﬁ", "e\u0301", "🏭", "\ud7ff", "Z\u200b"])
        return kind, "either", _dumps(rec)
    if kind == "null_field":
        rec[rng.choice(REQUIRED)] = None
        return kind, "quarantine", _dumps(rec)
    if kind == "missing_field":
        del rec[rng.choice(REQUIRED)]
        return kind, "quarantine", _dumps(rec)
    if kind == "deep_nesting":
        depth = rng.choice([100, 1000, 5000, 20000])
        rec["value"] = "PLACEHOLDER"
        return kind, "quarantine", _dumps(rec).replace(b'"PLACEHOLDER"', _nested(depth))
    if kind == "binary":
        return kind, "quarantine", rng.randbytes(rng.randrange(1, 2000))
    if kind == "not_object":
        return kind, "quarantine", rng.choice([b"[]", b"42", b'"text"', b"null", b"true", json.dumps([rec]).encode()])
    if kind == "nan":
        return kind, "quarantine", _dumps(rec).replace(f'"value": {json.dumps(rec["value"])}'.encode(),
                                                        rng.choice([b'"value": NaN', b'"value": Infinity']))
    if kind == "bad_id":
        rec["event_id"] = rng.choice(["", "not-a-uuid", "1' OR '1'='1", str(uuid.UUID(int=0)) + "x"])
        return kind, "quarantine", _dumps(rec)
    if kind == "future":
        rec["event_ts"] = (datetime.now(timezone.utc) + timedelta(days=rng.randrange(1, 400))).isoformat()
        return kind, "quarantine", _dumps(rec)
    if kind == "extra_fields":
        rec.update({f"x{i}": rng.choice(WRONG) for i in range(rng.randrange(1, 30))})
        return kind, "either", _dumps(rec)
    if kind == "empty":
        return kind, "quarantine", b""
    return kind, "quarantine", None


def test_ten_thousand_hostile_messages_all_accounted_for(broker, spark, isolated_cfg, tmp_path):
    from pyspark.sql import functions as F

    cfg = isolated_cfg
    rng = random.Random(SEED)
    msgs, kinds = [], {}
    for i in range(TOTAL - 3):
        kind, must, payload = hostile(rng)
        kinds[kind] = kinds.get(kind, 0) + 1
        msgs.append((f"{must}:{kind}:{i}".encode(), payload))
    # Over pipeline.max_payload_bytes (1 MiB), under the broker's 8 MiB: quarantined as oversized.
    for i in range(3):
        big = _good(rng)
        big["note"] = "y" * (1_100_000 + i)
        msgs.append((f"quarantine:oversized:{i}".encode(), json.dumps(big).encode()))
    ledger = tmp_path / "ledger.jsonl"
    send(cfg, msgs, ledger, bulk=True)

    pipeline.run_cycle(cfg, ["energy"], log=lambda m: None)  # must not raise

    assert_nothing_lost_or_doubled(spark, cfg, ledger)
    read = lambda t: spark.read.format("delta").load(str(table_path(cfg, t)))  # noqa: E731
    bronze = read("bronze.energy_meter").select("topic", "partition", "offset", F.col("key").cast("string").alias("k"))
    assert bronze.count() == TOTAL, f"seed {SEED}"
    silver = (read("silver.energy_meter").select(F.col("_topic").alias("topic"), F.col("_partition").alias("partition"),
                                                 F.col("_offset").alias("offset"))
              .join(bronze, ["topic", "partition", "offset"]))
    in_silver = {r["k"] for r in silver.select("k").collect()}
    wrongly_in_silver = sorted(k for k in in_silver if k.startswith("quarantine:"))
    assert not wrongly_in_silver, f"seed {SEED}: {wrongly_in_silver[:10]}"
    good = {m[0].decode() for m in msgs if m[0].startswith(b"silver:")}
    assert good <= in_silver, f"seed {SEED}: valid records not in silver: {sorted(good - in_silver)[:10]}"
    quarantined = read("silver.quarantine").select(F.col("key").cast("string").alias("k"), "reason")
    reasons = {r["k"].split(":")[1]: r["reason"] for r in quarantined.collect()}
    assert set(kinds) - {"good", "unicode", "extra_fields"} <= set(reasons), (kinds, reasons)
