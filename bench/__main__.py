"""Run every benchmark side by side and write bench/results/latest.json and docs/benchmarks.md.

    python -m bench --mode quick|full|toy [--no-docs] [--out PATH]
    python -m bench --render-docs
    python -m bench --cluster [--cluster-records N]   # the loopback cluster (bench/cluster.py): cluster.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path

from bench import env, report

# Sizes per mode. quick fits in ~10 minutes on 2 loaded cores (see docs/benchmarks.md),
# full is the 10 M records; toy is for the smoke test.
MODES = {
    "toy": {"industries": ["energy"], "records": 400, "scaling_base": 50, "scaling_industries": ["energy"],
            "gx_rows": 2_000, "probes": 2, "probe_interval_s": 1.0, "cycles": 1, "freshness_timeout_s": 120,
            "processing_time": "2 seconds", "without_airflow": False, "cycle_records": 200,
            "bridge_messages": 200, "bridge_metrics": 10},
    # The sizes: 1 M records through all four industries (14 topics) and GX at 1 M rows. On two
    # cores that is about 20 minutes, not "a few": the pipeline alone needs several minutes for 1 M.
    # Scaling uses one industry at 25 k..200 k records, where per-record work already outweighs fixed costs.
    # The small cycle is issue #12's: 20 k records over the four industries.
    "quick": {"industries": None, "records": 1_000_000, "scaling_base": 25_000, "scaling_industries": ["energy"],
              "gx_rows": 1_000_000, "probes": 6, "probe_interval_s": 3.0, "cycles": 2, "freshness_timeout_s": 300,
              "processing_time": "5 seconds", "without_airflow": False, "cycle_records": 20_000,
              "bridge_messages": 5_000, "bridge_metrics": 10},
    "full": {"industries": None, "records": 10_000_000, "scaling_base": 1_250_000, "scaling_industries": None,
             "gx_rows": 1_000_000, "probes": 60, "probe_interval_s": 2.0, "cycles": 5, "freshness_timeout_s": 900,
             "processing_time": None, "without_airflow": True, "cycle_records": 20_000,
             "bridge_messages": 20_000, "bridge_metrics": 10},
}


class Bench:
    GROUPS = ("throughput", "overhead", "cycles", "gx", "scaling", "freshness", "edge")

    def __init__(self, mode: str, log=None, only: tuple[str, ...] = GROUPS, partial=None):
        self.mode, self.size = mode, MODES[mode]
        self.log = log or (lambda m: print(m, flush=True))
        self.only, self.partial = only, partial
        self.started = time.monotonic()
        self.details: dict = {}
        self.errors: dict = {}

    def say(self, msg: str) -> None:
        self.log(f"[bench {time.monotonic() - self.started:6.0f}s] {msg}")

    def measure(self, name: str, fn, *args, **kwargs):
        self.say(f"{name} ...")
        t = time.perf_counter()
        try:
            self.details[name] = fn(*args, **kwargs)
            self.say(f"{name} done in {time.perf_counter() - t:.1f}s")
        except Exception as exc:  # one failed figure must not lose the others
            self.errors[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:400] if str(exc) else ''}"
            self.say(f"{name} FAILED: {self.errors[name]}")
            traceback.print_exc()
        if self.partial is not None:  # what is measured so far survives a run cut short
            self.partial.write_text(json.dumps({"mode": self.mode, "groups": list(self.only), "details": self.details,
                                                "errors": self.errors}, default=str))
        return self.details.get(name)

    def run(self) -> dict:
        work = env.new_workdir()
        env.isolate(work)
        from brain import config

        cfg = config.load()
        s = self.size
        industries = s["industries"] or cfg.industry_names()
        machine = env.machine()
        machine["spark_master"] = cfg.get("spark.master")
        self.say(f"mode {self.mode}: {s['records']:,} records over {len(industries)} industries; work dir {work}")
        with env.Broker(cfg, log=lambda m: self.say(m)):
            from brain.spark import get_session

            t = time.perf_counter()
            # The edge group alone needs no JVM: starting one would only load the machine it measures.
            spark = get_session(cfg) if set(self.only) - {"edge"} else None
            spark_start = round(time.perf_counter() - t, 1) if spark else None
            if {"throughput", "cycles"} & set(self.only):
                self.measure("warm_up", self._warm_up, work, spark)
            if "throughput" in self.only:
                self._throughput(work, spark, industries)
            elif "overhead" in self.only:
                self._overhead_alone(work, industries)
            if "cycles" in self.only:
                self._cycles(work, industries)
            if "gx" in self.only:
                self._gx(work, spark)
            if "scaling" in self.only:
                self._scaling(work, industries)
            if "freshness" in self.only:
                self._freshness(work, spark)
            if "edge" in self.only:
                self._edge(work)
            if spark is not None:
                spark.stop()
        machine["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
        return self._results(machine, industries, spark_start)

    def _warm_up(self, work, spark) -> dict:
        """A tiny raw copy first: loading the Kafka source and Delta writer classes is paid once per
        process and would otherwise land on whichever measurement comes first. (The pipeline's own
        first-run costs, GX imports included, stay in its figure.)"""
        from bench import throughput
        from brain.simulator import run_simulation

        prefix = env.new_prefix("w")
        cfg = env.scoped(work, "warm_up", prefix)
        sim = run_simulation(cfg, industry=["energy"], records=50, seed=1)
        from brain.contracts.topic_names import all_topics

        raw = throughput.raw_copy(spark, cfg, all_topics(cfg, ["energy"]), sim.total)
        env.delete_topics(cfg, prefix)
        return {"raw_copy_s": raw["seconds"], "not_counted": True}

    def _throughput(self, work, spark, industries):
        from bench import cycles, overhead, queries, throughput
        from brain.contracts.topic_names import all_topics
        from brain.simulator import run_simulation

        s, prefix = self.size, env.new_prefix("t")
        cfg = env.scoped(work, "produce", prefix)
        topics = all_topics(cfg, industries)
        sim = self.measure("simulator", lambda: run_simulation(cfg, industry=industries, records=s["records"],
                                                               seed=7))
        if sim is None:
            raise RuntimeError("could not produce the benchmark data; nothing else can be measured")
        self.details["simulator"] = {"records": sim.total, "rps": round(sim.records_per_s, 1),
                                     "topics": sim.topics}
        n = sim.total
        self._check_kafka_holds(cfg, sim.topics)
        self.measure("broker_drain", throughput.broker_drain, cfg, prefix, n)
        self.measure("raw_copy", throughput.raw_copy, spark, env.scoped(work, "raw_copy", prefix), topics, n)
        self.measure("handrolled", throughput.handrolled, env.scoped(work, "handrolled", prefix), topics, n)
        pcfg = env.scoped(work, "pipeline", prefix)
        res = self.measure("pipeline", throughput.pipeline, pcfg, industries, n, log=self.say)
        if res is not None and res["accounted"] != n:
            self.errors["pipeline_accounting"] = (f"{n:,} records sent, {res['accounted']:,} accounted for "
                                                  f"(silver + quarantine + duplicates)")
        # On the lake exactly as the pipeline left it, before the overhead cycles below run on it.
        rec = self.measure("reconcile", cycles.reconcile, pcfg, industries)
        if rec is not None and not rec["ok"]:
            self.errors["reconcile_mismatch"] = f"not ok, totals {rec['totals']}: " + "; ".join(rec["problems"])
        if "overhead" in self.only:
            # Right after the pipeline drained the topics: a cycle with nothing new is pure overhead.
            self.measure("cycle_overhead", overhead.measure, pcfg, industries, work / "airflow", log=self.say,
                         without_airflow=s["without_airflow"])
        self.measure("query_paths", queries.measure, pcfg)
        env.delete_topics(cfg, prefix)

    def _check_kafka_holds(self, cfg, sent: dict[str, int]) -> None:
        """Every figure divides by the records sent: the broker must hold exactly those."""
        from brain.ingest.kafka_io import describe_topics

        held = {t.topic: t.total for t in describe_topics(cfg, list(sent))}
        self.details["simulator"]["kafka_holds"] = sum(held.values())
        short = {t: (n, held.get(t, 0)) for t, n in sent.items() if held.get(t, 0) != n}
        if short:
            self.errors["kafka_holds"] = "sent vs held per topic: " + ", ".join(
                f"{t} {a}/{b}" for t, (a, b) in sorted(short.items()))
            self.say(f"kafka holds other counts than sent: {self.errors['kafka_holds']}")

    def _overhead_alone(self, work, industries):
        """Cycle overhead in a process of its own (--only): the industries' topics exist but hold
        nothing and the lake is empty, so it misses the Delta log reads of a lake with data."""
        from bench import overhead
        from brain.contracts import topic_names
        from brain.ingest import kafka_io
        prefix = env.new_prefix("o")
        cfg = env.scoped(work, "overhead", prefix)
        kafka_io.create_topics(cfg, topic_names.all_topics(cfg, industries))
        res = self.measure("cycle_overhead", overhead.measure, cfg, industries, work / "airflow", log=self.say,
                           without_airflow=self.size["without_airflow"])
        if res is not None:
            res["setting"] = "separate process; empty topics and lake (no data ever ingested)"
        env.delete_topics(cfg, prefix)

    def _cycles(self, work, industries):
        """A small cycle on fresh topics and lake with bad records among the new ones, then the same cycle
        again with nothing new: what a scheduled run costs when little or no data arrived."""
        from bench import cycles
        from brain.simulator import run_simulation

        prefix = env.new_prefix("c")
        cfg = env.scoped(work, "cycles", prefix)
        sim = self.measure("cycle_data", lambda: run_simulation(
            cfg, industry=industries, records=self.size["cycle_records"], seed=11, bad_ratio=cycles.BAD_RATIO))
        if sim is None:
            return
        self.details["cycle_data"] = {"records": sim.total, "bad_ratio": cycles.BAD_RATIO,
                                      "kinds": {k: n for k, n in sim.kinds.items() if n}}
        for name, sent in (("small_cycle", sim.total), ("empty_cycle", 0)):
            res = self.measure(name, cycles.cycle, cfg, industries, sent, list(self.details))
            if res is None:
                break  # an empty cycle after a failed one would measure the failure's leftovers
            wrong = cycles.mismatch(res)
            if wrong:
                self.errors[f"{name}_accounting"] = wrong
        env.delete_topics(cfg, prefix)

    def _gx(self, work, spark):
        def gx():
            try:
                from bench.quality_validation import measure_gx_share
            except ImportError as exc:
                return {"available": False, "reason": f"bench.quality_validation.measure_gx_share missing ({exc})"}
            return {"available": True, **measure_gx_share(spark, env.scoped(work, "gx"), rows=self.size["gx_rows"])}
        res = self.measure("gx", gx)
        if isinstance(res, dict) and res.get("available") and res.get("validated_rows") != res.get("rows"):
            # A share of nothing is no figure: the rows were quarantined before the suite saw them.
            self.errors["gx_rows"] = (f"{res.get('rows'):,} rows cleaned, {res.get('validated_rows')} validated: "
                                      f"gx_share measures no validation")

    def _scaling(self, work, industries):
        from bench import throughput
        from brain.simulator import run_simulation

        s = self.size
        inds = s["scaling_industries"] or industries

        def scaling():
            out = {"base_records": s["scaling_base"], "industries": inds, "records": {}, "seconds": {}}
            for k in (1, 2, 4, 8):
                prefix = env.new_prefix(f"s{k}x")
                cfg = env.scoped(work, f"scaling{k}", prefix)
                sim = run_simulation(cfg, industry=inds, records=k * s["scaling_base"], seed=100 + k)
                res = throughput.pipeline(cfg, inds, sim.total, log=lambda m: None)
                out["records"][str(k)], out["seconds"][str(k)] = sim.total, res["seconds"]
                self.say(f"  scaling {k}x: {sim.total:,} records in {res['seconds']}s")
                env.delete_topics(cfg, prefix)
            t1, t8 = out["seconds"]["1"], out["seconds"]["8"]
            out["ratio_8x"] = round(t8 / t1, 2) if t1 else None
            return out
        self.measure("scaling", scaling)

    def _freshness(self, work, spark):
        from bench import freshness

        s = self.size
        cfg = env.scoped(work, "fresh_scheduled", env.new_prefix("fs"))
        self.measure("freshness_scheduled", freshness.scheduled, spark, cfg, s["cycles"], s["probe_interval_s"],
                     log=self.say)
        env.delete_topics(cfg, cfg.get("kafka.topic_prefix"))
        keys = {"pipeline.trigger": "continuous"}
        if s["processing_time"]:
            keys["pipeline.processing_time"] = s["processing_time"]
        cfg = env.scoped(work, "fresh_continuous", env.new_prefix("fc"), **keys)
        self.measure("freshness_continuous", freshness.continuous, spark, cfg, s["probes"], s["probe_interval_s"],
                     s["freshness_timeout_s"], log=self.say)
        for mode in ("scheduled", "continuous"):
            seen = self.details.get(f"freshness_{mode}") or {}
            if seen.get("unseen"):  # probes that never reached gold (quarantined, or a stalled stream)
                self.errors[f"freshness_{mode}_unseen"] = (f"{seen['unseen']} of {seen.get('probes')} probes "
                                                           "never visible")
        env.delete_topics(cfg, cfg.get("kafka.topic_prefix"))

    def _edge(self, work):
        from bench import bridge

        s = self.size
        self.measure("bridge", bridge.measure, lambda **keys: env.scoped(work, "bridge", env.new_prefix("b"), **keys),
                     s["bridge_messages"], s["bridge_metrics"], log=self.say)

    def _results(self, machine, industries, spark_start) -> dict:
        d = self.details

        def get(name, *path):
            v = d.get(name)
            for p in path:
                v = v.get(p) if isinstance(v, dict) else None
            return v

        def ratio(a, b):
            return round(a / b, 3) if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else None

        r = {
            "mode": self.mode, "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": machine, "spark_start_s": spark_start,
            "sizes": {"throughput_records": get("simulator", "records"), "industries": industries,
                      "cycle_records": self.size["cycle_records"],
                      "gx_rows": self.size["gx_rows"], "scaling_base": self.size["scaling_base"],
                      "probes": self.size["probes"]},
            "pipeline_rps": get("pipeline", "rps"), "raw_copy_rps": get("raw_copy", "rps"),
            "handrolled_rps": get("handrolled", "rps"), "broker_drain_rps": get("broker_drain", "rps"),
            "simulator_rps": get("simulator", "rps"),
            "gx_share": get("gx", "gx_share"),
            "freshness_continuous_p50_s": get("freshness_continuous", "p50_s"),
            "freshness_continuous_p95_s": get("freshness_continuous", "p95_s"),
            "freshness_scheduled_p50_s": get("freshness_scheduled", "p50_s"),
            "freshness_scheduled_p95_s": get("freshness_scheduled", "p95_s"),
            "cycle_overhead_s": get("cycle_overhead", "cycle_overhead_s"),
            "small_cycle_s": get("small_cycle", "seconds"), "empty_cycle_s": get("empty_cycle", "seconds"),
            "reconcile_s": get("reconcile", "seconds"),
            "scaling": d.get("scaling"), "scaling_8x_time_ratio": get("scaling", "ratio_8x"),
            "query_paths": d.get("query_paths"),
            "bridge_rps": get("bridge", "rps"), "bridge_messages_per_s": get("bridge", "messages_per_s"),
        }
        r["pipeline_vs_raw_copy"] = ratio(r["pipeline_rps"], r["raw_copy_rps"])
        r["pipeline_vs_handrolled"] = ratio(r["pipeline_rps"], r["handrolled_rps"])
        r["targets"] = report.check_targets(r)
        r["details"], r["errors"], r["groups"] = d, self.errors, list(self.only)
        r["total_s"] = round(time.monotonic() - self.started, 1)
        return r


def merge(parts: list[dict]) -> dict:
    """One result from runs of disjoint groups (same mode): details and errors united, figures recomputed."""
    modes = {p["mode"] for p in parts}
    if len(modes) != 1:
        raise SystemExit(f"--merge needs results of one mode, got {sorted(modes)}")
    bench = Bench(modes.pop())
    for p in parts:
        bench.details.update(p["details"])
        bench.errors.update(p["errors"])
    for p in parts:
        if "when" not in p:  # a partial.json: the run was stopped before it finished
            bench.errors[f"group {','.join(p['groups'])}"] = (
                f"run cut short; merged what it had measured: {', '.join(p['details']) or 'nothing'}")
    covered = {g for p in parts for g in p.get("groups", Bench.GROUPS)}
    for g in Bench.GROUPS:
        if g not in covered:
            bench.errors[f"group {g}"] = "no results for this group were merged (its run did not finish)"
    bench.only = tuple(g for g in Bench.GROUPS if g in covered)
    complete = [p for p in parts if "when" in p]
    first = min(complete, key=lambda p: p["when"])
    machine = dict(first["machine"])
    machine["load_average_1m_at_end"] = max(p["machine"].get("load_average_1m_at_end", 0) for p in complete)
    # The throughput part's industries describe pipeline_rps and its baselines.
    thr = next((p for p in complete if "simulator" in p["details"]), first)
    results = bench._results(machine, thr["sizes"]["industries"], thr.get("spark_start_s"))
    results["total_s"] = max(p["total_s"] for p in complete)
    results["merged_from"] = [{"when": p.get("when", "cut short"), "groups": p.get("groups"),
                               "total_s": p.get("total_s")} for p in parts]
    return results


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=sorted(MODES), default="quick")
    ap.add_argument("--render-docs", action="store_true", help="only redraw docs/benchmarks.md from latest.json")
    ap.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    ap.add_argument("--results-dir", help="write the JSON here instead of bench/results (the smoke test)")
    ap.add_argument("--only", help=f"comma-separated groups of {', '.join(Bench.GROUPS)} (default all); "
                                   "write each to its own --results-dir and combine them with --merge")
    ap.add_argument("--industries", help="comma-separated industries instead of the mode's (default: all four)")
    ap.add_argument("--merge", nargs="+", metavar="JSON", help="combine partial results (--only runs) into one")
    ap.add_argument("--cluster", action="store_true",
                    help="the loopback cluster's figures instead (bench/cluster.py): pipeline rps with 1 and 2 Spark "
                         "workers, broker-kill failover; writes bench/results/cluster.json")
    ap.add_argument("--cluster-records", type=int, default=20_000, help="energy records per --cluster pipeline run")
    args = ap.parse_args(argv)
    if args.cluster:
        from bench import cluster

        return cluster.main(args.cluster_records, Path(args.results_dir) if args.results_dir else None,
                            docs=not args.no_docs)
    if args.render_docs:
        report.update_doc(json.loads((report.RESULTS / "latest.json").read_text()))
        print(f"wrote {report.DOC}")
        return 0
    if args.merge:
        results = merge([json.loads(Path(p).read_text()) for p in args.merge])
    else:
        only = tuple(args.only.split(",")) if args.only else Bench.GROUPS
        unknown = set(only) - set(Bench.GROUPS)
        if unknown:
            ap.error(f"unknown group(s) {', '.join(sorted(unknown))}; known: {', '.join(Bench.GROUPS)}")
        if args.industries:
            MODES[args.mode] = {**MODES[args.mode], "industries": args.industries.split(",")}
        partial = Path(args.results_dir) / "partial.json" if args.results_dir else None
        if partial is not None:
            partial.parent.mkdir(parents=True, exist_ok=True)
        results = Bench(args.mode, only=only, partial=partial).run()
    path = report.write(results, Path(args.results_dir) if args.results_dir else report.RESULTS)
    if not args.no_docs:
        report.update_doc(results)
    print(json.dumps({k: results[k] for k in report.FIELDS if k not in ("scaling", "query_paths")}, indent=2))
    for t in results["targets"]:
        print(f"target {t['target']}: {'met' if t['met'] else t['gap']}")
    print(f"wrote {path}" + ("" if args.no_docs else f" and {report.DOC}"))
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
