"""Records/s from Kafka into the lake: the pipeline and its three baselines, on the same topics.

- ``pipeline``: brain.pipeline ingest -> clean -> validate for every industry
  (Kafka -> bronze -> validated silver), the stages' own timings kept;
- ``raw_copy``: one Structured Streaming query copying every topic into one
  Delta table with no parsing (the ceiling of Spark + Delta here);
- ``handrolled``: bench.handrolled (kafka-python + json + pandas + delta-rs);
- ``broker_drain``: Kafka's ConsumerPerformance tool (the broker's ceiling).
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import time

from bench.env import Clock
from brain.ingest import kafka_io, kafka_security


def pipeline(cfg, industries: list[str], records: int, log=print) -> dict:
    from brain import pipeline as p

    clock = Clock()
    run_id = p.new_run_id()
    counts = {"bronze_rows": 0, "inserted": 0, "quarantined": 0, "duplicates": 0}
    profile: dict = {"clean": {}, "validate": {}}
    started = time.perf_counter()
    for ind in industries:
        log(f"  pipeline [{ind}] ingest (Kafka -> bronze -> silver, one pass)")
        for c in clock.time(f"{ind}.ingest", p.ingest, cfg, ind, run_id, log=log)["clean"]:
            for k in counts:
                counts[k] += c[k]
            _add(profile, "clean", c.get("seconds", {}))
            profile["clean"]["batches"] = profile["clean"].get("batches", 0) + c.get("batches", 0)
        log(f"  pipeline [{ind}] validate")
        for v in clock.time(f"{ind}.validate", p.validate, cfg, ind, run_id):
            _add(profile, "validate", v.get("seconds", {}))
    seconds = time.perf_counter() - started
    stages = {s: round(sum(v for k, v in clock.phases.items() if k.endswith("." + s)), 3)
              for s in ("ingest", "validate")}
    return {"records": records, "seconds": round(seconds, 3), "rps": round(records / seconds, 1),
            "stages_s": stages, "phases_s": clock.phases, "counts": counts, "profile_s": profile,
            "accounted": counts["inserted"] + counts["quarantined"] + counts["duplicates"]}


def _add(profile: dict, stage: str, seconds: dict) -> None:
    """Sum a stage's per-phase seconds (clean: per micro-batch; validate: per table)."""
    into = profile.setdefault(stage, {})
    for k, v in seconds.items():
        into[k] = round(into.get(k, 0.0) + v, 3)


def raw_copy(spark, cfg, topics: list[str], records: int) -> dict:
    """The plainest good Spark job, on Spark's own defaults: compiled code (the session's default is
    interpreted below spark.compiled_from_rows; the query copies the session's settings at start)."""
    from brain.spark import codegen_for

    with codegen_for(spark, cfg, None):
        return _raw_copy(spark, cfg, topics, records)


def _raw_copy(spark, cfg, topics: list[str], records: int) -> dict:
    from brain.lake.tables import table_path

    out = str(table_path(cfg, "bronze.raw_copy"))
    started = time.perf_counter()
    source = (spark.readStream.format("kafka")
              .options(**kafka_io.spark_options(cfg))
              .option("subscribe", ",".join(topics))
              .option("startingOffsets", "earliest")
              .option("failOnDataLoss", "true")
              .option("maxOffsetsPerTrigger", str(cfg.get("pipeline.max_offsets_per_trigger")))
              .load()
              .select("key", "value", "topic", "partition", "offset", "timestamp"))
    query = (source.writeStream.format("delta").queryName("bench_raw_copy")
             .option("checkpointLocation", str(cfg.path("lake.checkpoints") / "raw_copy"))
             .trigger(availableNow=True).start(out))
    query.awaitTermination()
    seconds = time.perf_counter() - started
    copied = spark.read.format("delta").load(out).count()
    return {"records": records, "copied": copied, "seconds": round(seconds, 3), "rps": round(records / seconds, 1)}


def handrolled(cfg, topics: list[str], records: int) -> dict:
    from bench.handrolled import copy_topics

    res = copy_topics(cfg.get("kafka.bootstrap_servers"), topics, cfg.path("lake.root") / "handrolled",
                      security=kafka_security.client_security(cfg).python())
    res["rps"] = round(records / res["seconds"], 1)
    return res


def broker_drain(cfg, prefix: str, records: int) -> dict:
    """kafka-consumer-perf-test over every topic with ``prefix``; rps from the tool's own clock."""
    from brain.jars import kafka_jars
    from brain.ops.broker import _java

    cmd = [_java(), "-Xmx512m", "-cp", os.pathsep.join(str(j) for j in kafka_jars(cfg)),
           "org.apache.kafka.tools.ConsumerPerformance",
           "--bootstrap-server", cfg.get("kafka.bootstrap_servers"),
           "--include", re.escape(prefix) + ".*", "--num-records", str(records), "--timeout", "30000",
           "--group", f"bench-drain-{time.time_ns()}"]
    command_config = kafka_security.java_config_file(cfg)
    if command_config is not None:
        cmd += ["--command-config", str(command_config)]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    wall = time.perf_counter() - started
    # The tool prints a WARNING line between header and figures when it stops short of --num-records.
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip() and not ln.startswith("WARNING")]
    header = next((i for i, ln in enumerate(lines) if ln.startswith("start.time")), None)
    if proc.returncode != 0 or header is None or header + 1 >= len(lines):
        raise RuntimeError(f"ConsumerPerformance failed (rc {proc.returncode}): {proc.stdout[-800:]}"
                           f"{proc.stderr[-800:]}")
    row = next(csv.DictReader(io.StringIO("\n".join(lines[header:header + 2]))))
    row = {k.strip(): v.strip() for k, v in row.items()}
    consumed = int(float(row["data.consumed.in.nMsg"]))
    if consumed != records:
        raise RuntimeError(f"the broker served {consumed:,} of the {records:,} records sent (timeout 30 s)")
    return {"records": records, "consumed": consumed, "rps": round(float(row["nMsg.sec"]), 1),
            "mb_per_s": round(float(row["MB.sec"]), 2), "wall_s_with_jvm_start": round(wall, 3),
            "tool": "org.apache.kafka.tools.ConsumerPerformance (kafka-consumer-perf-test)"}

