"""The pipeline's stages, called the same way by `brain run` and by the DAGs.

ingest (Kafka -> bronze -> silver/quarantine/duplicates, one pass per industry)
-> validate (Great Expectations on the rows this run added) -> publish (gold).
Each stage takes a Config and plain values and returns a plain report, so an
Airflow task is one call and its return value is the task's XCom.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field

from brain import industries
from brain.config import Config
from brain.contracts.topic_names import topic_for
from brain.lake.tables import bronze_table, is_delta, silver_table, table_path


def new_run_id() -> str:
    return time.strftime("run_%Y%m%dT%H%M%SZ_", time.gmtime()) + uuid.uuid4().hex[:8]


def _spark(cfg: Config):
    from brain.spark import get_session

    return get_session(cfg)


def lanes(cfg: Config, industry: str):
    """The industry's record types as the one pass sees them (topic, bronze, silver, spec)."""
    from brain.clean.industry_pass import Lane

    specs = industries.record_specs(cfg, industry)
    return [Lane(topic_for(cfg, industry, rt), bronze_table(industry, rt), silver_table(industry, rt),
                 specs[rt]) for rt in cfg.get(f"industries.{industry}.record_types")]


def ingest(cfg: Config, industry: str, run_id: str | None = None, recover: bool = False, log=print) -> dict:
    """Kafka -> bronze -> silver / quarantine / duplicates for every record type of the industry, in
    one streaming query (brain.clean.industry_pass); ``{"ingest": [per topic], "clean": [per table]}``.

    ``recover``: after a lost checkpoint, clean what bronze holds that nothing
    accounts for and resume each partition after the last offset bronze holds.
    """
    from brain.clean.industry_pass import run_pass
    from brain.clean.shared_tables import ensure_shared_tables
    from brain.serve import lineage_events

    spark = _spark(cfg)
    ensure_shared_tables(spark, cfg)
    ways = lanes(cfg, industry)
    out = run_pass(spark, cfg, industry, ways, run_id or new_run_id(), recover, log)
    report = {"ingest": [asdict(r) for r in out.ingest], "clean": out.clean}
    lineage_events.ingest(cfg, industry, ways, report)
    return report


def stream(cfg: Config, industry_names: list[str], run_id: str, log=print, report_every_s: float = 30.0) -> None:
    """Run every industry's pass continuously (processing-time trigger) until stopped.

    Validation and gold stay on the schedule (the DAGs): they work on whole
    runs. Progress is logged every ``report_every_s`` seconds.
    """
    from brain.clean.industry_pass import PassTotals, prepare, retire, start_pass
    from brain.clean.shared_tables import ensure_shared_tables

    if cfg.get("pipeline.trigger") != "continuous":
        raise ValueError("stream() needs pipeline.trigger=continuous (brain ingest --continuous sets it)")
    spark = _spark(cfg)
    spark.streams.resetTerminated()  # only this stream's queries should end the wait below
    ensure_shared_tables(spark, cfg)
    totals = []
    for ind in industry_names:
        ways = lanes(cfg, ind)
        start = prepare(spark, cfg, ind, ways, run_id, log=log)
        totals.append(PassTotals())
        start_pass(spark, cfg, ind, ways, run_id, totals[-1], start.offsets)
        retire(cfg, start.retire)
    log(f"streaming {', '.join(industry_names)} (trigger every {cfg.get('pipeline.processing_time')}); "
        f"Ctrl-C stops")
    while spark.streams.active:
        spark.streams.awaitAnyTermination(report_every_s)  # raises if a query failed
        for t in totals:
            t.collect()
        cleaned = [c for t in totals for c in list(t.cleaned.values())]
        log(f"{time.strftime('%H:%M:%S')} silver +{sum(c.inserted for c in cleaned)}, "
            f"quarantine +{sum(c.quarantined for c in cleaned)}, "
            f"duplicates +{sum(c.duplicates for c in cleaned)}")


def backfill(cfg: Config, industry: str, start: str, end: str, run_id: str) -> list[dict]:
    """Reprocess bronze -> silver for rows ingested between two dates (inclusive)."""
    from datetime import date

    from brain.clean.shared_tables import ensure_shared_tables
    from brain.clean.silver import backfill as run_backfill

    first, last = date.fromisoformat(start), date.fromisoformat(end)
    if last < first:
        raise ValueError(f"backfill end {end} is before start {start}")
    specs = industries.record_specs(cfg, industry)
    ensure_shared_tables(_spark(cfg), cfg)
    out = []
    for rt in cfg.get(f"industries.{industry}.record_types"):
        res = run_backfill(_spark(cfg), cfg, specs[rt], bronze_table(industry, rt),
                           silver_table(industry, rt), run_id, first, last)
        out.append(res.as_dict())
    return out


