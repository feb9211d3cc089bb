"""The quality gate: a failed `fail` expectation blocks the industry's publishing until an operator resolves it.

The gate's state lives in ``quality.gate_state``, an append-only log of
events per industry (``close`` by a validation, ``release_quarantine`` or
``accept`` by an operator), so it survives the failed task: the touched days
stay pending, and ``brain.pipeline.publish`` refuses the industry while the
newest event is a ``close``. A later validation of good rows never opens it;
only ``brain quality gate --industry X --release ...`` does (brain.quality.gate_release).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from brain.config import Config
from brain.lake.frames import local_frame
from brain.lake.tables import is_delta, table_path
from brain.quality.results import append_retrying
from brain.quality.validate import ValidationOutcome

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

GATE_TABLE = "quality.gate_state"
SCHEMA = ("industry string, action string, is_open boolean, run_id string, detail string, actor string, "
          "reason string, at timestamp")
CLOSE, RELEASE_QUARANTINE, ACCEPT = "close", "release_quarantine", "accept"


class QualityGateFailed(Exception):
    """A `fail`-policy expectation failed (or could not be evaluated), or the industry's gate is still closed."""

    def __init__(self, message: str, outcome: ValidationOutcome | None = None):
        super().__init__(message)
        self.outcome = outcome


class PublishBlocked(Exception):
    """Publishing skipped one or more industries because their quality gate is closed."""


def gate_message(outcome: ValidationOutcome) -> str:
    lines = [f"quality gate failed for {outcome.table_name} (run {outcome.run_id}, suite {outcome.suite_name}):"]
    for r in outcome.blocking:
        if r.error:
            lines.append(f"- {r.name} [{r.policy}] could not be evaluated: {r.error}")
            continue
        counts = (f"{r.unexpected_count} of {r.element_count} rows unexpected"
                  if r.unexpected_count is not None else f"observed {r.observed_value!r}")
        sample = f"; sample {outcome.sample_column}s: {', '.join(r.unexpected_sample)}" if r.unexpected_sample else ""
        lines.append(f"- {r.name} [{r.policy}]: {counts}{sample}")
    if outcome.data_docs_index:
        lines.append(f"Data Docs: {outcome.data_docs_index}")
    return "\n".join(lines)


def enforce(outcome: ValidationOutcome) -> ValidationOutcome:
    """Raise QualityGateFailed when ``outcome.success`` is False; return the outcome otherwise."""
    if not outcome.success:
        raise QualityGateFailed(gate_message(outcome), outcome)
    return outcome


def resolve_hint(industry: str) -> str:
    return (f"Resolve it after checking Data Docs / quality.validation_results: "
            f"`brain quality gate --industry {industry} --release --quarantine-failed` moves the rows that failed "
            f"to silver.quarantine, or `brain quality gate --industry {industry} --release --accept "
            f"--reason '...'` publishes them as they are.")


def failure_detail(outcome: ValidationOutcome, run_ids: list[str]) -> dict:
    """What a closing event keeps of one table's failed validation (JSON-safe)."""
    return {"table": outcome.table_name, "suite": outcome.suite_name, "run_ids": sorted(run_ids),
            "failed": [{"name": r.name, "type": r.expectation_type, "policy": r.policy,
                        "unexpected_count": r.unexpected_count, "element_count": r.element_count,
                        "observed": None if r.observed_value is None else repr(r.observed_value),
                        "error": r.error, "sample": list(r.unexpected_sample)} for r in outcome.blocking]}


