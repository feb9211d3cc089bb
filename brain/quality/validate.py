"""validate_batch: GX on a batch's new rows, plus the quarantine split.

Call it on the rows a run is about to add (not the whole table):

    outcome = validate_batch(spark, new_rows, "silver.energy_meter", run_id, cfg)
    write(outcome.passed_df); quarantine(outcome.quarantine_df)
    record_results(spark, outcome, cfg)
    outcome.release()          # drop the cached batch
    enforce(outcome)           # raises QualityGateFailed on a failed `fail` expectation
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from brain.config import Config
from brain.quality.gx_run import SuiteRun, build_docs, result_name
from brain.quality.policy import FAIL, QUARANTINE
from brain.quality.rowlevel import (
    QuarantineMismatch,
    count_flags,
    flag_rows,
    split,
    unexpected_condition,
)
from brain.quality.settings import QualitySettings
from brain.quality.suites import Rule, Suite, load_suite
from brain.spark import codegen_for

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExpectationOutcome:
    name: str                       # "<type>:<column>": the quarantine reason and results key
    expectation_type: str
    column: str | None
    policy: str
    success: bool
    element_count: int | None       # rows looked at; None for table-level / aggregate expectations
    unexpected_count: int | None    # None where GX reports an observed value instead
    unexpected_sample: tuple[str, ...] = ()  # failing rows' sample_column (event_id), at most sample_size
    observed_value: Any = None      # aggregate expectations (e.g. a mean)
    error: str | None = None        # GX could not evaluate it (e.g. missing column)


@dataclass
class ValidationOutcome:
    run_id: str
    table_name: str
    suite_name: str
    validated_at: dt.datetime
    success: bool                   # False iff a `fail` expectation failed or any expectation errored
    results: list[ExpectationOutcome]
    passed_df: DataFrame
    quarantine_df: DataFrame      # batch columns + reason (first failing rule) + reasons (all)
    row_count: int | None = None
    quarantined_count: int | None = None  # known when verify_quarantine is on
    data_docs_index: str | None = None
    docs_resources: list = field(default_factory=list)  # for build_docs_for when validate_batch built none
    sample_column: str = "event_id"
    timings_s: dict[str, float] = field(default_factory=dict)
    _cached: DataFrame | None = None

    def failed(self, policy: str | None = None) -> list[ExpectationOutcome]:
        return [r for r in self.results if not r.success and (policy is None or r.policy == policy)]

    @property
    def blocking(self) -> list[ExpectationOutcome]:
        """What makes success False: failed `fail` expectations and any that errored."""
        return [r for r in self.results if (not r.success and r.policy == FAIL) or r.error]

    @property
    def has_quarantine(self) -> bool:
        """Whether quarantine_df may hold rows: a `quarantine` expectation counted unexpected rows
        (even one that passed thanks to ``mostly``). Cheaper than counting quarantine_df."""
        return any(r.policy == QUARANTINE and r.unexpected_count for r in self.results)

    def release(self) -> None:
        """Unpersist the batch cached for validation; call after passed/quarantine are written."""
        if self._cached is not None:
            self._cached.unpersist()
            self._cached = None


def validate_batch(spark: SparkSession, df: DataFrame, table_name: str, run_id: str,
                   cfg: Config, *, cache: bool | None = None, docs: bool = True) -> ValidationOutcome:
    """Validate the new rows ``df`` of ``table_name`` with its suite; split off quarantined rows.

    ``cache`` (default: config quality.cache_batch) materialises ``df`` once
    (localCheckpoint) for the validation's several passes; pass False when
    ``df`` is already materialised, a persisted ``df`` is never copied twice.
    ``docs`` False leaves Data Docs to one ``build_docs_for`` over several outcomes.
    Raises SuiteError for a bad suite, QuarantineMismatch if the row-level
    split disagrees with GX (a bug); a failed expectation never raises here
    (see ``enforce``).
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    settings = QualitySettings.from_config(cfg)
    suite = load_suite(cfg, table_name)
    timings["suite"] = time.perf_counter() - t0
    cached = None
    cache = settings.cache_batch if cache is None else cache
    if cache and not df.storageLevel.useMemory and not df.storageLevel.useDisk:
        # GX scans the batch at least twice (aggregation + unique window), the split and
        # the writes once more each: materialising once is cheaper than recomputing upstream.
        # A local checkpoint, not persist(): building the compressed columnar cache took longer
        # than GX's own jobs (1 M silver rows: 6-7 s against 1.6-4 s, docs/benchmarks.md).
        # Over Spark Connect, persist() as before: a client-side checkpoint's handle releases itself
        # from __del__ with a blocking gRPC call, and with GX's frames over it that call hung the
        # validate task (py-spy: MainThread in CachedRemoteRelation.__del__, waiting for a thread
        # to start; tests/integration/test_pipeline_over_connect.py).
        from brain.spark import is_connect

        if is_connect(df.sparkSession):
            cached = df = df.persist()  # lazy: filled by GX's first job, so its cost shows in ``gx``
        else:
            t0 = time.perf_counter()
            cached = df = df.localCheckpoint()
            timings["materialise"] = time.perf_counter() - t0
    try:
        # GX's aggregates over a large batch pay back compiling them; a small one's do not (brain.spark).
        rows = df.count() if cached is not None else None
        with codegen_for(df.sparkSession, cfg, rows):
            outcome = _validate(settings, suite, df, table_name, run_id, timings, docs)
    except BaseException:
        if cached is not None:
            cached.unpersist()
        raise
    outcome._cached = cached
    return outcome


