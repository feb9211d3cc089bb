"""Plant physics: devices age and fail, processes drift, lines produce, meters follow.

Pure and seeded: everything random comes from the ``rng`` passed in, and time
is integer epoch milliseconds, so one seed gives one history.

The story the data tells (what the tests check):
- Rotating devices wear while RUNNING; vibration grows with wear and crosses
  the normal band well before the device fails (DOWN, unplanned) and is repaired.
- Process values drift around their setpoint; the further they drift the more
  defects inspections find, and a large upset trips the device.
- A line produces only while all its devices RUNNING; the others are STARVED
  while one is DOWN. Shift calendars and changeovers are planned stops.
- Electricity follows device state: idle draw when stopped, ~0 when DOWN, and
  rising with output when RUNNING; site fuels follow units produced.
"""

from __future__ import annotations

import math
from random import Random

from brain.contracts.assets import DeviceClass, Line, Meter, Registry, SensorSpec, Site

RUNNING = ("RUNNING", None, False)
BASE_DEFECT_RATE = {"raw_materials": 0.01, "equipment_manufacturing": 0.02, "consumer_goods": 0.005}
DEV_SD = 0.4            # process deviation, in half-widths of the normal band
DEV_TAU_S = 1800.0      # how long a drift persists
UPSETS_PER_H = 1 / 48   # process upsets per device-hour
TRIP_DEV = 2.6          # deviation at which the device trips
DOWN_DRAW = 0.005       # fraction of rated power drawn while DOWN
SCRAP_SHARE = 0.7       # of defective units scrapped; the rest reworked
MAINTENANCE_REASONS = ("PLANNED_MAINTENANCE", "CIP_SANITATION")


class DeviceSim:
    def __init__(self, device_id: str, cls: DeviceClass, rng: Random):
        self.id, self.cls = device_id, cls
        self.w = rng.uniform(0.0, 0.9) if cls.mtbf_h else 0.0          # wear: 1.0 = failure
        self.wear_rate = math.exp(rng.gauss(0, 0.25)) / cls.mtbf_h if cls.mtbf_h else 0.0
        self.dev = rng.gauss(0, DEV_SD)
        self.a = 1.0                 # activity: thermal/process state, 1 = at operating point
        self.state: tuple = ("UNKNOWN", None, False)   # so the first step reports every device's state
        self.repair_until = self.trip_until = 0
        self.tool_units = rng.uniform(0, cls.tool_life_units) if cls.tool_life_units else 0.0
        self.power_kw = 0.0

    def wanted(self, t: int, planned: tuple | None, setup: str | None) -> tuple:
        if self.repair_until > t:
            return ("DOWN", self.cls.failure_reason, False)
        if self.trip_until > t:
            return ("DOWN", "PROCESS_TRIP", False)
        if planned:
            return (planned[0], planned[1], True)
        if setup:
            return ("SETUP", setup, True)
        return RUNNING

    def advance(self, t: int, dt_s: float, speed: float, rng: Random) -> None:
        running = self.state[0] == "RUNNING"
        self.a += ((1.0 if running else 0.0) - self.a) * (1 - math.exp(-dt_s / self.cls.inertia_s))
        phi = math.exp(-dt_s / DEV_TAU_S)
        self.dev = self.dev * phi + DEV_SD * math.sqrt(1 - phi * phi) * rng.gauss(0, 1)
        if rng.random() < dt_s / 3600 * UPSETS_PER_H:
            self.dev += rng.choice((-1, 1)) * rng.uniform(1.2, 2.4)
        if running:
            self.w += dt_s / 3600 * self.wear_rate * (1 + 0.5 * self.dev * self.dev)
            if self.w >= 1.0:
                self.repair_until = t + int(self.cls.repair_h * rng.uniform(0.5, 1.5) * 3_600_000)
                self.w = rng.uniform(0.0, 0.05)   # repaired as new
            elif abs(self.dev) > TRIP_DEV:
                self.trip_until = t + int(rng.uniform(20, 60) * 60_000)
                self.dev *= 0.3
        elif self.state[1] in MAINTENANCE_REASONS:
            self.w = max(0.0, self.w - dt_s / 3600 * 0.2)
        self.power_kw = self._power(speed)

    def _power(self, speed: float) -> float:
        state, cls = self.state[0], self.cls
        if state == "RUNNING":
            return cls.idle_kw + (cls.rated_kw - cls.idle_kw) * speed
        if state == "DOWN":
            return cls.rated_kw * DOWN_DRAW
        return cls.idle_kw

    def reading(self, spec: SensorSpec, line: LineSim) -> tuple[float, float, float]:
        """(mean, slope per ms, noise sd) of a sensor for the current step."""
        lo, hi = spec.normal
        mid, half = (lo + hi) / 2, (hi - lo) / 2
        running = self.state[0] == "RUNNING"
        role = spec.role
        if role == "vibration":
            base = lo + 0.25 * (hi - lo)
            c = 1.5 * hi / base - 1             # reaches 1.5x the normal max at failure
            v = base * (1 + c * self.w * self.w) if running else 0.05 * base
            return v, 0.0, 0.04 * v
        if role == "load":
            v = lo + (hi - lo) * line.speed if running else (0.15 * lo if self.state[0] != "DOWN" else 0.0)
            return v, 0.0, 0.02 * max(v, 0.1)
        if role == "process":
            idle = mid if spec.idle is None else spec.idle
            return idle + (mid + self.dev * half - idle) * self.a, 0.0, 0.08 * half
        if role == "gas":
            excess = max(0.0, abs(self.dev) - 1.0) * 0.5 * hi
            return (0.15 * hi * self.a + excess), 0.0, 0.05 * hi
        if role == "output":
            return (line.rate_per_h * line.speed if line.running else 0.0), 0.0, 0.01 * line.rate_per_h
        if role == "speed":
            return (line.rate_per_h / 60 * line.speed if line.running else 0.0), 0.0, 0.005 * line.rate_per_h / 60
        if role == "wear":
            life = self.cls.tool_life_units or 1
            return 100 * self.tool_units / (life * 1.25), 0.0, 0.2
        if role == "counter":
            return line.cum_units, line.units_per_ms, 0.0
        if role == "defects":
            return line.cum_defects, line.defects_per_ms, 0.0
        return mid, 0.0, 0.05 * half


