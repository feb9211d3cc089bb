"""Parse once, measured: the record classification before and after issue #12 item 3, side by side.

    python -m bench.parse_spike --records 1000000
    python -m bench.parse_spike --records 200000 --bad-share 0.05 --repeat 3 --json

Generates ``--records`` energy_meter payloads (17 JSON fields) in Spark, ``--bad-share`` of them
broken in the ways producers break them (wrong type, unknown unit, out of range, missing field,
a key twice, cut short, an undeclared key, a quoted epoch), materialises them once as bronze
rows, then times on the very same rows, alternating, ``--repeat`` times each:

- old: ``brain.clean.fate.diagnose``: the all-strings parse, the VARIANT parse and one
  ``schema_of_variant`` per field for every row, then the check table (how every record was
  judged before item 3);
- new: ``parse`` + ``classify``: one typed parse and the key list for every row, the check
  table's quick view, and the diagnosis only for the rows the quick view does not pass.

Each run computes every column the classified batch carries (a ``noop`` write: what
``silver.judge`` materialises next). Reported per run: wall-clock rec/s and records per CPU
second of the Spark JVM (local mode: driver and executors in one process), the best of each,
and new/old for both. Both paths must give every reason the same count, or the run fails. On a
shared, busy machine wall time swings with the neighbours; CPU seconds swing less, and the
ratio of runs made side by side is the figure to quote.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone

INGEST = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
EVENT_S = int(INGEST.timestamp()) - 86_400  # events fall in the day before ingest

# (share of the bad rows, what is done to a good payload); to_json writes no spaces.
BREAKAGE = [
    ("wrong_type", lambda p, F: F.regexp_replace(p, r'"value":([0-9.]+)', '"value":"$1"')),
    ("unknown_unit", lambda p, F: F.replace(p, F.lit('"unit":"kWh"'), F.lit('"unit":"furlongs"'))),
    ("out_of_range", lambda p, F: F.replace(p, F.lit('"value":'), F.lit('"value":-'))),
    ("missing_field", lambda p, F: F.replace(p, F.lit('"site":"site-01",'), F.lit(""))),
    ("key_twice", lambda p, F: F.concat(F.lit('{"value":1.0,'), F.substring(p, 2, 100_000))),
    ("cut_short", lambda p, F: F.substring(p, 1, 60)),
    ("undeclared_key", lambda p, F: F.concat(F.lit('{"firmware":"3.2",'), F.substring(p, 2, 100_000))),
    ("quoted_epoch", lambda p, F: F.regexp_replace(p, r'"event_ts":"[^"]*"', f'"event_ts":"{EVENT_S * 1000}"')),
]


def bronze(spark, records: int, bad_share: float):
    """``records`` bronze rows (payload bytes + Kafka columns), materialised."""
    from pyspark.sql import functions as F

    i = F.col("id")
    good = F.to_json(F.struct(
        F.lit("1.0").alias("schema_version"), F.expr("uuid()").alias("event_id"),
        F.lit("energy_meter").alias("record_type"), F.lit("energy").alias("industry"),
        F.lit("acme").alias("enterprise"), F.lit("site-01").alias("site"), F.lit("utilities").alias("area"),
        F.concat(F.lit("line-"), (i % 4).cast("string")).alias("line"),
        F.concat(F.lit("meter-"), (i % 50).cast("string")).alias("device"),
        # Both timestamp forms the contract allows, within the last day before ingest.
        F.when(i % 2 == 0, F.date_format(F.timestamp_seconds(F.lit(EVENT_S) + i % 86400),
                                          "yyyy-MM-dd'T'HH:mm:ssXXX"))
         .otherwise((F.lit(EVENT_S * 1000) + (i % 86400) * 1000).cast("string")).alias("event_ts_text"),
        F.lit("GOOD").alias("quality"), F.lit("electricity").alias("carrier"),
        ((i % 10000) / 10.0 + 0.5).alias("value"), F.lit("kWh").alias("unit"), F.lit(900).alias("interval_s"),
        ((i % 500) / 10.0).alias("demand_kw"), F.lit(0.93).alias("power_factor")))
    # An epoch is a JSON number, not the string to_json made of it.
    good = F.regexp_replace(F.replace(good, F.lit('"event_ts_text"'), F.lit('"event_ts"')),
                            r'"event_ts":"(\d+)"', '"event_ts":$1')
    slots = 1000
    bad_slots = int(round(bad_share * slots))
    payload = good
    for k, (_, broken) in enumerate(BREAKAGE):  # the bad slots, dealt round-robin over the kinds
        picked = [s for s in range(bad_slots) if s % len(BREAKAGE) == k]
        if picked:
            payload = F.when((i % slots).isin(*picked), broken(good, F)).otherwise(payload)
    ts = F.lit(INGEST).cast("timestamp")
    df = spark.range(records).select(
        F.encode(payload, "UTF-8").alias("payload"), F.lit(None).cast("binary").alias("key"),
        F.lit("energy.energy_meter").alias("topic"), (i % 2).cast("int").alias("partition"),
        i.alias("offset"), ts.alias("kafka_ts"), ts.alias("ingest_ts"))
    df = df.localCheckpoint()
    df.count()
    return df


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc)."""
    import os

    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.parse_spike", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--bad-share", type=float, default=0.05, help="share of broken payloads (default 0.05)")
    ap.add_argument("--repeat", type=int, default=2, help="timed runs of each path, alternating (default 2)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args = ap.parse_args(argv)

    from brain import config
    from brain.clean.fate import Limits, classify, decode, diagnose, parse
    from brain.industries.energy import ENERGY_METER
    from brain.spark import get_session

    spark = get_session(config.load())
    limits = Limits(max_payload_bytes=1_048_576, future_tolerance_s=300, late_horizon_days=30)
    spec = ENERGY_METER
    rows = bronze(spark, args.records, args.bad_share)
    paths = {"old": lambda: diagnose(decode(rows), spec, limits),
             "new": lambda: classify(parse(decode(rows), spec), spec, limits)}

    from pyspark.sql import functions as F

    counts = {name: {r["reason"]: int(r["n"]) for r in make().groupBy("reason").agg(F.count(F.lit(1)).alias("n"))
                     .collect()} for name, make in paths.items()}  # also warms both up (JIT, codegen)
    if counts["old"] != counts["new"]:
        print(f"the two paths disagree: {counts}", file=sys.stderr)
        return 1
    jvm = spark._jvm.ProcessHandle.current().pid()
    runs: dict[str, list[float]] = {name: [] for name in paths}
    cpu: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(args.repeat):
        for name, make in paths.items():
            started, cpu_started = time.perf_counter(), _cpu_seconds(jvm)
            make().write.format("noop").mode("overwrite").save()
            runs[name].append(args.records / (time.perf_counter() - started))
            cpu[name].append(args.records / max(_cpu_seconds(jvm) - cpu_started, 1e-3))
    best = {name: max(v) for name, v in runs.items()}
    best_cpu = {name: max(v) for name, v in cpu.items()}
    fast = None
    if "_fast" in paths["new"]().columns:
        fast = paths["new"]().where(F.col("_fast")).count()
    result = {"records": args.records, "bad_share": args.bad_share, "quarantined": sum(
        n for reason, n in counts["new"].items() if reason), "quick_passed": fast,
        "old_rps": [round(v) for v in runs["old"]], "new_rps": [round(v) for v in runs["new"]],
        "old_best_rps": round(best["old"]), "new_best_rps": round(best["new"]),
        "ratio_new_over_old": round(best["new"] / best["old"], 2),
        "old_rec_per_cpu_s": [round(v) for v in cpu["old"]], "new_rec_per_cpu_s": [round(v) for v in cpu["new"]],
        "cpu_ratio_new_over_old": round(best_cpu["new"] / best_cpu["old"], 2),
        "reasons": {str(k): v for k, v in sorted(counts["new"].items(), key=lambda kv: -kv[1])}}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"records {args.records:,}, bad share {args.bad_share:.0%}: {result['quarantined']:,} quarantined, "
          f"{fast:,} passed by the quick view alone; reasons identical on both paths")
    for name in paths:
        print(f"  {name}: " + ", ".join(f"{v:,.0f}" for v in runs[name]) + f" rec/s (best {best[name]:,.0f}); "
              + ", ".join(f"{v:,.0f}" for v in cpu[name]) + f" rec per CPU-s (best {best_cpu[name]:,.0f})")
    print(f"  new / old: {result['ratio_new_over_old']:.2f}x wall, {result['cpu_ratio_new_over_old']:.2f}x CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
