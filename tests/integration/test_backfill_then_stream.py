"""A backfill that reaches bronze rows before the clean stream does must not make the stream count them twice."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from tests.energy_data import meter

pytestmark = pytest.mark.integration


def _bronze(spark, records: list[bytes]):
    from pyspark.sql import functions as F

    now = datetime.now(timezone.utc)
    rows = [(payload, None, "energy.energy_meter", 0, i, now, None) for i, payload in enumerate(records)]
    df = spark.createDataFrame(rows, "payload binary, key binary, topic string, partition int, offset long, "
                                     "kafka_ts timestamp, headers array<struct<key:string,value:binary>>")
    return df.withColumn("ingest_ts", F.current_timestamp()).withColumn("ingest_date", F.to_date("ingest_ts"))


def test_stream_after_backfill_adds_no_second_quarantine_or_duplicate_row(spark, isolated_cfg):
    from brain.clean.silver import process_batch
    from brain.industries import energy
    from brain.lake.tables import DUPLICATES, QUARANTINE, table_path

    cfg, spec = isolated_cfg, energy.RECORD_SPECS["energy_meter"]
    good = meter("rm-baotou", 10.0, day=datetime.now(timezone.utc) - timedelta(hours=2))
    batch = _bronze(spark, [json.dumps(good).encode(), json.dumps(good).encode(), b"{not json"])

    def counts():
        read = lambda n: spark.read.format("delta").load(str(table_path(cfg, n))).count()  # noqa: E731
        return read("silver.energy_energy_meter"), read(QUARANTINE), read(DUPLICATES)

    first = process_batch(spark, cfg, spec, "silver.energy_energy_meter", batch, "run_backfill")  # keyed MERGEs
    assert (first.inserted, first.quarantined, first.duplicates) == (1, 1, 1)
    assert counts() == (1, 1, 1)
    # The stream reaches the same bronze rows later (idempotent appends keyed by its own query id).
    process_batch(spark, cfg, spec, "silver.energy_energy_meter", batch, "run_stream", ("query-1", 0))
    assert counts() == (1, 1, 1)
