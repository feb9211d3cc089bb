"""Freshness: seconds from a record being produced to its effect being visible in gold.

Probes are energy meter readings of 1 kWh each, all from one device (one
partition, so they are processed in order). The gold total for that site and
day then says how many probes are visible: probe k is visible at the first
observation where the total reaches k. Probes never seen are reported, not
dropped.

- continuous: brain.pipeline.stream (processing-time trigger) runs ingest and
  clean in a thread while the main thread recomputes the probes' gold day in
  a loop (brain.gold.publish.publish) and reads it;
- scheduled: a producer thread sends probes while the main thread runs
  brain.pipeline.run_cycle back to back, reading gold after each cycle.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime, timezone

# A registered meter (conf/assets.yaml: rm-baotou's bf-1 electricity meter): a device the registry
# does not have is quarantined unknown_asset:device, and no probe would ever reach gold.
SITE, DEVICE = "rm-baotou", "em-main"
GOLD = "gold.energy_daily_site_kwh"


def probe(now: float) -> tuple[bytes, bytes]:
    from brain.ingest import kafka_io

    ts = datetime.fromtimestamp(now, timezone.utc)
    rec = {"schema_version": "1.0", "event_id": str(uuid.uuid4()), "record_type": "energy_meter",
           "industry": "energy", "enterprise": "acme-industrial", "site": SITE, "area": "ironmaking",
           "line": "bf-1", "device": DEVICE, "event_ts": ts.isoformat(timespec="milliseconds"),
           "quality": "GOOD", "carrier": "electricity", "value": 1.0, "unit": "kWh", "interval_s": 60}
    return kafka_io.record_key(rec), kafka_io.encode(rec)


class Prober(threading.Thread):
    """Sends one probe every ``interval_s`` until stopped; keeps each probe's produce time."""

    def __init__(self, cfg, interval_s: float, limit: int):
        super().__init__(daemon=True)
        from brain.contracts.topic_names import topic_for

        self.cfg, self.interval_s, self.limit = cfg, interval_s, limit
        self.topic = topic_for(cfg, "energy", "energy_meter")
        self.sent: list[float] = []
        self.stop_event = threading.Event()
        self.error: BaseException | None = None

    def send_one(self) -> None:
        from brain.ingest import kafka_io

        now = time.time()
        key, value = probe(now)
        kafka_io.produce(self.cfg, [(self.topic, key, value)])
        self.sent.append(now)

    def run(self) -> None:
        try:
            while not self.stop_event.is_set() and len(self.sent) < self.limit:
                self.send_one()
                self.stop_event.wait(self.interval_s)
        except BaseException as exc:  # reported by the caller
            self.error = exc


def gold_total(spark, cfg) -> float:
    from pyspark.sql import functions as F

    from brain.lake.tables import is_delta, table_path

    path = table_path(cfg, GOLD)
    if not is_delta(path):
        return 0.0
    row = (spark.read.format("delta").load(str(path)).where(F.col("site") == SITE)
           .agg(F.sum("electricity_kwh").alias("t")).collect()[0])
    return float(row["t"] or 0.0)


def latencies(sent: list[float], observations: list[tuple[float, float]]) -> tuple[list[float], int]:
    """(latency of each probe seen, probes never seen). ``observations``: (time, gold total)."""
    out, unseen = [], 0
    for k, t_sent in enumerate(sent, start=1):
        seen = next((t for t, total in observations if total >= k - 1e-6 and t >= t_sent), None)
        if seen is None:
            unseen += 1
        else:
            out.append(seen - t_sent)
    return out, unseen


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, int(-(-q * len(ordered) // 1)) - 1))], 2)


def summary(sent, observations, mode: str, extra: dict) -> dict:
    lat, unseen = latencies(sent, observations)
    return {"mode": mode, "probes": len(sent), "unseen": unseen, "p50_s": percentile(lat, 0.50),
            "p95_s": percentile(lat, 0.95), "max_s": round(max(lat), 2) if lat else None, **extra}


def continuous(spark, cfg, probes: int, interval_s: float, timeout_s: float, log=print) -> dict:
    from brain import pipeline
    from brain.contracts.topic_names import topic_for
    from brain.gold import publish as gold
    from brain.industries.energy import daily_site_kwh
    from brain.ingest import kafka_io

    kafka_io.create_topics(cfg, [topic_for(cfg, "energy", "energy_meter")])
    errors: list[BaseException] = []

    def run_stream():
        try:
            pipeline.stream(cfg, ["energy"], pipeline.new_run_id(), log=lambda m: None, report_every_s=1.0)
        except BaseException as exc:
            errors.append(exc)

    today = datetime.now(timezone.utc).date()

    def observe() -> float:
        # The day's gold is recomputed directly: publish_industry skips a (day, run_id) it already
        # published, and a stream keeps one run_id (see docs/benchmarks.md).
        gold.publish(spark, cfg, GOLD, {"energy_meter": "silver.energy_meter"}, daily_site_kwh, [today])
        return gold_total(spark, cfg)

    streamer = threading.Thread(target=run_stream, daemon=True)
    streamer.start()
    prober = Prober(cfg, interval_s, probes + 1)
    try:
        # Warm-up probe: query start-up and table creation are not freshness.
        prober.send_one()
        deadline = time.time() + timeout_s
        while observe() < 1 and time.time() < deadline and not errors:
            time.sleep(0.5)
        warm = prober.sent[0]
        log(f"  continuous: warm-up probe visible after {time.time() - warm:.1f}s; sending {probes} probes")
        prober.start()
        observations: list[tuple[float, float]] = []
        while time.time() < deadline and not errors:
            total = observe()
            observations.append((time.time(), total))
            if not prober.is_alive() and total >= len(prober.sent) - 1e-6:
                break
        prober.stop_event.set()
        prober.join()
    finally:
        for q in spark.streams.active:
            q.stop()
        streamer.join(timeout=120)
    if errors:
        raise errors[0]
    if prober.error:
        raise prober.error
    # The warm-up probe counts in the total: shift by one.
    obs = [(t, total - 1) for t, total in observations]
    return summary(prober.sent[1:], obs, "continuous",
                   {"trigger": str(cfg.get("pipeline.processing_time")), "interval_s": interval_s,
                    "observations": len(observations)})


def scheduled(spark, cfg, cycles: int, interval_s: float, log=print) -> dict:
    from brain import pipeline
    from brain.contracts.topic_names import topic_for
    from brain.ingest import kafka_io

    kafka_io.create_topics(cfg, [topic_for(cfg, "energy", "energy_meter")])
    prober = Prober(cfg, interval_s, 10**6)
    prober.start()
    observations, cycle_s = [], []
    try:
        for i in range(cycles + 1):
            if i == cycles:  # the last cycle only picks up what was sent during the others
                prober.stop_event.set()
                prober.join()
            t = time.perf_counter()
            pipeline.run_cycle(cfg, ["energy"], log=lambda m: None)
            cycle_s.append(round(time.perf_counter() - t, 2))
            observations.append((time.time(), gold_total(spark, cfg)))
            log(f"  scheduled: cycle {i + 1}/{cycles + 1} took {cycle_s[-1]}s, "
                f"{int(observations[-1][1])}/{len(prober.sent)} probes visible")
    finally:
        prober.stop_event.set()
        prober.join()
    if prober.error:
        raise prober.error
    return summary(prober.sent, observations, "scheduled",
                   {"cycles": cycles + 1, "cycle_s": cycle_s, "interval_s": interval_s,
                    "note": "cycles run back to back; a real schedule adds its interval to the wait"})
