"""The baseline a team would write by hand: kafka-python + json + pandas + delta-rs.

One consumer reads every partition of the topics from the beginning to the
end offsets seen at the start, parses each message with ``json.loads``,
collects rows per topic and appends them to one Delta table per topic with
the ``deltalake`` package every ``chunk`` rows. Messages that are not JSON
objects are counted, not written. No Spark, no JVM.
"""

from __future__ import annotations

import json
import time
from pathlib import Path


def _frame(rows: list[dict]):
    """pandas for parsing and types; arro3 (deltalake's own Arrow library) to hand the columns over."""
    import pandas as pd

    df = pd.DataFrame.from_records(rows)
    for col in df.columns:
        if df[col].map(lambda v: isinstance(v, (list, dict))).any():
            df[col] = df[col].map(lambda v: None if v is None else json.dumps(v))
    if "event_ts" in df:
        raw = df["event_ts"]
        as_ms = pd.to_numeric(raw, errors="coerce")
        iso = pd.to_datetime(raw.where(as_ms.isna()), utc=True, format="ISO8601", errors="coerce")
        # Integers to pandas: its float path overflows (FloatingPointError) on some batches.
        ok = as_ms.notna() & (as_ms.abs() < 9e12)
        ts = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]")
        ts[ok] = pd.to_datetime(as_ms[ok].astype("int64"), unit="ms", utc=True)
        df["event_ts"] = ts.fillna(iso)
    from arro3.core import Table

    return Table.from_pydict({str(c): _column(df[c]) for c in df.columns})


def _column(s):
    import numpy as np
    import pandas as pd
    from arro3.core import Array, DataType

    if pd.api.types.is_datetime64_any_dtype(s):
        us = [None if pd.isna(v) else v.value // 1000 for v in s]
        return Array(us, DataType.int64()).cast(DataType.timestamp("us", tz="UTC"))
    if pd.api.types.is_bool_dtype(s):
        return Array(s.tolist(), DataType.bool())
    if pd.api.types.is_integer_dtype(s):
        return Array(np.ascontiguousarray(s.to_numpy(dtype="int64")))
    if pd.api.types.is_float_dtype(s):
        return Array([None if pd.isna(v) else float(v) for v in s], DataType.float64())
    values = [None if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in s]
    if all(isinstance(v, bool) for v in values if v is not None):
        return Array(values, DataType.bool())
    return Array([None if v is None else str(v) for v in values], DataType.string())


def copy_topics(bootstrap: str, topics: list[str], out: Path, chunk: int = 50_000,
                security: dict | None = None) -> dict:
    """Copy ``topics`` into Delta tables under ``out``; returns counts and seconds. ``security``:
    brain.ingest.kafka_security.client_security(cfg).python() (none: PLAINTEXT)."""
    from deltalake import write_deltalake
    from kafka import KafkaConsumer, TopicPartition

    started = time.perf_counter()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                             max_poll_records=10_000, fetch_max_bytes=64 * 1024 * 1024,
                             max_partition_fetch_bytes=8 * 1024 * 1024, **(security or {}))
    written = bad = 0
    buffers: dict[str, list[dict]] = {t: [] for t in topics}

    def flush(topic: str) -> None:
        nonlocal written
        rows = buffers[topic]
        if rows:
            write_deltalake(str(out / topic.replace(".", "_")), _frame(rows), mode="append", schema_mode="merge")
            written += len(rows)
            buffers[topic] = []

    try:
        tps = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or [])]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        remaining = {tp: end for tp, end in consumer.end_offsets(tps).items() if end > 0}
        while remaining:
            for tp, messages in consumer.poll(timeout_ms=1000).items():
                for m in messages:
                    try:
                        row = json.loads(m.value)
                    except ValueError:
                        row = None
                    if isinstance(row, dict):
                        buffers[tp.topic].append(row)
                    else:
                        bad += 1
                    if m.offset + 1 >= remaining.get(tp, 0):
                        remaining.pop(tp, None)
                if len(buffers[tp.topic]) >= chunk:
                    flush(tp.topic)
        for topic in topics:
            flush(topic)
    finally:
        consumer.close()
    return {"records": written + bad, "written": written, "not_json": bad,
            "seconds": round(time.perf_counter() - started, 3)}
