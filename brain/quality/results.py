"""``quality.validation_results``: one row per expectation per validated batch.

Idempotent per (run_id, table_name): a write replaces that run's rows for
that table atomically (Delta ``replaceWhere``), so a retried task or a
re-recorded outcome never doubles rows and the last validation of a run wins.
A run the table holds nothing of yet (the usual case, looked up without
Spark) is appended instead, which costs a commit and no scan.
(``txnAppId``/``txnVersion`` would instead silently keep the *first* write.)
The table is partitioned by table_name, so concurrent tasks recording
different tables do not conflict (Delta checks conflicts by partition).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from brain.config import Config
from brain.lake.classified import stamp_created
from brain.lake.delta_sql import sql_string
from brain.lake.frames import local_frame
from brain.lake.tables import is_delta, table_path

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


def record_results(spark: SparkSession, outcome: "ValidationOutcome | list[ValidationOutcome]", cfg: Config) -> int:
    """Write the outcomes' rows, replacing any earlier rows of the same runs and tables, in one
    commit (validate records all of an industry's tables at once); the row count."""
    from delta.exceptions import (
        ConcurrentAppendException,
        ConcurrentWriteException,
        MetadataChangedException,
        ProtocolChangedException,
    )

    outcomes = outcome if isinstance(outcome, list) else [outcome]
    if not outcomes:
        return 0
    path = table_path(cfg, RESULTS_TABLE)
    rows = [row for o in outcomes for row in result_rows(o)]
    df = local_frame(spark, rows, SCHEMA)
    where = " OR ".join(sorted({f"(table_name = {sql_string(o.table_name)} AND run_id = {sql_string(o.run_id)})"
                                for o in outcomes}))
    for attempt in range(_RETRIES):
        created = not is_delta(path)
        try:
            writer = df.write.format("delta").partitionBy("table_name")
            if created or not _recorded(cfg, outcomes):
                writer.mode("append").save(str(path))  # the usual case: nothing of these runs to replace
            else:
                writer.mode("overwrite").option("replaceWhere", where).save(str(path))
            break
        except (ConcurrentAppendException, ConcurrentWriteException, MetadataChangedException,
                ProtocolChangedException):
            # Two first writers racing to create the table, or a write that read a stale
            # snapshot; the replaceWhere makes a retry safe.
            if attempt == _RETRIES - 1:
                raise
            time.sleep(0.5 * (attempt + 1))
    if created:  # one commit for its layer, owner and columns' grades
        stamp_created(spark, path, df.columns, RESULTS_TABLE,
                      also={"brain.layer": "quality", "brain.owner": str(cfg.get("project.owner"))})
    return len(rows)


def _recorded(cfg: Config, outcomes: list["ValidationOutcome"]) -> bool:
    """Whether the results table holds rows of any of the outcomes' (table, run) pairs, read without
    Spark: a replaceWhere overwrite scans, checks and rewrites where a first recording of a run
    needs only an append."""
    from brain.lake.ledger_reads import select, sql_list

    pairs = " OR ".join(f"(table_name = {sql_list([o.table_name])} AND run_id = {sql_list([o.run_id])})"
                        for o in outcomes)
    return bool(select(cfg, RESULTS_TABLE, f"SELECT 1 FROM _ledger WHERE {pairs} LIMIT 1",
                       scan=["table_name", "run_id"]))


# Which silver runs' rows have been validated: validate picks up every run
# not listed here, so the rows of a run that died before validating are
# validated by the next one (and nothing is validated twice).
VALIDATED_RUNS = "quality.validated_runs"
VALIDATED_SCHEMA = "table_name string, run_id string, validated_in string, validated_at timestamp"


def unvalidated_runs_of(spark: SparkSession, cfg: Config, table_names: list[str]) -> dict[str, dict[str, list]]:
    """table -> run_id -> event days it touched, for the runs not validated yet; one query for all tables.

    Read from quality.touched_days (small), so the silver read can prune to
    those days. Runs with rows in quality.validation_results count as
    validated too (lakes from before quality.validated_runs existed). The
    ledgers are read without Spark (brain.lake.ledger_reads): milliseconds
    instead of a few Spark jobs per table.
    """
    from brain.lake.ledger_reads import read_rows, sql_list
    from brain.lake.tables import TOUCHED

    if not table_names:
        return {}
    touched = read_rows(cfg, TOUCHED, ["table", "run_id", "event_date"], f"\"table\" IN ({sql_list(table_names)})")
    done: set[tuple[str, str]] = set()
    for name in (VALIDATED_RUNS, RESULTS_TABLE):
        done |= set(read_rows(cfg, name, ["table_name", "run_id"], f"table_name IN ({sql_list(table_names)})") or [])
    out: dict[str, dict[str, set]] = {}
    for table, run, day in touched or []:
        if (table, run) not in done:
            out.setdefault(table, {}).setdefault(run, set()).add(day)
    return {t: {k: sorted(v) for k, v in runs.items()} for t, runs in out.items()}


def mark_validated_all(spark: SparkSession, cfg: Config, validated: list[tuple[str, list[str]]],
                       validated_in: str) -> None:
    """Record (table, run ids) pairs as validated, in one commit."""
    import datetime as dt

    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows = [(table_name, r, validated_in, now) for table_name, run_ids in validated for r in run_ids]
    if rows:
        append_retrying(local_frame(spark, rows, VALIDATED_SCHEMA), str(table_path(cfg, VALIDATED_RUNS)),
                        ["table_name"])


def append_retrying(df, path: str, partition_by: list[str] | None = None) -> None:
    """A blind append; only two first writers creating the table can conflict, and a retry is safe."""
    from delta.exceptions import ConcurrentWriteException, MetadataChangedException, ProtocolChangedException

    for attempt in range(_RETRIES):
        try:
            df.write.format("delta").mode("append").partitionBy(*(partition_by or [])).save(path)
            return
        except (ConcurrentWriteException, MetadataChangedException, ProtocolChangedException):
            if attempt == _RETRIES - 1:
                raise
            time.sleep(0.5 * (attempt + 1))

