"""Where a small cycle's Spark jobs come from: a warm run_cycle, job by job, grouped by the step that ran them.

    python -m bench.profile_cycle [--records 2000] [--industry all] [--top 40] [--json] [--conf KEY=VALUE] [--cold]

Runs in the bench's isolated world (its own broker on the bench port, a
fresh lake): simulates ``--records`` records (5 % bad), runs one cycle to
warm the session, simulates as many again and profiles the second cycle
from Spark's event log. Job counts do not depend on the machine's load, so
they compare two commits even on a busy machine; job seconds and wall time
do not, and fewer jobs is not always less work (adaptive execution submits
each shuffle stage as a job of its own; docs/benchmarks.md). A job's step is
the label of the pipeline function that caused it (STEPS below, nested as
"publish > gold table"; a streamed batch's jobs sit under its query's run
id); its "what" is Delta's description when it set one (snapshot rebuilds,
file filtering) and the action otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

from bench import cycles, env

# (module, function, label): each call's Spark jobs carry the label (nested: "publish > gold table").
# A Spark job group is a thread-local property that adaptive execution's stage jobs and Delta's own
# jobs inherit, so every job lands under the step of ours that caused it.
STEPS = [
    ("brain.pipeline", "validate", "validate"),
    ("brain.pipeline", "publish", "publish"),
    ("brain.pipeline", "publish_enterprise", "enterprise"),
    ("brain.clean.industry_pass", "append", "bronze append"),
    ("brain.clean.industry_pass", "judge", "judge"),
    ("brain.clean.industry_pass", "write_judged", "write fates"),
    ("brain.clean.industry_pass", "kafka_to_bronze_frame", "read batch"),
    ("brain.clean.silver", "_classified", "classify"),
    ("brain.clean.silver", "_not_in_quarantine", "not in quarantine"),
    ("brain.clean.silver", "mark_duplicates", "dedupe"),
    ("brain.clean.silver", "_write_silver", "silver"),
    ("brain.clean.silver", "not_recorded", "not recorded"),
    ("brain.clean.silver", "write", "keyed write"),
    ("brain.clean.silver", "record_touched", "touched days"),
    ("brain.quality", "validate_batch", "gx"),
    ("brain.quality", "record_results", "results"),
    ("brain.quality", "build_docs_for", "data docs"),
    ("brain.quality.results", "unvalidated_runs_of", "unvalidated runs"),
    ("brain.quality.results", "mark_validated_all", "mark validated"),
    ("brain.clean.quarantine", "move_to_quarantine", "move to quarantine"),
    ("brain.quality.gate", "read_state", "gate state"),
    ("brain.gold.publish", "read_sources", "read silver"),
    ("brain.gold.publish", "earlier_days", "earlier days"),
    ("brain.gold.publish", "publish", "gold table"),
    ("brain.gold.publish", "stamp_published", "stamp published"),
    ("brain.quality.scorecard", "publish_scorecard", "scorecard"),
]
GROUP = "spark.jobGroup.id"


def label_steps() -> None:
    """Wrap every function of STEPS so that the Spark jobs it runs carry its label."""
    import functools
    import importlib

    from pyspark import SparkContext

    def wrap(fn, label):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            sc = SparkContext._active_spark_context
            prev = sc.getLocalProperty(GROUP) if sc else None
            if sc:
                sc.setLocalProperty(GROUP, f"{prev} > {label}" if prev else label)
            try:
                return fn(*args, **kwargs)
            finally:
                if sc:
                    sc.setLocalProperty(GROUP, prev)
        return inner

    for module, name, label in STEPS:
        mod = importlib.import_module(module)
        setattr(mod, name, wrap(getattr(mod, name), label))


def read_jobs(log_dir: Path, since_ms: int, until_ms: float = float("inf")) -> list[dict]:
    """Jobs submitted at or after ``since_ms`` and before ``until_ms`` (epoch ms), from the
    uncompressed event log under ``log_dir`` (Spark 4 rolls it over files in a folder of its own).

    A job's "where" is the call site of the SQL query at the root of the one
    that ran it: adaptive execution's shuffle stages and Delta's log work run
    as jobs of their own, under the query a line of ours started.
    """
    starts: dict[int, dict] = {}
    queries: dict[str, str] = {}  # root SQL execution id -> call site
    for f in sorted(p for p in log_dir.rglob("*") if p.is_file() and "events" in p.name):
        for line in f.open():
            ev = json.loads(line)
            kind = ev.get("Event", "")
            if kind.endswith("SparkListenerSQLExecutionStart"):
                if ev.get("rootExecutionId", ev["executionId"]) == ev["executionId"]:
                    queries[str(ev["executionId"])] = ev.get("description", "")
            elif kind == "SparkListenerJobStart" and since_ms <= ev["Submission Time"] < until_ms:
                props = ev.get("Properties") or {}
                stages = ev.get("Stage Infos") or [{}]
                starts[ev["Job ID"]] = {"where": props.get(GROUP) or props.get("callSite.short", ""),
                                        "root": props.get("spark.sql.execution.root.id", ""),
                                        "stage": stages[0].get("Stage Name", "?"),
                                        "description": props.get("spark.job.description", ""),
                                        "start": ev["Submission Time"], "end": None}
            elif kind == "SparkListenerJobEnd" and ev["Job ID"] in starts:
                starts[ev["Job ID"]]["end"] = ev["Completion Time"]
    for job in starts.values():
        job["where"] = job["where"] or queries.get(job["root"], "") or job["stage"]
    return list(starts.values())


def what(job: dict) -> str:
    """Delta's own description with version numbers dropped, or the action from the call site."""
    d = re.sub(r"\d+", "N", job["description"].split("\n")[0])[:60]
    return d or job["stage"].split(" at ")[0]


