"""The simulation clock: advances the plant in fixed steps and emits each step's records in time order.

Sampling is thinned or densified to hit a target record rate: telemetry
periods are multiplied by ``scales.telemetry`` and reporting intervals
(production, inspections, meters) by ``scales.reports`` (never below their
nominal value unless telemetry is not emitted at all). Physics runs in steps of
``STEP_MS`` (shorter only when meters alone must report faster than that,
longer when even reports are thinned out), so the plant behaves the same
whatever the sampling.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from random import Random

from brain.contracts.assets import (
    HOST_INDUSTRIES,
    SITE_METER_AREA,
    SITE_METER_LINE,
    Registry,
    Site,
)
from brain.simulator.calendar import compile_calendar
from brain.simulator.physics import DeviceSim, LineSim, SiteMeterSim
from brain.simulator.records import (
    OPERATOR_TYPES,
    Meta,
    TsFormat,
    dumps,
    envelope,
    id_maker,
    operator_id,
    telemetry_template,
)

STEP_MS = 30_000
MAX_STEP_MS = 300_000   # sparse histories (months in few records) step faster; stops still last >= 1 step
_TS = itemgetter(0)
SENSOR_FAULT_P = 0.0005   # per stream-step: the transmitter reports quality BAD


@dataclass(frozen=True)
class Scales:
    telemetry: float = 1.0
    reports: float = 1.0


class _Tel:
    __slots__ = ("dev", "due", "fmt", "hi", "line", "lo", "meta", "period", "spec", "tmpl")


class _Report:
    __slots__ = ("due", "env", "fmt", "kind", "line", "meta", "meter", "period")


class Engine:
    def __init__(self, registry: Registry, *, emit: dict[str, list[str]], topic: Callable[[str, str], str],
                 key: Callable[[dict], bytes | None], seed: int, start_ms: int,
                 target_rate: float | None = None, sites: int | None = None, lines: int | None = None,
                 devices: int | None = None):
        self.registry, self.emit, self._topic, self._key = registry, emit, topic, key
        self.rng = Random(f"{seed}/physics")
        self.noise = Random(f"{seed}/noise")
        self.event_id = id_maker(Random(f"{seed}/ids"))
        self.t = start_ms
        self.step_ms = STEP_MS
        hosts = [i for i in HOST_INDUSTRIES if i in emit or "energy" in emit]
        self.fleet: list[Site] = registry.fleet(hosts, sites=sites, lines=lines, devices=devices)
        self._build(start_ms)
        self.scales = self._scales(target_rate)
        self._schedule(start_ms)
        self._buf: list = []

    # ---- construction ---------------------------------------------------
    def _wants(self, industry: str, record_type: str) -> bool:
        return record_type in self.emit.get(industry, ())

    def _meta(self, env: dict, **kw) -> Meta:
        return Meta(self._topic(env["industry"], env["record_type"]), self._key(env), env["record_type"], **kw)

    def _event_target(self, ls: LineSim, record_type: str, device: str) -> tuple:
        """(meta, envelope, ts format) for an unscheduled record, built once per device and type."""
        k = (id(ls), record_type, device)
        hit = self._targets.get(k)
        if hit is None:
            site, ln = ls.site, ls.line
            env = envelope(record_type, ls.industry, self.registry.enterprise, site.id, ln.area, ln.id, device)
            hit = self._targets[k] = (self._meta(env), env, self._fmts[site.id])
        return hit

    def _build(self, start_ms: int) -> None:
        ent, reg = self.registry.enterprise, self.registry
        self.sites, self.tel, self.reports = [], [], []
        self._targets: dict = {}
        self._fmts: dict[str, TsFormat] = {}
        for site in self.fleet:
            fmt = self._fmts[site.id] = TsFormat(site.clock, site.utc_offset, site.utc_offset_s)
            cal = compile_calendar(reg.calendar(site.industry))
            lines = [LineSim(site, ln, reg, self.rng) for ln in site.lines]
            meters = [SiteMeterSim(site, m, lines) for m in site.meters]
            self.sites.append((site, cal, lines, meters, fmt))
            for ls in lines:
                ls.report_start = start_ms
                self._line_streams(site, ls, fmt, ent)
            if "energy" in self.emit:
                for ms in meters:
                    env = envelope("energy_meter", "energy", ent, site.id, SITE_METER_AREA, SITE_METER_LINE,
                                   ms.meter.device)
                    self._report("meter", env, fmt, ms.meter.interval_s, meter=ms)

    def _line_streams(self, site: Site, ls: LineSim, fmt: TsFormat, ent: str) -> None:
        ind, ln = site.industry, ls.line
        counter = ln.devices[-1].id   # production and inspections are counted at the end of the line
        if self._wants(ind, "telemetry"):
            for d in ls.devices:
                env = envelope("telemetry", ind, ent, site.id, ln.area, ln.id, d.id)
                for spec in (self.registry.sensors[n] for n in d.cls.sensors):
                    s = _Tel()
                    s.meta = self._meta(env, spec=spec)
                    s.dev, s.line, s.spec, s.fmt = d, ls, spec, fmt
                    s.tmpl = telemetry_template(env, spec)
                    s.period, s.due = spec.period_s * 1000, 0
                    s.lo, s.hi = spec.instrument
                    self.tel.append(s)
        rep = self.registry.reporting
        for rt, interval in (("production", rep["production_interval_s"]),
                             ("quality_inspection", rep["inspection_interval_s"])):
            if self._wants(ind, rt):
                env = envelope(rt, ind, ent, site.id, ln.area, ln.id, counter)
                self._report(rt, env, fmt, interval, line=ls)
        if "energy" in self.emit and ln.meter:
            env = envelope("energy_meter", "energy", ent, site.id, ln.area, ln.id, ln.meter.device)
            self._report("electricity", env, fmt, ln.meter.interval_s, line=ls)

    def _report(self, kind: str, env: dict, fmt: TsFormat, interval_s: float, line=None, meter=None) -> None:
        r = _Report()
        r.kind, r.env, r.fmt, r.line, r.meter = kind, env, fmt, line, meter
        r.meta = self._meta(env)
        r.period, r.due = interval_s * 1000, 0
        self.reports.append(r)

    def _scales(self, target_rate: float | None) -> Scales:
        """Period multipliers so the emitted streams add up to ``target_rate`` records/s of event time."""
        if not target_rate:
            return Scales()
        tel = sum(1000 / s.period for s in self.tel)
        rep = sum(1000 / r.period for r in self.reports) + self._event_rate()
        if tel == 0:
            return Scales(1.0, rep / target_rate)
        if rep <= 0.3 * target_rate:
            return Scales(tel / (target_rate - rep), 1.0)
        return Scales(tel / (0.7 * target_rate), rep / (0.3 * target_rate))

    def _event_rate(self) -> float:
        # Rough rate of unscheduled records (state changes, batch ends, genealogy), per second.
        rate = 0.0
        for site, _cal, lines, _m, _f in self.sites:
            if self._wants(site.industry, "machine_state"):
                rate += sum(len(ls.devices) for ls in lines) * 12 / 86400
            if self._wants(site.industry, "production"):
                rate += sum(1 / (ls.batch_size * ls.cycle_s) for ls in lines)
            if self._wants(site.industry, "material_genealogy"):
                rate += sum((len(ls.materials) + 1) / (ls.batch_size * ls.cycle_s) for ls in lines)
        return rate

    def _schedule(self, start_ms: int) -> None:
        for s in self.tel:
            s.period = max(1, round(s.period * self.scales.telemetry))
            s.due = start_ms + self.rng.randrange(s.period)
        if self.scales.reports >= 2:
            self.step_ms = min(MAX_STEP_MS, STEP_MS * int(self.scales.reports))
        elif self.reports and self.scales.reports < 1:
            # Reports fall on step boundaries; dense meter-only streams need shorter steps.
            fastest = min(r.period for r in self.reports) * self.scales.reports
            self.step_ms = int(max(1000, min(STEP_MS, fastest // 1000 * 1000)))
        for r in self.reports:
            r.period = max(1, round(r.period * self.scales.reports / self.step_ms)) * self.step_ms
            r.due = start_ms + r.period

    # ---- running --------------------------------------------------------
    def step(self) -> list[tuple[int, Meta, str]]:
        """Advance one step; returns its records as (event ms, meta, JSON text), in event-time order."""
        t, step = self.t, self.step_ms
        self._buf = []
        for site, cal, lines, meters, _fmt in self.sites:
            planned = cal.planned(t, site.utc_offset_s)
            for ls in lines:
                ls.step(t, step, planned, self.rng, self)
            for m in meters:
                m.step(step)
        self._telemetry(t, t + step)
        self._reports(t + step)
        self.t = t + step
        self._buf.sort(key=_TS)
        return self._buf

    def _telemetry(self, t: int, t_end: int) -> None:
        append, gauss, event_id, noise = self._buf.append, self.noise.gauss, self.event_id, self.noise.random
        for s in self.tel:
            due = s.due
            if due >= t_end:
                continue
            mean, slope, sd = s.dev.reading(s.spec, s.line)
            quality = "UNCERTAIN" if s.dev.state[0] == "SETUP" else "GOOD"
            if noise() < SENSOR_FAULT_P:
                quality = "BAD"
            lo, hi, tmpl, fmt, meta, period = s.lo, s.hi, s.tmpl, s.fmt.json, s.meta, s.period
            while due < t_end:
                v = mean + slope * (due - t) + (gauss(0.0, sd) if sd else 0.0)
                v = lo if v < lo else min(v, hi)
                append((due, meta, tmpl % (event_id(), fmt(due), quality, v)))
                due += period
            s.due = due

    def _reports(self, t_end: int) -> None:
        for r in self.reports:
            while r.due <= t_end:
                self._report_due(r, r.due)
                r.due += r.period

    def _emit(self, meta: Meta, env: dict, fmt: TsFormat, ts: int, fields: dict) -> None:
        rec = dict(env)
        rec["event_id"], rec["event_ts"] = self.event_id(), fmt.value(ts)
        rec.update(fields)
        if meta.record_type in OPERATOR_TYPES:
            rec["operator_id"] = operator_id(env, ts)
        self._buf.append((ts, meta, dumps(rec)))

    def _report_due(self, r: _Report, ts: int) -> None:
        ls, rng = r.line, self.noise
        if r.kind == "production":
            produced, good, scrap, rework = ls.production_counts(rng)
            self._production(r, ls, ls.report_start, ts, produced, good, scrap, rework)
            ls.report_start = ts
        elif r.kind == "quality_inspection":
            sample = self.registry.reporting["inspection_sample"].get(ls.industry, 0)
            found = ls.inspection(sample, self.registry.defect_codes(ls.industry), rng)
            if found:
                self._emit(r.meta, r.env, r.fmt, ts, {"batch_id": ls.batch_id, "inspected": found[0],
                           "passed": found[1], "defect_codes": found[2], "product": ls.product})
        elif r.kind == "electricity":
            kwh, pf = ls.take_energy(rng)
            demand = kwh * 3_600_000 / r.period
            fields = {"carrier": "electricity", "value": round(kwh, 3), "unit": "kWh",
                      "interval_s": r.period // 1000, "demand_kw": round(demand, 2)}
            if demand >= 0.01 * ls.rated_kw:
                fields["power_factor"] = round(pf, 3)   # undefined for a line drawing ~nothing
            self._emit(r.meta, r.env, r.fmt, ts, fields)
        else:
            m = r.meter.meter
            self._emit(r.meta, r.env, r.fmt, ts, {"carrier": m.carrier, "value": round(r.meter.take(), 4),
                                                  "unit": m.unit, "interval_s": r.period // 1000})

    def _production(self, r: _Report, ls: LineSim, start: int, end: int, *counts: int) -> None:
        produced, good, scrap, rework = counts
        self._emit(r.meta, r.env, r.fmt, end, {
            "order_id": ls.order_id, "batch_id": ls.batch_id, "product": ls.product,
            "planned_cycle_time_s": ls.cycle_s, "produced": produced, "good": good, "scrap": scrap,
            "rework": rework, "start_ts": r.fmt.value(start), "end_ts": r.fmt.value(end),
            "count_unit": ls.count_unit})

    # ---- callbacks from the physics ------------------------------------
    def _line_report(self, ls: LineSim, kind: str) -> _Report | None:
        for r in self.reports:
            if r.line is ls and r.kind == kind:
                return r
        return None

    def machine_state(self, ls: LineSim, d: DeviceSim, ts: int, state: tuple) -> None:
        if not self._wants(ls.industry, "machine_state"):
            return
        meta, env, fmt = self._event_target(ls, "machine_state", d.id)
        self._emit(meta, env, fmt, ts, {"state": state[0], "reason_code": state[1], "planned": state[2]})

    def production(self, ls: LineSim, start: int, end: int, *counts: int) -> None:
        r = self._line_report(ls, "production")
        if r is not None:
            self._production(r, ls, start, end, *counts)

    def batch_done(self, ls: LineSim, ts: int, batch_id: str, shipped: int) -> None:
        if ls.materials and self._wants(ls.industry, "material_genealogy"):
            # Two consecutive batches leave in one shipment.
            shipment = f"SHP-{ls.site.id}-{ls.line.id}-{(ls.batch_seq // 2):06d}"
            self._genealogy(ls, ts, "batch_to_shipment", batch_id, shipment, shipped, "pcs", None)

    def batch_started(self, ls: LineSim, ts: int, batch_id: str) -> None:
        if not (ls.materials and self._wants(ls.industry, "material_genealogy")):
            return
        lots = ls.lots
        for i, mat in enumerate(ls.materials):
            need = ls.batch_size * float(mat["per_unit"])
            while need > 1e-9:
                seq, left = lots.get(mat["material"], (self.noise.randrange(1000, 9000), 0.0))
                if left <= 1e-9:
                    seq, left = seq + 1, need * self.noise.uniform(1.5, 3.5)
                take = min(need, left)
                lot = f"LOT-{ls.site.id}-{mat['material']}-{seq:06d}"
                self._genealogy(ls, ts + i + 1, "lot_to_batch", lot, batch_id, round(take, 3), mat["unit"],
                                mat["material"])
                lots[mat["material"]] = (seq, left - take)
                need -= take

    def _genealogy(self, ls: LineSim, ts: int, link: str, parent: str, child: str, qty: float, unit: str,
                   material: str | None) -> None:
        # Materials are consumed and batches released at the head of the line.
        meta, env, fmt = self._event_target(ls, "material_genealogy", ls.line.devices[0].id)
        fields = {"link_type": link, "parent_id": parent, "child_id": child, "quantity": qty, "unit": unit}
        if material:
            fields["material"] = material
        self._emit(meta, env, fmt, ts, fields)
