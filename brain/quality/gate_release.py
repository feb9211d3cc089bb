"""Opening a closed quality gate: the operator's two ways out.

- ``quarantine_failed``: the rows of the failed runs that break a failed
  row-level expectation move to silver.quarantine, reason
  ``expectation:<name>`` (the same move a `quarantine` policy makes), then the
  gate opens and the next publish recomputes the pending days without them.
- ``accept``: the gate opens with the rows as they are; who and why are kept.

Batch-level expectations (a mean, a row count) have no failing rows to move,
so a gate they closed can only be accepted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from brain.config import Config
from brain.contracts.specs import RecordSpec, record_specs
from brain.lake.tables import bronze_table, table_path
from brain.quality.gate import ACCEPT, RELEASE_QUARANTINE, open_gate, read_state
from brain.quality.rowlevel import flag_rows, split, unexpected_condition, unsupported_reason
from brain.quality.suites import load_suite

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


class GateReleaseError(ValueError):
    """The gate cannot be released the way the operator asked (nothing is changed)."""


def release(spark: SparkSession, cfg: Config, industry: str, *, quarantine_failed: bool = False,
            accept: bool = False, actor: str, reason: str | None = None) -> dict:
    """Open ``industry``'s gate; returns what was done (rows moved per table and expectation)."""
    if quarantine_failed == accept:
        raise GateReleaseError("choose one of --quarantine-failed or --accept")
    if accept and not (reason or "").strip():
        raise GateReleaseError("--accept needs --reason: why the failing rows may be published")
    state = read_state(spark, cfg, industry)
    if state.is_open:
        return {"industry": industry, "was_open": True, "moved": {}}
    failed = state.failed_tables()
    moved: dict[str, dict[str, int]] = {}
    if quarantine_failed:
        plans = _plans(cfg, failed)
        specs = record_specs(industry)
        for table, (run_ids, rules) in plans.items():
            moved[table] = _move(spark, cfg, specs, table, run_ids, rules)
    open_gate(spark, cfg, industry, RELEASE_QUARANTINE if quarantine_failed else ACCEPT, actor, reason,
              [{"table": t, "run_ids": sorted(f["run_ids"]), "expectations": sorted(f["expectations"]),
                "moved": moved.get(t, {})} for t, f in failed.items()])
    return {"industry": industry, "was_open": False, "moved": moved,
            "closed_by_runs": [c["run_id"] for c in state.closures]}


def _plans(cfg: Config, failed: dict[str, dict]) -> dict[str, tuple[list[str], list]]:
    """table -> (run ids, suite rules to quarantine by); raises before anything moves if one cannot."""
    plans, refused = {}, []
    for table, f in failed.items():
        suite = load_suite(cfg, table)
        rules = []
        for name in sorted(f["expectations"]):
            try:
                rule = suite.rule(name)
            except KeyError:
                refused.append(f"{table}: {name} is no longer in {suite.name}'s suite")
                continue
            why = unsupported_reason(rule.type, rule.kwargs)
            if why:
                refused.append(f"{table}: {name} has no failing rows to move ({why})")
            else:
                rules.append(rule)
        plans[table] = (sorted(f["run_ids"]), rules)
    if refused:
        raise GateReleaseError("cannot --quarantine-failed: " + "; ".join(refused)
                               + ". Fix the data upstream and use --accept --reason '...' instead.")
    return plans


def _move(spark: SparkSession, cfg: Config, specs: dict[str, RecordSpec], table: str, run_ids: list[str],
          rules: list) -> dict[str, int]:
    from pyspark.sql import functions as F

    from brain.clean.quarantine import move_to_quarantine
    from brain.quality.rowlevel import REASON

    rows = spark.read.format("delta").load(str(table_path(cfg, table))).where(F.col("_run_id").isin(run_ids))
    flagged, _ = flag_rows(rows, [(r.name, unexpected_condition(r.type, r.kwargs)) for r in rules])
    _, failing = split(flagged, rows.columns)
    failing = failing.localCheckpoint()  # the move deletes from the table it was read from
    counts = {r[REASON]: r["count"] for r in failing.groupBy(REASON).count().collect()}
    spec = specs[_record_type(specs, table)]
    move_to_quarantine(spark, cfg, spec, table, failing, bronze_table(spec.industry, spec.record_type))
    return counts


def _record_type(specs: dict[str, RecordSpec], table: str) -> str:
    from brain.lake.tables import silver_table

    for rt, spec in specs.items():
        if silver_table(spec.industry, rt) == table:
            return rt
    raise GateReleaseError(f"{table} is not a silver table of this industry")
