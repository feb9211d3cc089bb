"""``run_simulation``: resolve options into a plan, drive the engine into a sink, count everything.

Modes:
- history (default): as fast as possible; ``records`` spread over ``days``
  (default 1) ending at today's midnight UTC unless ``start`` is given;
  ``days`` alone generates that many days at nominal sampling periods.
- stream (``rate`` and/or ``duration``): event time follows the wall clock
  from ``start`` (default now); ``rate`` records/s, until ``duration``
  seconds, ``records``, or Ctrl-C.
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from pathlib import Path

from brain.config import Config
from brain.contracts import load_registry, load_units, record_types, topic_names
from brain.ingest import kafka_io
from brain.simulator.engine import Engine
from brain.simulator.inject import KINDS, Injector, parse_ratios
from brain.simulator.sinks import FileSink, KafkaSink, NullSink
from brain.simulator.summary import Summary

DEFAULT_RECORDS = 10_000
DAY_MS = 86_400_000


class OptionsError(ValueError):
    pass


@dataclass
class SimOptions:
    industry: str | list[str] = "all"
    sites: int | None = None
    lines: int | None = None
    devices: int | None = None
    records: int | None = None
    rate: float | None = None
    duration: float | None = None
    days: float | None = None
    start: str | datetime | date | None = None
    seed: int | None = None
    out: str | Path | None = None
    dry_run: bool = False
    bad_ratio: float = 0.0
    bad: str | dict | None = None
    progress: bool = False
    create_topics: bool = True
    ledger: str | Path | None = None   # Kafka only: file listing every acknowledged record (sinks.KafkaSink)


@dataclass(frozen=True)
class Plan:
    start_ms: int
    end_ms: int | None        # stop before this event time
    limit: int | None         # stop after this many messages
    target_rate: float | None  # records per second of event time, None = nominal periods
    paced: bool
    days: float | None = None  # the history span asked for


def parse_start(value: str | datetime | date | None) -> int | None:
    """Epoch ms of an ISO date/date-time (UTC unless it has an offset); None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        if value == "now":
            return int(time.time() * 1000)
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise OptionsError(f"--start {value!r} is not an ISO date or date-time (e.g. 2026-11-01T08:00)") from None
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def plan(opts: SimOptions, now_ms: int | None = None) -> Plan:
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    for name in ("sites", "lines", "devices", "records"):
        value = getattr(opts, name)
        if value is not None and value < 1:
            raise OptionsError(f"--{name} must be at least 1")
    for name in ("rate", "duration", "days"):
        value = getattr(opts, name)
        if value is not None and value <= 0:
            raise OptionsError(f"--{name} must be positive")
    start = parse_start(opts.start)
    if opts.rate is not None or opts.duration is not None:
        if opts.days is not None:
            raise OptionsError("--days generates history as fast as possible; --rate/--duration stream in "
                               "real time: use one or the other")
        start = now_ms if start is None else start
        end = start + int(opts.duration * 1000) if opts.duration else None
        return Plan(start, end, opts.records, opts.rate, paced=True)
    records = opts.records if opts.records is not None or opts.days is not None else DEFAULT_RECORDS
    days = opts.days if opts.days is not None else 1.0
    if start is None:   # history ending at today's midnight UTC: reproducible within a day
        start = now_ms // DAY_MS * DAY_MS - int(days * DAY_MS)
    if records is None:
        return Plan(start, start + int(days * DAY_MS), None, None, paced=False)
    return Plan(start, None, records, records / (days * 86400), paced=False, days=days)


def selected_industries(cfg: Config, industry: str | list[str]) -> list[str]:
    known = cfg.industry_names()
    wanted = known if industry in ("all", None) else ([industry] if isinstance(industry, str) else list(industry))
    wanted = [w for part in wanted for w in str(part).split(",") if w]
    unknown = [w for w in wanted if w not in known]
    if unknown:
        raise OptionsError(f"unknown industry {', '.join(unknown)} (known: all, {', '.join(known)})")
    return wanted


def run_simulation(cfg: Config, **options) -> Summary:
    """Simulate and send; returns exact counts of what was sent. See SimOptions for the options."""
    valid = {f.name for f in fields(SimOptions)}
    extra = set(options) - valid
    if extra:
        raise OptionsError(f"unknown option(s) {', '.join(sorted(extra))}; known: {', '.join(sorted(valid))}")
    opts = SimOptions(**options)
    p = plan(opts)
    seed = opts.seed if opts.seed is not None else random.SystemRandom().randrange(1 << 31)
    industries = selected_industries(cfg, opts.industry)
    emit = {ind: record_types(cfg, ind) for ind in industries}
    def topic(ind: str, rt: str) -> str:
        return topic_names.topic_for(cfg, ind, rt)

    topics = [topic(ind, rt) for ind, rts in emit.items() for rt in rts]
    bad = ",".join(f"{k}={v}" for k, v in opts.bad.items()) if isinstance(opts.bad, dict) else opts.bad
    ratios = parse_ratios(bad, opts.bad_ratio)
    units = load_units()
    engine = Engine(load_registry(), emit=emit, topic=topic, key=kafka_io.record_key, seed=seed,
                    start_ms=p.start_ms, target_rate=p.target_rate, sites=opts.sites, lines=opts.lines,
                    devices=opts.devices)
    sink = _sink(cfg, opts, topics, bulk=not p.paced)
    summary = Summary(seed=seed, sink=sink.name, out=str(opts.out) if opts.out else None,
                      telemetry_period_scale=round(engine.scales.telemetry, 6),
                      report_interval_scale=round(engine.scales.reports, 6), fleet=_fleet_size(engine))
    summary.topics = dict.fromkeys(topics, 0)
    summary.days_requested = p.days
    progress = Progress(p.limit, enabled=opts.progress)
    _drive(engine, Injector(ratios, seed, units), sink, p, summary, progress)
    return summary