def _validate(settings: QualitySettings, suite: Suite, df: DataFrame, table_name: str, run_id: str,
              timings: dict[str, float], docs: bool = True) -> ValidationOutcome:
    validated_at = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    gx_run = SuiteRun(settings, suite, df, run_id, validated_at)
    by_name = {result_name(er): er for er in gx_run.run().results}
    timings["gx"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    to_sample = [n for n, er in by_name.items() if (er.result or {}).get("unexpected_count")]
    try:
        if to_sample:  # spliced into the GX results read below
            gx_run.add_samples(to_sample)
    except Exception:  # samples illustrate the counts; losing them must not lose the validation
        log.warning("sampling failing rows failed for %s run %s", table_name, run_id, exc_info=True)
    timings["samples"] = time.perf_counter() - t0
    results = [_outcome(rule, by_name.get(rule.name), settings.sample_column) for rule in suite.rules]

    t0 = time.perf_counter()
    passed_df, quarantine_df, quarantined = _quarantine(df, suite, results, settings.verify_quarantine)
    timings["quarantine_check"] = time.perf_counter() - t0

    index = None
    if docs:
        t0 = time.perf_counter()
        index = _docs_or_warn(settings, gx_run.docs_resources(), f"{table_name} run {run_id}", gx_run.context)
        timings["data_docs"] = time.perf_counter() - t0

    outcome = ValidationOutcome(
        run_id=run_id, table_name=table_name, suite_name=suite.name, validated_at=validated_at,
        success=True, results=results, passed_df=passed_df, quarantine_df=quarantine_df,
        row_count=max((r.element_count for r in results if r.element_count is not None), default=None),
        quarantined_count=quarantined, data_docs_index=index,
        docs_resources=[] if docs else gx_run.docs_resources(), sample_column=settings.sample_column,
        timings_s=timings)
    outcome.success = not outcome.blocking
    return outcome


def build_docs_for(cfg: Config, outcomes: list[ValidationOutcome]) -> str | None:
    """One Data Docs build for the outcomes validate_batch left without (``docs=False``): their
    runs' and suites' pages and index.html once, instead of index.html once per table; the index URL."""
    resources = [r for o in outcomes for r in o.docs_resources]
    what = ", ".join(o.table_name for o in outcomes if o.docs_resources)
    return _docs_or_warn(QualitySettings.from_config(cfg), resources, what) if resources else None


def _docs_or_warn(settings: QualitySettings, resources: list, what: str, context=None) -> str | None:
    try:
        return build_docs(settings, resources, context)
    except Exception:  # docs are a view of the stored results; never fail a batch over them
        log.warning("Data Docs rebuild failed for %s", what, exc_info=True)
        return None


def _outcome(rule: Rule, er: Any, sample_column: str) -> ExpectationOutcome:
    if er is None:  # GX dropped it: cannot happen for a suite parse_suite accepted
        return ExpectationOutcome(rule.name, rule.type, rule.column, rule.policy, False, None, None,
                                  error="no result from GX")
    res = er.result or {}
    error = gx_error(er.exception_info)
    keys = [d.get(sample_column) for d in res.get("partial_unexpected_index_list") or [] if isinstance(d, dict)]
    if not keys:  # no key column: fall back to the unexpected values themselves
        keys = list(res.get("partial_unexpected_list") or [])
    return ExpectationOutcome(
        name=rule.name, expectation_type=rule.type, column=rule.column, policy=rule.policy,
        success=bool(er.success), element_count=res.get("element_count"),
        unexpected_count=res.get("unexpected_count"),
        unexpected_sample=tuple("null" if k is None else str(k) for k in keys),
        observed_value=res.get("observed_value"), error=error)


def gx_error(info: Any) -> str | None:
    """The message of an exception GX caught while evaluating an expectation, if any.

    GX 1.x reports either one flat ``{raised_exception, exception_message}`` or
    one such dict per failed metric (e.g. a missing column).
    """
    if not isinstance(info, dict):
        return None
    found = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    messages = sorted({str(i.get("exception_message") or "exception") for i in found if i.get("raised_exception")})
    return "; ".join(messages) or None


def _quarantine(df: DataFrame, suite: Suite, results: list[ExpectationOutcome],
                verify: bool) -> tuple[DataFrame, DataFrame, int | None]:
    """(passed, quarantined, quarantined row count or None if not verified).

    Only quarantine rules GX found unexpected rows for take part: a clean batch
    costs no extra pass, and a rule GX counted zero for cannot move a row.
    An expectation GX could not evaluate has no count to match; it fails the gate instead.
    """
    from pyspark.sql import functions as F

    counts = {r.name: r.unexpected_count for r in results if not r.error}
    rules = [r for r in suite.by_policy(QUARANTINE) if counts.get(r.name)]
    flagged, flags = flag_rows(df, [(r.name, unexpected_condition(r.type, r.kwargs)) for r in rules])
    passed, quarantined = split(flagged, df.columns)
    if not rules:  # a false filter: Spark plans an empty relation, no scan
        return df, quarantined.where(F.lit(False)), 0
    if not verify:
        return passed, quarantined, None
    got, any_count = count_flags(flagged, flags)
    wrong = [(r.name, c, counts[r.name]) for r, c in zip(rules, got) if c != counts[r.name]]
    if wrong:
        raise QuarantineMismatch(
            "quarantine rows disagree with GX unexpected_count for " + ", ".join(
                f"{n} (rows {c}, GX {g})" for n, c, g in wrong) + "; refusing to split the batch")
    return passed, quarantined, any_count