@dataclass(frozen=True)
class GateState:
    industry: str
    is_open: bool
    closures: tuple[dict, ...] = ()   # close events since the gate was last opened, oldest first
    last_opened: dict | None = None   # the newest release/accept event

    def failed_tables(self) -> dict[str, dict]:
        """table -> {"run_ids": set, "expectations": {name: type}} over every closure."""
        out: dict[str, dict] = {}
        for c in self.closures:
            for t in c["detail"]:
                entry = out.setdefault(t["table"], {"run_ids": set(), "expectations": {}})
                entry["run_ids"] |= set(t["run_ids"])
                entry["expectations"].update({f["name"]: f["type"] for f in t["failed"]})
        return out

    def describe(self) -> str:
        if self.is_open:
            if self.last_opened:
                o = self.last_opened
                return (f"{self.industry}: open (opened by {o['actor']} at {o['at']}, {o['action']}"
                        f"{': ' + o['reason'] if o.get('reason') else ''})")
            return f"{self.industry}: open"
        lines = [f"{self.industry}: CLOSED since {self.closures[0]['at']} - publishing of gold is blocked"]
        for c in self.closures:
            for t in c["detail"]:
                lines.append(f"  validation run {c['run_id']}: {t['table']} (rows of runs {', '.join(t['run_ids'])})")
                for f in t["failed"]:
                    what = (f"could not be evaluated: {f['error']}" if f.get("error") else
                            f"{f['unexpected_count']} of {f['element_count']} rows unexpected"
                            if f.get("unexpected_count") is not None else f"observed {f.get('observed')}")
                    sample = f"; sample: {', '.join(f['sample'])}" if f.get("sample") else ""
                    lines.append(f"    - {f['name']} [{f['policy']}]: {what}{sample}")
        lines.append("  " + resolve_hint(self.industry))
        return "\n".join(lines)


def state_from_events(industry: str, events: list[dict]) -> GateState:
    """The gate as the event log leaves it: open unless the newest events are closures."""
    closures: list[dict] = []
    last_opened = None
    for e in sorted(events, key=lambda e: e["at"]):
        if e["action"] == CLOSE:
            closures.append({**e, "detail": json.loads(e["detail"] or "[]")})
        else:
            closures, last_opened = [], e
    return GateState(industry, not closures, tuple(closures), last_opened)


def read_state(spark: SparkSession, cfg: Config, industry: str) -> GateState:
    path = table_path(cfg, GATE_TABLE)
    if not is_delta(path):
        return GateState(industry, True)
    from pyspark.sql import functions as F

    rows = spark.read.format("delta").load(str(path)).where(F.col("industry") == industry).collect()
    return state_from_events(industry, [r.asDict() for r in rows])


def _append(spark: SparkSession, cfg: Config, row: tuple) -> None:
    append_retrying(local_frame(spark, [row], SCHEMA), str(table_path(cfg, GATE_TABLE)))


def close(spark: SparkSession, cfg: Config, industry: str, run_id: str, details: list[dict]) -> None:
    _append(spark, cfg, (industry, CLOSE, False, run_id, json.dumps(details), "validation", None,
                         dt.datetime.now(dt.UTC).replace(tzinfo=None)))


def open_gate(spark: SparkSession, cfg: Config, industry: str, action: str, actor: str, reason: str | None,
              detail: Any = None) -> None:
    _append(spark, cfg, (industry, action, True, None, json.dumps(detail or []), actor, reason,
                         dt.datetime.now(dt.UTC).replace(tzinfo=None)))


def check_after_validation(state: GateState, failed: list[ValidationOutcome]) -> None:
    """Raise QualityGateFailed if this validation failed or the gate is still closed by an earlier one."""
    if state.is_open:
        return
    parts = [gate_message(o) for o in failed]
    if not parts:
        parts = [f"this run's new rows passed, but the quality gate of {state.industry} is still closed "
                 f"by earlier failed validations:", state.describe()]
    else:
        parts.append(resolve_hint(state.industry))
    raise QualityGateFailed("\n".join(parts), failed[0] if failed else None)


def blocked_result(state: GateState) -> dict:
    """What publish returns for an industry it refused (one entry in its result list)."""
    return {"table": None, "blocked": True, "industry": state.industry,
            "closed_by_runs": [c["run_id"] for c in state.closures],
            "failed": sorted({f["name"] for c in state.closures for t in c["detail"] for f in t["failed"]}),
            "message": state.describe()}


def raise_if_blocked(published: dict[str, list[dict]]) -> None:
    """For the metrics task: after every industry had its turn, fail if any was blocked, listing them."""
    blocked = [r for results in published.values() for r in results if r.get("blocked")]
    if blocked:
        raise PublishBlocked(f"gold not published for {len(blocked)} industr{'y' if len(blocked) == 1 else 'ies'} "
                             f"with a closed quality gate (the others were published):\n"
                             + "\n".join(r["message"] for r in blocked))