def _sink(cfg: Config, opts: SimOptions, topics: list[str], bulk: bool):
    if opts.dry_run:
        return NullSink()
    if opts.out:
        return FileSink(Path(opts.out), topics)
    if opts.create_topics:
        kafka_io.create_topics(cfg, topics)
    return KafkaSink(cfg, bulk=bulk, ledger=opts.ledger)


def _fleet_size(engine: Engine) -> dict[str, int]:
    lines = [ls for _s, _c, lss, _m, _f in engine.sites for ls in lss]
    return {"sites": len(engine.sites), "lines": len(lines), "devices": sum(len(ls.devices) for ls in lines),
            "telemetry_streams": len(engine.tel), "scheduled_reports": len(engine.reports)}


def _drive(engine: Engine, injector: Injector, sink, p: Plan, summary: Summary, progress: Progress) -> None:
    clean: dict[str, int] = {}
    injected: dict[tuple[str, str], int] = {}
    send, limit, end, total = sink.send, p.limit, p.end_ms, injector.total
    draw, remember = injector.rng.random, injector.remember if injector.recent.maxlen else None
    newest = injector.newest
    n, first, last = 0, None, None
    wall0 = time.monotonic()
    try:
        while True:
            batch = engine.step()
            for ts, meta, payload in batch:
                if (end is not None and ts >= end) or (limit is not None and n >= limit):
                    raise _Done
                if p.paced:
                    _pace(ts, p.start_ms, wall0)
                if first is None:
                    first = ts
                last = ts
                r = draw() if total else 1.0
                if r >= total:
                    value = payload.encode()
                    send(meta.topic, meta.key, value)
                    clean[meta.topic] = clean.get(meta.topic, 0) + 1
                    n += 1
                    if remember:
                        remember(meta, value)
                else:
                    for m, value, kind in injector.inject(meta, payload, r, ts):
                        if limit is not None and n >= limit:
                            raise _Done
                        send(m.topic, m.key, value)
                        injected[(m.topic, kind)] = injected.get((m.topic, kind), 0) + 1
                        n += 1
                if newest is not None:
                    newest[meta.topic] = ts
            if progress.enabled:
                progress.show(n, engine.t)
            if hasattr(sink, "poll"):
                sink.poll()
    except _Done:
        pass
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        progress.done()
        sink.close()
    _fill(summary, clean, injected, n, first, last, time.monotonic() - wall0)


class _Done(Exception):
    pass


def _pace(ts: int, start_ms: int, wall0: float) -> None:
    ahead = (ts - start_ms) / 1000 - (time.monotonic() - wall0)
    if ahead > 0.001:
        time.sleep(ahead)


def _fill(summary: Summary, clean: dict, injected: dict, n: int, first, last, elapsed: float) -> None:
    summary.total = n
    summary.kinds = {"clean": sum(clean.values()), **{k: 0 for k in KINDS}}
    for topic, count in clean.items():
        summary.by_topic.setdefault(topic, {})["clean"] = count
    for (topic, kind), count in injected.items():
        summary.kinds[kind] += count
        per_topic = summary.by_topic.setdefault(topic, {})
        per_topic[kind] = per_topic.get(kind, 0) + count
    for topic, kinds in summary.by_topic.items():
        summary.topics[topic] = sum(kinds.values())
    summary.first_event_ts, summary.last_event_ts = _iso(first), _iso(last)
    summary.elapsed_s = round(elapsed, 3)
    summary.records_per_s = round(n / elapsed, 1) if elapsed > 0 else 0.0


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Progress:
    """A one-line progress report on stderr (rewritten in place on a terminal)."""

    def __init__(self, total: int | None, enabled: bool, stream=None, every_s: float = 0.5):
        self.total, self.enabled = total, enabled
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.every_s = every_s if self.tty else 10.0
        self.t0 = self.last = time.monotonic()
        self.shown = False

    def show(self, n: int, event_ms: int, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < self.every_s:
            return
        self.last, self.shown = now, True
        rate = n / (now - self.t0) if now > self.t0 else 0.0
        of = f"/{self.total:,} ({100 * n / self.total:.0f}%)" if self.total else ""
        line = f"simulate: {n:,}{of} records, {rate:,.0f}/s, event time {_iso(event_ms)}"
        self.stream.write(("\r" + line + "\x1b[K") if self.tty else line + "\n")
        self.stream.flush()

    def done(self) -> None:
        if self.enabled and self.shown and self.tty:
            self.stream.write("\n")
            self.stream.flush()