def validate(cfg: Config, industry: str, run_id: str) -> list[dict]:
    """Great Expectations on the silver rows not validated yet: this run's, and those
    of any earlier run that died before validating (quality.validated_runs).

    Rows failing a `quarantine` expectation move to quarantine; the results
    go to quality.validation_results and Data Docs. A failed `fail`
    expectation closes the industry's quality gate (brain.quality.gate) and
    raises QualityGateFailed; so does a gate still closed by an earlier run.
    Either fails the Airflow task and leaves the silver Asset unmarked, and
    publish() skips the industry until an operator releases the gate.
    """
    from pyspark.sql import functions as F

    from brain import quality
    from brain.clean.quarantine import move_to_quarantine
    from brain.quality import gate
    from brain.quality.results import mark_validated_all, unvalidated_runs_of
    from brain.quality.suites import suite_path

    spark = _spark(cfg)
    specs = industries.record_specs(cfg, industry)
    reports, failed, validated, outcomes = [], [], [], []
    names = {rt: silver_table(industry, rt) for rt in cfg.get(f"industries.{industry}.record_types")}
    unvalidated = unvalidated_runs_of(spark, cfg, [n for n in names.values() if is_delta(table_path(cfg, n))])
    for rt, name in names.items():
        path = table_path(cfg, name)
        if not suite_path(cfg, name).is_file():
            reports.append({"table": name, "validated": False, "reason": f"no suite {suite_path(cfg, name)}"})
            continue
        pending = unvalidated.get(name, {})
        if not pending:
            reports.append({"table": name, "validated": False, "reason": "no new rows"})
            continue
        days = sorted({d for ds in pending.values() for d in ds})
        rows = (spark.read.format("delta").load(str(path))
                .where(F.col("event_date").isin(days) & F.col("_run_id").isin(sorted(pending))))
        outcome = quality.validate_batch(spark, rows, name, run_id, cfg, docs=False)  # built once, below
        outcomes.append(outcome)
        try:
            moved = 0
            if outcome.has_quarantine:
                t = time.perf_counter()
                moved = move_to_quarantine(spark, cfg, specs[rt], name, outcome.quarantine_df,
                                           bronze_table(industry, rt))
                outcome.timings_s["move_to_quarantine"] = time.perf_counter() - t
        finally:
            outcome.release()
        if not outcome.success:
            failed.append((outcome, sorted(pending)))
        validated.append((name, sorted(pending)))
        reports.append({"table": name, "validated": True, "success": outcome.success, "rows": outcome.row_count,
                        "runs": sorted(pending), "expectations": len(outcome.results),
                        "failed": [r.name for r in outcome.results if not r.success],
                        "quarantined_by_expectations": moved})
    t = time.perf_counter()
    index = quality.build_docs_for(cfg, outcomes)  # index.html once for every table, not once per table
    if outcomes:  # the one build, timed on the last table: the tables' phases still add up
        outcomes[-1].timings_s["data_docs"] = time.perf_counter() - t
    for r, outcome in zip([r for r in reports if r["validated"]], outcomes):
        outcome.data_docs_index = r["data_docs"] = index
        r["seconds"] = {k: round(v, 3) for k, v in outcome.timings_s.items()}
    details = [gate.failure_detail(outcome, runs) for outcome, runs in failed]
    quality.record_results(spark, outcomes, cfg)  # one commit for every table
    if details:  # closed before the runs count as validated: a crash in between re-validates, never leaks
        gate.close(spark, cfg, industry, run_id, details)
    mark_validated_all(spark, cfg, validated, run_id)
    gate.check_after_validation(gate.read_state(spark, cfg, industry), [outcome for outcome, _ in failed])
    return reports


def publish(cfg: Config, industry: str) -> list[dict]:
    """Gold for the industry's pending days; while its quality gate is closed, one
    ``{"blocked": True, ...}`` entry instead (no raise: other industries still publish)."""
    from brain.gold.publish import publish_industry
    from brain.quality import gate
    from brain.serve import lineage_events

    module = industries.load(cfg, industry)
    state = gate.read_state(_spark(cfg), cfg, industry)
    if not state.is_open:
        return [gate.blocked_result(state)]
    results = publish_industry(_spark(cfg), cfg, industry, module)
    report = [{"table": r.table, "days": [str(d) for d in r.days], "rows": r.rows} for r in results]
    lineage_events.publish(cfg, industry, {
        gold: tuple(silver_table(industry, rt) for rt in (spec[0] if isinstance(spec[0], tuple) else (spec[0],)))
        for gold, spec in module.GOLD.items()}, report)
    return report


def validate_gold(cfg: Config, published: dict[str, list[dict]]) -> list[dict]:
    """Great Expectations on the gold days just published (tables with a suite in expectations/).

    Warn by default: results land in quality.validation_results and Data Docs
    next to silver's; an operator can make a gold expectation `fail` in config.
    """
    from datetime import date

    from brain.quality.gold_suites import validate_gold as run_validate

    spark = _spark(cfg)
    return [run_validate(spark, cfg, r["table"], [date.fromisoformat(d) for d in r["days"]])
            for results in published.values() for r in results if r.get("days")]


