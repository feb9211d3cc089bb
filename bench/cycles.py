"""What an operator waits for: one whole cycle at small size, one with nothing new, one reconciliation.

- ``cycle``: ``brain.pipeline.run_cycle`` (ingest -> clean -> validate ->
  publish for each industry, then the enterprise brain), timed as one call
  in the bench process, with each industry's stage times from its report;
- ``reconcile``: ``brain.ops.reconcile.reconcile`` over a lake, timed.
"""

from __future__ import annotations

import time

# The share of bad records README's example sends (`brain simulate --bad-ratio 0.05`), spread over every
# kind the simulator injects, so the cycle also pays quarantine, deduplication and late data.
BAD_RATIO = 0.05
# The bench runs in one Python process: the session every run_cycle call gets is the one it already started.
SESSION = ("the bench process's warm in-process SparkSession (brain.spark.get_session); "
           "a Spark Connect service is not wired into the bench yet")


def cycle(cfg, industries: list[str], records_sent: int, ran_before: list[str]) -> dict:
    """One run_cycle; ``records_sent`` is what the cycle should find new (0 for an empty cycle)."""
    from brain.pipeline import run_cycle

    started = time.perf_counter()
    report = run_cycle(cfg, industries, log=lambda m: None)
    seconds = time.perf_counter() - started
    # Industries overlap (pipeline.overlap_industries): stage times add up to more than the wall time.
    stages = {f"[{ind}] {stage}": s for ind, r in report.industries.items() for stage, s in r["seconds"].items()}
    stages["[enterprise] publish"] = report.enterprise_seconds
    totals = report.totals()
    return {"seconds": round(seconds, 3), "records_sent": records_sent, "industries": industries,
            "totals": totals, "accounted": totals["inserted"] + totals["quarantined"] + totals["duplicates"],
            "stages_s": stages, "overlap_industries": bool(cfg.get("pipeline.overlap_industries", True)),
            "run_id": report.run_id, "spark_session": SESSION, "session_ran_before": ran_before}


def mismatch(res: dict) -> str | None:
    """Why a cycle did not account for exactly the records sent to it, or None."""
    t = res["totals"]
    if res["records_sent"] == t["records_in"] == res["accounted"]:
        return None
    return (f"{res['records_sent']:,} records sent, {t['records_in']:,} read from bronze, {res['accounted']:,} "
            f"accounted for (silver {t['inserted']:,} + quarantine {t['quarantined']:,} + duplicates "
            f"{t['duplicates']:,})")


def reconcile(cfg, industries: list[str]) -> dict:
    from brain.ops.reconcile import reconcile as run_reconcile

    started = time.perf_counter()
    report = run_reconcile(cfg, industries)
    seconds = time.perf_counter() - started
    problems = report.problems + [f"{p.topic}[{p.partition}]: {m}" for p in report.mismatches() for m in p.problems]
    return {"seconds": round(seconds, 3), "ok": report.ok, "totals": report.totals(), "industries": industries,
            "partitions": len(report.partitions), "problems": problems[:5], "notes": report.notes[:5]}