def summarise(jobs: list[dict]) -> list[dict]:
    groups: dict = defaultdict(lambda: {"jobs": 0, "seconds": 0.0})
    for j in jobs:
        g = groups[(j["where"], what(j))]
        g["jobs"] += 1
        g["seconds"] += ((j["end"] or j["start"]) - j["start"]) / 1000
    rows = [{"where": w, "what": k, "jobs": g["jobs"], "seconds": round(g["seconds"], 1)}
            for (w, k), g in groups.items()]
    return sorted(rows, key=lambda r: -r["jobs"])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--records", type=int, default=2000, help="records per cycle (default 2000)")
    p.add_argument("--industry", default="all", help="one industry or all (default)")
    p.add_argument("--top", type=int, default=40, help="rows of the table (default 40)")
    p.add_argument("--json", action="store_true", help="print the whole profile as JSON")
    p.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                   help="an extra Spark setting for both cycles, to compare one against the default (repeatable)")
    p.add_argument("--cold", action="store_true",
                   help="profile the first cycle (fresh lake: every table created, JIT cold) instead of the second")
    args = p.parse_args(argv)

    work = env.new_workdir()
    env.isolate(work)
    log_dir = work / "eventlog"
    log_dir.mkdir()
    extra = dict(c.split("=", 1) for c in args.conf)
    os.environ["BRAIN__SPARK__EXTRA_CONF"] = json.dumps({
        **extra, "spark.eventLog.enabled": "true", "spark.eventLog.dir": str(log_dir),
        "spark.eventLog.compress": "false"})
    from brain import config

    cfg = config.load()
    industries = cfg.select_industries(args.industry)

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    with env.Broker(cfg, log=say):
        from brain.simulator.run import run_simulation
        from brain.spark import get_session

        get_session(cfg)
        label_steps()
        cfg = env.scoped(work, "profile", env.new_prefix("profile"))
        runs, firsts = [], []
        for seed in (21, 22):  # the first cycle warms the session and creates every table
            sim = run_simulation(cfg, industry=industries, records=args.records, seed=seed,
                                 bad_ratio=cycles.BAD_RATIO)
            since = int(time.time() * 1000)
            firsts.append(since)
            res = cycles.cycle(cfg, industries, sim.total, [])
            runs.append(res)
            say(f"cycle with seed {seed}: {res['seconds']} s, {res['totals']}")
        get_session(cfg).stop()  # flushes the event log
    cold = read_jobs(log_dir, firsts[0], firsts[1])
    jobs = cold if args.cold else read_jobs(log_dir, since)
    cold_jobs = len(cold)
    rows = summarise(jobs)
    out = {"records": args.records, "industries": industries, "cycle_s": runs[-1]["seconds"],
           "cold_cycle_s": runs[0]["seconds"], "cold_jobs": cold_jobs, "conf": extra,
           "stages_s": runs[-1]["stages_s"], "jobs": len(jobs), "by_site": rows}
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    which = runs[0] if args.cold else runs[-1]
    kind = "the cold first" if args.cold else "a warm"
    print(f"{len(jobs)} Spark jobs in {kind} cycle of {args.records:,} records over {len(industries)} "
          f"industries ({which['seconds']} s wall; the cold first cycle: {cold_jobs} jobs, "
          f"{runs[0]['seconds']} s)")
    print(f"{'jobs':>5} {'job s':>7}  {'step':<48} what")
    for r in rows[:args.top]:
        print(f"{r['jobs']:>5} {r['seconds']:>7.1f}  {r['where'][:48]:<48} {r['what']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
