"""Data quality: Great Expectations validation of each batch's new rows.

- ``validate_batch`` runs a table's suite (``expectations/<layer>.<table>.json``)
  on the batch with GX on Spark and splits off rows for quarantine;
- ``record_results`` appends the per-expectation results to
  ``quality.validation_results``;
- ``enforce`` raises ``QualityGateFailed`` when a `fail` expectation failed;
  ``gate`` keeps the industry's publishing blocked until an operator releases
  it (``gate_release``, ``brain quality gate``).
"""

from brain.quality.gate import PublishBlocked, QualityGateFailed, enforce, gate_message
from brain.quality.policy import FAIL, POLICIES, QUARANTINE, WARN
from brain.quality.results import RESULTS_TABLE, record_results
from brain.quality.rowlevel import QUARANTINE_TYPES, QuarantineMismatch
from brain.quality.suites import Suite, SuiteError, load_suite, parse_suite
from brain.quality.validate import ExpectationOutcome, ValidationOutcome, build_docs_for, validate_batch

__all__ = [
    "FAIL",
    "POLICIES",
    "QUARANTINE",
    "QUARANTINE_TYPES",
    "RESULTS_TABLE",
    "WARN",
    "ExpectationOutcome",
    "PublishBlocked",
    "QualityGateFailed",
    "QuarantineMismatch",
    "Suite",
    "SuiteError",
    "ValidationOutcome",
    "enforce",
    "gate_message",
    "load_suite",
    "parse_suite",
    "record_results",
    "validate_batch",
    "build_docs_for",
]