class LineSim:
    def __init__(self, site: Site, line: Line, registry: Registry, rng: Random):
        self.site, self.line, self.industry = site, line, site.industry
        self.product = line.product
        spec = registry.products[line.product]
        self.cycle_s = float(spec["planned_cycle_time_s"])
        self.count_unit = spec.get("count_unit", "pcs")
        self.batch_size = int(spec["batch_size"])
        self.setup_ms = int(float(spec.get("setup_min", 0)) * 60_000)
        self.materials = spec.get("materials", ())
        self.rate_per_h = 3600 / self.cycle_s
        self.devices = [DeviceSim(d.id, registry.classes[d.device_class], rng) for d in line.devices]
        self.rated_kw = sum(d.cls.rated_kw for d in self.devices)
        self.base_defect = BASE_DEFECT_RATE.get(self.industry, 0.01)
        self.order_seq, self.batch_seq = rng.randrange(1000, 9000), rng.randrange(10000, 90000)
        self.batches_left = rng.randint(1, 4)
        self.batch_units = rng.uniform(0, self.batch_size)
        self.batch_defects = 0.0
        self.setup_until, self.setup_reason = 0, None
        self.cum_units = float(rng.randrange(100_000, 1_000_000))
        self.cum_defects = self.cum_units * self.base_defect
        self.units_per_ms = self.defects_per_ms = 0.0
        self.units_step = 0.0
        self.running, self.speed = True, 1.0
        self.mean_dev = 0.0
        self._reported_units, self._reported_defects = math.floor(self.cum_units), self.cum_defects
        self.report_start = 0
        self.insp_units = self.insp_defects = self.insp_dev = 0.0
        self.kwh = self.rated_kwh = 0.0
        self.lots: dict[str, tuple[int, float]] = {}   # material -> (lot number, quantity left)

    @property
    def order_id(self) -> str:
        return f"PO-{self.site.id}-{self.line.id}-{self.order_seq:05d}"

    @property
    def batch_id(self) -> str:
        return f"B-{self.site.id}-{self.line.id}-{self.batch_seq:06d}"

    def step(self, t: int, dt_ms: int, planned: tuple | None, rng: Random, out) -> None:
        """Advance [t, t+dt): states (reported through ``out``), production, energy."""
        self._update_states(t, planned, rng, out)
        dt_s = dt_ms / 1000
        self.running = all(d.state[0] == "RUNNING" for d in self.devices)
        devs = [d.dev for d in self.devices]
        self.mean_dev = sum(devs) / len(devs)
        dev_sq = sum(x * x for x in devs) / len(devs)
        self.speed = max(0.5, min(1.0, 0.97 - 0.05 * dev_sq + rng.gauss(0, 0.01))) if self.running else 0.0
        units = dt_s / self.cycle_s * self.speed
        p_defect = min(0.5, self.base_defect * (1 + 6 * dev_sq))
        self._account(units, units * p_defect, dt_ms)
        for d in self.devices:
            d.advance(t, dt_s, self.speed, rng)
            if d.cls.tool_life_units and self.running:
                d.tool_units += units
        self.kwh += sum(d.power_kw for d in self.devices) * dt_s / 3600
        self.rated_kwh += self.rated_kw * dt_s / 3600
        self._tool_changes(t + dt_ms)
        if self.batch_units >= self.batch_size:
            self._end_batch(t + dt_ms, rng, out)

    def _update_states(self, t: int, planned: tuple | None, rng: Random, out) -> None:
        setup = self.setup_reason if self.setup_until > t else None
        wanted = [d.wanted(t, planned, setup) for d in self.devices]
        blocked = any(w[0] == "DOWN" and not w[2] for w in wanted)
        for d, w in zip(self.devices, wanted):
            if blocked and w is RUNNING:
                w = ("IDLE", "STARVED", False)
            if w != d.state:
                d.state = w
                out.machine_state(self, d, t + rng.randrange(0, 1000), w)

    def _account(self, units: float, defects: float, dt_ms: int) -> None:
        self.units_step = units
        self.units_per_ms, self.defects_per_ms = units / dt_ms, defects / dt_ms
        self.cum_units += units
        self.cum_defects += defects
        self.batch_units += units
        self.batch_defects += defects
        self.insp_units += units
        self.insp_defects += defects
        self.insp_dev += units * self.mean_dev

    def _tool_changes(self, t: int) -> None:
        for d in self.devices:
            if d.cls.tool_life_units and d.tool_units >= d.cls.tool_life_units:
                d.tool_units = 0.0
                self.setup_until, self.setup_reason = t + 10 * 60_000, "TOOL_CHANGE"

    def production_counts(self, rng: Random) -> tuple[int, int, int, int]:
        """(produced, good, scrap, rework) since the last report; resets the report."""
        produced = math.floor(self.cum_units) - self._reported_units
        expected = max(0.0, self.cum_defects - self._reported_defects)
        defective = min(produced, max(0, round(expected + math.sqrt(expected) * rng.gauss(0, 1))))
        self._reported_units += produced
        self._reported_defects = self.cum_defects
        scrap = round(defective * SCRAP_SHARE)
        return produced, produced - defective, scrap, defective - scrap

    def _end_batch(self, t: int, rng: Random, out) -> None:
        produced, good, scrap, rework = self.production_counts(rng)
        out.production(self, self.report_start, t, produced, good, scrap, rework)
        self.report_start = t
        shipped = max(1, round(self.batch_size - self.batch_defects))
        out.batch_done(self, t, self.batch_id, shipped)
        self.batch_units -= self.batch_size
        self.batch_defects = 0.0
        self.batch_seq += 1
        self.batches_left -= 1
        if self.batches_left <= 0:
            self.order_seq += 1
            self.batches_left = rng.randint(2, 6)
            if self.setup_ms:
                self.setup_until, self.setup_reason = t + self.setup_ms, "CHANGEOVER"
        out.batch_started(self, t, self.batch_id)

    def inspection(self, sample: int, codes: dict, rng: Random) -> tuple[int, int, list[str]] | None:
        """(inspected, passed, defect codes) for the units made since the last inspection."""
        made = int(self.insp_units)
        if made <= 0:
            return None
        p = min(0.9, self.insp_defects / self.insp_units)
        side = "high" if self.insp_dev / self.insp_units >= 0 else "low"
        self.insp_units = self.insp_defects = self.insp_dev = 0.0
        n = made if sample <= 0 else min(made, sample)
        failed = _binomial(n, p, rng)
        found: list[str] = []
        for _ in range(min(failed, 3)):
            pool = codes[side] if rng.random() < 0.6 else codes["any"]
            code = pool[rng.randrange(len(pool))]
            if code not in found:
                found.append(code)
        return n, n - failed, found

    def take_energy(self, rng: Random) -> tuple[float, float]:
        """(kWh, power factor) since the last meter reading; resets it."""
        load = self.kwh / self.rated_kwh if self.rated_kwh else 0.0
        kwh = self.kwh * (1 + rng.gauss(0, 0.003))    # meter accuracy class 0.5
        self.kwh = self.rated_kwh = 0.0
        pf = 0.96 - 0.35 * (1 - load) ** 2 + rng.gauss(0, 0.005)
        return kwh, max(0.3, min(0.99, pf))


class SiteMeterSim:
    """A site fuel meter: consumption per unit produced plus a base load while lines run."""

    def __init__(self, site: Site, meter: Meter, lines: list[LineSim]):
        self.site, self.meter, self.lines = site, meter, lines
        self.acc = 0.0

    def step(self, dt_ms: int) -> None:
        if not self.lines:
            return
        units = sum(ln.units_step for ln in self.lines)
        running = sum(1 for ln in self.lines if ln.running) / len(self.lines)
        self.acc += self.meter.per_unit * units + self.meter.base_per_h * dt_ms / 3_600_000 * running

    def take(self) -> float:
        value, self.acc = self.acc, 0.0
        return value


def _binomial(n: int, p: float, rng: Random) -> int:
    if n <= 50:
        return sum(1 for _ in range(n) if rng.random() < p)
    mean = n * p
    return min(n, max(0, round(mean + math.sqrt(mean * (1 - p)) * rng.gauss(0, 1))))
