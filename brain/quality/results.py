"""``quality.validation_results``: one row per expectation per validated batch.

Idempotent per (run_id, table_name): a write replaces that run's rows for
that table atomically (Delta ``replaceWhere``), so a retried task or a
re-recorded outcome never doubles rows and the last validation of a run wins.
(``txnAppId``/``txnVersion`` would instead silently keep the *first* write.)
The table is partitioned by table_name, so concurrent tasks recording
different tables do not conflict (Delta checks conflicts by partition).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from brain.config import Config
from brain.lake import is_delta, table_path

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from brain.quality.validate import ValidationOutcome

RESULTS_TABLE = "quality.validation_results"
SCHEMA = ("run_id string, table_name string, validated_at timestamp, expectation string, `column` string, "
          "policy string, success boolean, element_count long, unexpected_count long, "
          "unexpected_sample array<string>, suite_name string")
_RETRIES = 3


def result_rows(outcome: ValidationOutcome) -> list[tuple]:
    return [(outcome.run_id, outcome.table_name, outcome.validated_at, r.name, r.column, r.policy,
             r.success, r.element_count, r.unexpected_count, list(r.unexpected_sample), outcome.suite_name)
            for r in outcome.results]


def sql_string(value: str) -> str:
    """A Spark SQL string literal (backslash escapes are on by default)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def record_results(spark: SparkSession, outcome: ValidationOutcome, cfg: Config) -> int:
    """Write the outcome's rows, replacing any earlier rows of the same run and table; the row count."""
    from delta.exceptions import (
        ConcurrentAppendException,
        ConcurrentWriteException,
        MetadataChangedException,
        ProtocolChangedException,
    )

    path = table_path(cfg, RESULTS_TABLE)
    rows = result_rows(outcome)
    df = spark.createDataFrame(rows, SCHEMA)
    where = f"table_name = {sql_string(outcome.table_name)} AND run_id = {sql_string(outcome.run_id)}"
    for attempt in range(_RETRIES):
        created = not is_delta(path)
        try:
            (df.write.format("delta").mode("overwrite").option("replaceWhere", where)
             .partitionBy("table_name").save(str(path)))
            break
        except (ConcurrentAppendException, ConcurrentWriteException, MetadataChangedException,
                ProtocolChangedException):
            # Two first writers racing to create the table, or a write that read a stale
            # snapshot; the replaceWhere makes a retry safe.
            if attempt == _RETRIES - 1:
                raise
            time.sleep(0.5 * (attempt + 1))
    if created:
        owner = str(cfg.get("project.owner")).replace("'", "")
        spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES "
                  f"('brain.layer' = 'quality', 'brain.owner' = '{owner}')")
    return len(rows)
