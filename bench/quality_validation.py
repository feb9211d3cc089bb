"""Benchmark: GX validation of one batch vs the plain Spark work around it.

    python bench/quality_validation.py [ROWS] [--bad-share 0.001]

Generates ROWS silver.energy_meter rows (a share of them out of range) as
Parquet, then times: a plain ``count()``; ``validate_batch`` (GX checkpoint,
samples, quarantine check, Data Docs) with the number of Spark jobs each phase
starts; and writing passed + quarantined rows to Delta, a stand-in for the
rest of the batch. Results go to bench/results/quality_validation.json.
The lake, GX stores and Data Docs live in a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("rows", nargs="?", type=int, default=200_000)
    ap.add_argument("--bad-share", type=float, default=0.001)
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is reported")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="brain-bench-quality-"))
    os.environ.update({"BRAIN__LAKE__ROOT": str(tmp / "lake"), "BRAIN__LAKE__CHECKPOINTS": str(tmp / "ck"),
                       "BRAIN__PATHS__STATE": str(tmp / "state"), "BRAIN__QUALITY__GX_DIR": str(tmp / "gx"),
                       "BRAIN__QUALITY__DATA_DOCS_DIR": str(tmp / "docs"), "GX_ANALYTICS_ENABLED": "False"})
    sys.path.insert(0, str(ROOT))
    from brain import config
    from brain.quality import validate_batch
    from brain.spark import get_session

    cfg = config.load()
    spark = get_session(cfg)
    sc = spark.sparkContext
    src = str(tmp / "batch.parquet")
    _generate(spark, args.rows, args.bad_share).write.parquet(src)

    def timed(label, fn, repeat=1):
        times, jobs, result = [], 0, None
        for i in range(repeat):
            group = f"{label}-{i}"
            sc.setJobGroup(group, group)
            t = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - t)
            jobs = len(sc.statusTracker().getJobIdsForGroup(group))
        sc.setJobGroup("idle", "idle")
        return result, statistics.median(times), jobs

    # Warm-up: JVM code paths, GX imports and metric registry (paid once per process).
    validate_batch(spark, spark.read.parquet(src).limit(100), "silver.energy_meter", "warmup", cfg).release()

    _, count_s, count_jobs = timed("count", lambda: spark.read.parquet(src).count(), repeat=args.repeat)
    runs = []
    for i in range(args.repeat):
        outcome, validate_s, validate_jobs = timed(
            f"validate{i}", lambda: validate_batch(spark, spark.read.parquet(src), "silver.energy_meter", "bench", cfg))

        def write(o=outcome):
            o.passed_df.write.format("delta").mode("append").save(str(tmp / "lake/silver/energy_meter"))
            o.quarantine_df.write.format("delta").mode("append").save(str(tmp / "lake/silver/quarantine"))
        _, write_s, write_jobs = timed(f"write{i}", write)
        outcome.release()
        runs.append((validate_s, write_s, outcome))
    runs.sort(key=lambda r: r[0])
    validate_s, _, outcome = runs[len(runs) // 2]
    write_s = statistics.median(r[1] for r in runs)

    # Same batch already cached: ours (counts, then samples of failures only) vs a stock
    # SUMMARY checkpoint (samples of every expectation, with event_ids).
    from brain.quality import gx_run
    df = spark.read.parquet(src).persist()
    df.count()
    _, ours_cached_s, ours_cached_jobs = timed(
        "ours", lambda: validate_batch(spark, df, "silver.energy_meter", "ours", cfg), repeat=args.repeat)
    ours = gx_run.COUNTS_ONLY
    gx_run.COUNTS_ONLY = {"result_format": "SUMMARY", "unexpected_index_column_names": ["event_id"],
                          "partial_unexpected_count": 20}
    try:
        _, stock_s, stock_jobs = timed(
            "stock", lambda: validate_batch(spark, df, "silver.energy_meter", "stock", cfg), repeat=args.repeat)
    finally:
        gx_run.COUNTS_ONLY = ours
    df.unpersist()

    report = {
        "rows": args.rows, "bad_share": args.bad_share, "spark_master": cfg.get("spark.master"),
        "count_s": round(count_s, 3), "count_jobs": count_jobs,
        "repeat": args.repeat, "validate_s": round(validate_s, 3), "validate_jobs": validate_jobs,
        "validate_s_all": [round(r[0], 3) for r in runs],
        "validate_phases_s": {k: round(v, 3) for k, v in outcome.timings_s.items()},
        "write_passed_and_quarantine_s": round(write_s, 3), "write_jobs": write_jobs,
        "validation_share_of_validate_plus_write": round(validate_s / (validate_s + write_s), 3),
        "cached_batch_validate_s": round(ours_cached_s, 3), "cached_batch_validate_jobs": ours_cached_jobs,
        "cached_batch_stock_summary_s": round(stock_s, 3), "cached_batch_stock_summary_jobs": stock_jobs,
        "quarantined_rows": outcome.quarantined_count,
        "failed_expectations": [r.name for r in outcome.failed()],
    }
    out = ROOT / "bench" / "results" / "quality_validation.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


def measure_gx_share(spark, cfg, rows: int = 1_000_000, bad_share: float = 0.001) -> dict:
    """GX validation's share of one batch's time, on ``rows`` energy readings, through the real stages.

    The batch: ``rows`` Kafka-shaped JSON records in bronze (not timed), then
    timed: ``batch_s`` = clean + write (brain.clean.silver.process_batch: parse,
    classify, de-duplicate, write silver / quarantine / duplicates / touched
    days) and ``validation_s`` = ``brain.pipeline.validate`` of those rows (GX
    checkpoint, failing-row samples, quarantine moves, results, Data Docs).
    ``gx_share`` = validation_s / (batch_s + validation_s): the part of the
    batch's whole time spent validating (target <= 0.25). Uses ``cfg``'s lake
    (give it an empty one) and the energy industry. A small warm-up batch is
    cleaned and validated first, so JVM and GX start-up costs are not counted.
    """
    from brain import pipeline
    from brain.clean.shared_tables import ensure_shared_tables
    from brain.clean.silver import process_batch
    from brain.industries import energy
    from brain.lake.tables import table_path

    spec = energy.RECORD_SPECS["energy_meter"]
    bronze_path = str(table_path(cfg, "bronze.energy_meter"))
    silver = "silver.energy_meter"
    sc = spark.sparkContext
    ensure_shared_tables(spark, cfg)

    def batch(n: int, offset: int, run_id: str) -> tuple[float, float, dict]:
        _bronze(spark, n, offset, bad_share).write.format("delta").mode("append").save(bronze_path)
        bronze = spark.read.format("delta").load(bronze_path).where(f"offset >= {offset}")
        sc.setJobGroup(f"{run_id}-batch", "clean + write")
        t = time.perf_counter()
        process_batch(spark, cfg, spec, silver, bronze, run_id)
        batch_s = time.perf_counter() - t
        sc.setJobGroup(f"{run_id}-validate", "validate")
        t = time.perf_counter()
        report = pipeline.validate(cfg, "energy", run_id)
        validation_s = time.perf_counter() - t
        sc.setJobGroup("idle", "idle")
        jobs = {k: len(sc.statusTracker().getJobIdsForGroup(f"{run_id}-{k}")) for k in ("batch", "validate")}
        return batch_s, validation_s, {"jobs": jobs, "validate": report}

    batch(min(rows, 2_000), 0, "bench_warmup")
    batch_s, validation_s, info = batch(rows, 10_000_000, "bench_gx_share")
    (table,) = info["validate"]
    return {"rows": rows, "batch_s": round(batch_s, 3), "validation_s": round(validation_s, 3),
            "gx_share": round(validation_s / (batch_s + validation_s), 3),
            "batch_jobs": info["jobs"]["batch"], "validation_jobs": info["jobs"]["validate"],
            "validated_rows": table.get("rows"),
            "quarantined_by_expectations": table.get("quarantined_by_expectations"),
            "validation_phases_s": table.get("seconds")}


def _bronze(spark, n: int, offset: int, bad_share: float):
    """Bronze rows as Kafka leaves them: JSON energy readings, a ``bad_share`` of them 2e7 kWh
    (inside the contract, outside the suite's range: moved by the quarantine expectation)."""
    from pyspark.sql import functions as F

    k = (F.col("id") % 4).cast("int")
    carriers = F.array(*[F.lit(c) for c in ("electricity", "natural_gas", "coal", "steam")])
    units = F.array(*[F.lit(u) for u in ("kWh", "m3", "t", "t")])
    # Registered meters only (conf/assets.yaml): any other place is quarantined unknown_asset, and the
    # suite would have no silver rows to validate.
    from brain.contracts.assets import load_registry

    places = load_registry().locations("energy")
    place = F.element_at(F.array(*[F.array(*map(F.lit, p)) for p in places]),
                         (F.col("id") % len(places)).cast("int") + 1)
    record = F.struct(
        F.lit("1.0").alias("schema_version"), F.expr("uuid()").alias("event_id"),
        F.lit("energy_meter").alias("record_type"), F.lit("energy").alias("industry"),
        *[place[i].alias(level) for i, level in enumerate(("enterprise", "site", "area", "line", "device"))],
        F.date_format(F.expr("current_timestamp() - make_interval(0, 0, 0, 0, 0, 0, id % 86400)"),
                      "yyyy-MM-dd'T'HH:mm:ss.SSSXXX").alias("event_ts"),
        F.lit("GOOD").alias("quality"), F.element_at(carriers, k + 1).alias("carrier"),
        F.when(F.rand(7) < F.lit(bad_share), F.lit(2e7)).otherwise(F.round(F.rand(3) * 100, 3)).alias("value"),
        F.element_at(units, k + 1).alias("unit"), F.lit(900).alias("interval_s"))
    return spark.range(n).select(
        F.to_json(record).cast("binary").alias("payload"), F.col("id").cast("string").cast("binary").alias("key"),
        F.lit("bench.energy.energy_meter").alias("topic"), F.lit(0).alias("partition"),
        (F.col("id") + offset).alias("offset"), F.current_timestamp().alias("kafka_ts"),
        F.lit(None).cast("array<struct<key:string,value:binary>>").alias("headers"),
        F.current_timestamp().alias("ingest_ts"), F.current_date().alias("ingest_date"))


def _generate(spark, n: int, bad_share: float):
    from pyspark.sql import functions as F

    bad = F.rand(7) < F.lit(bad_share)
    carriers = F.array(*[F.lit(c) for c in ("electricity", "natural_gas", "coal", "steam")])
    units = F.array(*[F.lit(u) for u in ("kWh", "m3", "t", "t")])
    k = (F.col("id") % 4).cast("int")
    return spark.range(n).select(
        F.expr("uuid()").alias("event_id"), F.lit("acme").alias("enterprise"),
        F.concat(F.lit("site-"), (F.col("id") % 5).cast("string")).alias("site"), F.lit("area-1").alias("area"),
        F.lit("line-1").alias("line"), F.concat(F.lit("meter-"), (F.col("id") % 500).cast("string")).alias("device"),
        F.lit("energy").alias("industry"), F.expr("timestamp_seconds(1735689600 + id)").alias("event_ts_utc"),
        F.expr("to_date(timestamp_seconds(1735689600 + id))").alias("event_date"), F.lit("GOOD").alias("quality"),
        F.element_at(carriers, k + 1).alias("carrier"),
        F.when(bad, F.lit(-1.0)).otherwise(F.rand(3) * 100).alias("value"),
        F.element_at(units, k + 1).alias("unit"), F.element_at(units, k + 1).alias("source_unit"),
        F.lit(60).alias("interval_s"), (F.rand(5) * 50).alias("demand_kw"),
        F.when(k == 0, F.rand(11)).alias("power_factor"))


if __name__ == "__main__":
    main()
