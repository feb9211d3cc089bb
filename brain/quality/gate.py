"""The quality gate: turn a failed validation into a failed task."""

from __future__ import annotations

from brain.quality.validate import ValidationOutcome


class QualityGateFailed(Exception):
    """A `fail`-policy expectation failed (or an expectation could not be evaluated)."""

    def __init__(self, message: str, outcome: ValidationOutcome):
        super().__init__(message)
        self.outcome = outcome


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