def publish_enterprise(cfg: Config) -> list[dict]:
    """gold.enterprise_brain for the days the industries' publishes recomputed since its last build
    (run after them), with the cross-industry energy per tonne of the same days, then one message per
    site and rebuilt day on Kafka ``brain.metrics``."""
    from brain.gold.enterprise import line_tables, pending_days
    from brain.gold.enterprise import publish_enterprise as run_publish
    from brain.gold.metrics import energy_intensity
    from brain.gold.publish import publish as publish_gold
    from brain.serve import lineage_events
    from brain.serve.metrics_topic import SOURCE, SOURCE_HOURLY, announce
    from brain.serve.metrics_topic import topic as metrics_topic

    spark = _spark(cfg)
    lines = line_tables({ind: industries.load(cfg, ind).GOLD for ind in cfg.industry_names()})
    days = pending_days(spark, cfg, lines)
    reports = []
    cross = energy_intensity.sources(cfg.industry_names())
    if cross and days:  # cross-industry gold: energy meters x raw-materials output, same days
        r = publish_gold(spark, cfg, energy_intensity.GOLD_TABLE, cross,
                         energy_intensity.daily_site_energy_per_tonne, days)
        reports.append({"table": r.table, "days": [str(d) for d in r.days], "rows": r.rows})
        if r.days:
            lineage_events.derived(cfg, "enterprise.publish.energy_per_tonne", cross.values(), r.table)
    # Subscribers to brain.metrics hear of exactly the site-days just rebuilt, before the build counts
    # as done: a failed announcement is retried with the rebuild (at least once), never skipped.
    report = run_publish(spark, cfg, lines, days, after_write=lambda built: announce(cfg, days=built))
    report["announced"] = report.pop("after_write", 0)
    if report["days"]:
        for name, sources in lineage_events.enterprise_sources(lines).items():
            lineage_events.derived(cfg, f"enterprise.publish.{name.split('.', 1)[1]}", sources, name)
    if report["announced"]:
        lineage_events.announced(cfg, [SOURCE, SOURCE_HOURLY], metrics_topic(cfg))
    return [report, *reports]  # the enterprise report first: callers and the DAG read it as [0]


@dataclass
class CycleReport:
    run_id: str
    industries: dict = field(default_factory=dict)
    seconds: float = 0.0
    enterprise: list = field(default_factory=list)
    enterprise_seconds: float = 0.0

    def totals(self) -> dict:
        t = {"records_in": 0, "inserted": 0, "quarantined": 0, "duplicates": 0}
        for ind in self.industries.values():
            for c in ind.get("clean", []):
                t["records_in"] += c["bronze_rows"]
                t["inserted"] += c["inserted"]
                t["quarantined"] += c["quarantined"]
                t["duplicates"] += c["duplicates"]
        return t


def run_cycle(cfg: Config, industry_names: list[str], run_id: str | None = None, log=print) -> CycleReport:
    """One full cycle for each industry, without the scheduler.

    With ``pipeline.overlap_industries`` (the default) the next industry's ingest
    runs while the previous one validates and publishes
    (brain.concurrency.two_lanes); every industry runs, and a failure is raised
    once all have ended, before the enterprise brain. Each industry's report
    holds its stage times under ``seconds``.
    """
    from brain.clean.shared_tables import ensure_shared_tables
    from brain.concurrency import two_lanes

    run_id = run_id or new_run_id()
    report = CycleReport(run_id)
    started = time.monotonic()
    ensure_shared_tables(_spark(cfg), cfg)  # once, before two industries could both create them

    def timed(r: dict, stage: str, call, *args):
        t = time.monotonic()
        r[stage] = call(cfg, *args)
        r.setdefault("seconds", {})[stage] = round(time.monotonic() - t, 3)

    def to_silver(ind: str) -> dict:
        r: dict = {}
        log(f"[{ind}] ingest: Kafka -> bronze -> silver / quarantine / duplicates")
        timed(r, "ingest", ingest, ind, run_id, False, log)
        r["clean"] = r["ingest"]["clean"]  # the same pass: per-table fates next to per-topic ingest
        r["ingest"] = r["ingest"]["ingest"]
        return r

    def to_gold(ind: str, r: dict) -> dict:
        log(f"[{ind}] validate: Great Expectations on this run's rows")
        timed(r, "validate", validate, ind, run_id)
        log(f"[{ind}] publish: gold tables for the touched days")
        timed(r, "publish", publish, ind)
        return r

    for ind, (_, r) in zip(industry_names, two_lanes(industry_names, to_silver, to_gold,
                                                    bool(cfg.get("pipeline.overlap_industries", True)))):
        report.industries[ind] = r
    log("[enterprise] publish: gold.enterprise_brain for the days the industries recomputed")
    t = time.monotonic()
    report.enterprise = publish_enterprise(cfg)
    report.enterprise_seconds = round(time.monotonic() - t, 3)
    report.seconds = round(time.monotonic() - started, 1)
    return report
