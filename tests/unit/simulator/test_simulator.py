"""The factory simulator without Kafka: counts, reproducibility, bad data, and the plant's physics."""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from brain import contracts
from brain.contracts import event_ts_ms, validate
from brain.simulator import (
    INVALID,
    KINDS,
    BadRatioError,
    OptionsError,
    parse_ratios,
    produce_file,
    run_simulation,
)
from brain.simulator import cli as sim_cli
from brain.simulator.calendar import compile_calendar
from brain.simulator.physics import LineSim
from brain.simulator.run import SimOptions, plan

START = "2026-11-16"    # a Monday
NOW_MS = 1795132800000  # the tests' "now" for future checks: 2026-11-20


def read_out(folder: Path) -> dict[str, list[bytes]]:
    return {p.name.removesuffix(".jsonl"): p.read_bytes().splitlines() for p in sorted(folder.glob("*.jsonl"))}


def records(folder: Path, record_type: str | None = None) -> list[dict]:
    out = []
    for lines in read_out(folder).values():
        out += [json.loads(x) for x in lines]
    return [r for r in out if record_type is None or r["record_type"] == record_type]


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory, base_cfg):
    out = tmp_path_factory.mktemp("clean")
    return run_simulation(base_cfg, records=20000, seed=7, start=START, out=out), out


# ---- counts and reproducibility ---------------------------------------------

def test_exact_count_across_all_topics(clean_run, base_cfg):
    summary, out = clean_run
    files = read_out(out)
    assert summary.total == 20000 == sum(len(v) for v in files.values())
    assert set(files) == set(summary.topics) and len(files) == len(contracts.topics(base_cfg)) == 14
    for topic, lines in files.items():
        assert len(lines) == summary.topics[topic] > 0, topic
    assert summary.kinds["clean"] == 20000 and summary.bad_total == 0


def test_every_clean_record_validates_and_is_in_range(clean_run):
    _summary, out = clean_run
    reg, units = contracts.load_registry(), contracts.load_units()
    for topic, lines in read_out(out).items():
        industry, record_type = topic.split(".")
        for raw in lines[::4] if record_type == "telemetry" else lines:
            assert validate(raw) == [], (topic, raw[:200])
            rec = json.loads(raw)
            assert (rec["industry"], rec["record_type"]) == (industry, record_type)
            assert contracts.out_of_range(rec, reg, units) is None


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path, base_cfg, clean_run):
    _summary, out = clean_run
    run_simulation(base_cfg, records=20000, seed=7, start=START, out=tmp_path / "again")
    run_simulation(base_cfg, records=20000, seed=8, start=START, out=tmp_path / "other")
    first = {p.name: p.read_bytes() for p in out.glob("*.jsonl")}
    assert first == {p.name: p.read_bytes() for p in (tmp_path / "again").glob("*.jsonl")}
    assert first != {p.name: p.read_bytes() for p in (tmp_path / "other").glob("*.jsonl")}


def test_every_record_names_a_registered_place(clean_run):
    """The default fleet (what `make run` and `brain demo` simulate) is the registry's: the pipeline
    quarantines any record naming a place conf/assets.yaml does not have (unknown_asset)."""
    from brain.contracts.assets import load_registry

    _summary, out = clean_run
    reg = load_registry()
    recs = records(out)
    places = {(r["industry"], r["enterprise"], r["site"], r["area"], r["line"], r["device"]) for r in recs}
    unknown = {p for p in places if p[1:] not in reg.locations(p[0])}
    assert unknown == set()
    assert {p[0] for p in places} == {"raw_materials", "equipment_manufacturing", "consumer_goods", "energy"}


def test_event_ids_are_unique_and_keys_follow_the_device(clean_run):
    _summary, out = clean_run
    recs = records(out)
    assert len({r["event_id"] for r in recs}) == len(recs)


def test_days_spread_history_and_sites_use_their_clock(tmp_path, base_cfg):
    summary = run_simulation(base_cfg, industry="energy", days=2, sites=1, lines=1, start=START, seed=1,
                             out=tmp_path)
    ts = [event_ts_ms(r["event_ts"]) for r in records(tmp_path)]
    start = event_ts_ms("2026-11-16T00:00:00Z")
    assert min(ts) >= start and max(ts) < start + 2 * 86_400_000
    assert summary.telemetry_period_scale == 1.0
    by_site = {r["site"]: r["event_ts"] for r in records(tmp_path)}
    assert isinstance(by_site["em-stuttgart"], int) and by_site["rm-baotou"].endswith("+08:00")


def test_fleet_counts_scale_the_fleet(tmp_path, base_cfg):
    summary = run_simulation(base_cfg, industry="consumer_goods", sites=3, lines=1, devices=2, records=2000,
                             seed=2, start=START, out=tmp_path)
    assert summary.fleet["sites"] == 3 and summary.fleet["lines"] == 3 and summary.fleet["devices"] == 6
    devices = {(r["site"], r["line"], r["device"]) for r in records(tmp_path, "telemetry")}
    assert ("cg-guangzhou-2", "bottling-1", "capper") in devices
    assert {d for _s, _l, d in devices} == {"filler", "capper"}


def test_stream_mode_paces_to_the_wall_clock(base_cfg):
    summary = run_simulation(base_cfg, industry="equipment_manufacturing", rate=400, duration=1.0, seed=3,
                             dry_run=True)
    assert 0.9 <= summary.elapsed_s < 2.0
    assert 250 <= summary.total <= 550


# ---- bad data ----------------------------------------------------------------

def _late(lines: list[bytes]) -> int:
    """Records more than 30 minutes behind the newest event seen so far in the file."""
    newest, late = 0, 0
    for raw in lines:
        ts = event_ts_ms(json.loads(raw)["event_ts"])
        late += ts < newest - 1_800_000
        newest = max(newest, ts)
    return late


def _alternate(rec: dict, reg, units) -> bool:
    if rec["record_type"] == "telemetry":
        return rec["unit"] != reg.sensor(rec["sensor"]).unit
    if rec["record_type"] == "energy_meter":
        return rec["unit"] != units.carriers[rec["carrier"]][0]
    return rec["record_type"] == "material_genealogy" and rec["unit"] == "t"


def detected(kind: str, files: dict[str, list[bytes]]) -> int:
    """How many messages a consumer would flag as ``kind``, from the bytes alone."""
    reg, units = contracts.load_registry(), contracts.load_units()
    lines = [raw for v in files.values() for raw in v]
    if kind in INVALID:
        return sum(1 for raw in lines if validate(raw))
    if kind == "duplicate":
        ids = Counter(json.loads(raw)["event_id"] for raw in lines)
        return sum(n - 1 for n in ids.values())
    if kind == "late_event":
        return sum(_late(v) for v in files.values())
    recs = [json.loads(raw) for raw in lines]
    if kind == "out_of_range":
        return sum(1 for raw, r in zip(lines, recs) if validate(raw) or contracts.out_of_range(r, reg, units))
    if kind == "future_timestamp":
        return sum(1 for r in recs if contracts.in_future(r, NOW_MS))
    assert kind == "alternate_unit"
    return sum(1 for r in recs if _alternate(r, reg, units))


@pytest.mark.parametrize("kind", KINDS)
def test_each_bad_kind_is_counted_exactly(kind, tmp_path, base_cfg):
    summary = run_simulation(base_cfg, records=1500, days=0.25, seed=11, start=START, out=tmp_path,
                             bad={kind: 0.1})
    files = read_out(tmp_path)
    assert sum(len(v) for v in files.values()) == summary.total == 1500
    assert summary.kinds[kind] > 0 and summary.kinds["clean"] + summary.kinds[kind] == 1500
    assert detected(kind, files) == summary.kinds[kind]
    if kind in ("alternate_unit", "late_event", "duplicate"):
        assert all(validate(raw) == [] for v in files.values() for raw in v)   # valid, just special
    if kind == "oversized":
        sizes = [len(raw) for v in files.values() for raw in v if len(raw) > contracts.MAX_RECORD_BYTES]
        assert len(sizes) == summary.kinds[kind] and max(sizes) < 8 * 1024 * 1024


def test_bad_ratio_spreads_over_all_kinds_and_reconciles(tmp_path, base_cfg):
    summary = run_simulation(base_cfg, records=4000, days=0.25, seed=5, start=START, out=tmp_path, bad_ratio=0.3)
    assert all(summary.kinds[k] > 0 for k in KINDS)
    assert sum(summary.kinds.values()) == summary.total == 4000
    for topic, kinds in summary.by_topic.items():
        assert sum(kinds.values()) == summary.topics[topic]
    reg, units = contracts.load_registry(), contracts.load_units()
    quarantined = 0
    for raw in (raw for v in read_out(tmp_path).values() for raw in v):
        if validate(raw):
            quarantined += 1
            continue
        rec = json.loads(raw)
        quarantined += bool(contracts.out_of_range(rec, reg, units) or contracts.in_future(rec, NOW_MS))
    assert quarantined == summary.bad_total


def test_ratio_parsing():
    assert parse_ratios(None) == {}
    spread = parse_ratios(None, 0.11)
    assert set(spread) == set(KINDS) and sum(spread.values()) == pytest.approx(0.11)
    assert parse_ratios("duplicate=0.02, oversized=0", 0.0) == {"duplicate": 0.02}
    for bad in ("nonsense=0.1", "duplicate", "duplicate=x", "duplicate=0.7,late_event=0.6", "duplicate=-1"):
        with pytest.raises(BadRatioError):
            parse_ratios(bad)


# ---- options -----------------------------------------------------------------

def test_plan_modes():
    now = 1795200000000   # 2026-11-28T18:40Z
    midnight = now // 86_400_000 * 86_400_000
    p = plan(SimOptions(records=100))
    assert p.limit == 100 and not p.paced
    p = plan(SimOptions(records=100, days=2), now_ms=now)
    assert p.start_ms == midnight - 2 * 86_400_000 and p.target_rate == pytest.approx(100 / (2 * 86400))
    p = plan(SimOptions(days=1, start="2026-11-01T06:00+01:00"), now_ms=now)
    assert p.start_ms == event_ts_ms("2026-11-01T05:00:00Z") and p.end_ms == p.start_ms + 86_400_000
    p = plan(SimOptions(rate=50, duration=10), now_ms=now)
    assert p.paced and p.start_ms == now and p.end_ms == now + 10_000 and p.target_rate == 50
    for bad in ({"rate": 5, "days": 1}, {"records": 0}, {"start": "yesterday"}, {"days": -1}):
        with pytest.raises(OptionsError):
            plan(SimOptions(**bad))


def test_unknown_industry_and_option_are_refused(base_cfg):
    with pytest.raises(OptionsError):
        run_simulation(base_cfg, industry="mining", dry_run=True)
    with pytest.raises(OptionsError):
        run_simulation(base_cfg, recordz=5)


def test_cli_prints_a_json_summary(tmp_path, base_cfg, capsys):
    parser = argparse.ArgumentParser()
    sim_cli.add_simulate_arguments(parser)
    args = parser.parse_args(["--industry", "energy", "--records", "300", "--seed", "4", "--start", START,
                              "--out", str(tmp_path), "--json", "--quiet", "--bad", "duplicate=0.1"])
    assert sim_cli.run_simulate(args, base_cfg) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["total"] == 300 and summary["topics"]["energy.energy_meter"] == 300
    assert summary["kinds"]["duplicate"] > 0
    args = parser.parse_args(["--records", "0", "--quiet"])
    assert sim_cli.run_simulate(args, base_cfg) == 2
    assert sim_cli.duration_s("10m") == 600 and sim_cli.duration_s("1.5h") == 5400


def test_summary_table_lists_topics_and_kinds(tmp_path, base_cfg):
    summary = run_simulation(base_cfg, industry="energy", records=200, seed=1, start=START, out=tmp_path,
                             bad="malformed_json=0.2")
    table = summary.table()
    assert "energy.energy_meter" in table and "malformed_json" in table and "total" in table


# ---- brain produce (with a sink standing in for Kafka) ----------------------

class ListSink:
    name = "list"

    def __init__(self):
        self.sent, self.closed = [], False

    def send(self, topic, key, value):
        self.sent.append((topic, key, value))

    def close(self):
        self.closed = True


def test_produce_jsonl_sends_lines_as_they_are(tmp_path, base_cfg):
    rec = json.loads(Path(contracts.__file__).parents[2].joinpath(
        "conf/contracts/examples/energy_meter.json").read_text())
    path = tmp_path / "in.jsonl"
    path.write_bytes(json.dumps(rec).encode() + b"\n\n" + b'{"broken": \n' + b"\xff\xfe\n")
    sink = ListSink()
    counts = produce_file(base_cfg, path, "energy.energy_meter", check=True, sink=sink)
    assert counts == {"topic": "energy.energy_meter", "file": str(path), "sent": 3, "not_json": 2, "invalid": 2}
    assert sink.closed and sink.sent[0][1] == b"rm-baotou/bf-1/em-main" and sink.sent[2][2] == b"\xff\xfe"


def test_produce_csv_types_cells_by_the_contract(tmp_path, base_cfg):
    path = tmp_path / "in.csv"
    path.write_text(
        "schema_version,event_id,record_type,industry,enterprise,site,area,line,device,event_ts,quality,"
        "batch_id,inspected,passed,defect_codes\n"
        "1.0,0b1c2d3e-4f50-4a1b-8c2d-3e4f5a6b7c8d,quality_inspection,consumer_goods,acme,s1,a1,l1,d1,"
        "1795132800000,GOOD,B-1,10,8,UNDERFILL;CAP_LOOSE\n"
        "1.0,1b1c2d3e-4f50-4a1b-8c2d-3e4f5a6b7c8d,quality_inspection,consumer_goods,acme,s1,a1,l1,d1,"
        "2026-11-20T08:00:00+08:00,GOOD,B-1,ten,8,\n")
    sink = ListSink()
    counts = produce_file(base_cfg, path, "consumer_goods.quality_inspection", check=True, sink=sink)
    assert counts["sent"] == 2 and counts["invalid"] == 1 and counts["not_json"] == 0
    first = json.loads(sink.sent[0][2])
    assert first["inspected"] == 10 and first["event_ts"] == 1795132800000
    assert first["defect_codes"] == ["UNDERFILL", "CAP_LOOSE"] and validate(first) == []
    second = json.loads(sink.sent[1][2])
    assert second["inspected"] == "ten" and "defect_codes" not in second   # left for quarantine


# ---- physics -----------------------------------------------------------------

@pytest.fixture(scope="module")
def machining_week(tmp_path_factory, base_cfg):
    out = tmp_path_factory.mktemp("machining")
    run_simulation(base_cfg, industry="equipment_manufacturing", records=40000, days=7, seed=5, start=START,
                   out=out)
    return records(out)


def test_vibration_rises_before_a_failure_and_drops_after_repair(machining_week):
    reg = contracts.load_registry()
    vib = defaultdict(list)
    for r in machining_week:
        if r["record_type"] == "telemetry" and reg.sensor(r["sensor"]).role == "vibration":
            vib[(r["site"], r["line"], r["device"])].append((event_ts_ms(r["event_ts"]), r["value"], r["sensor"]))
    failures = [r for r in machining_week if r["record_type"] == "machine_state" and r["state"] == "DOWN"
                and not r["planned"] and r["reason_code"] != "PROCESS_TRIP"]
    assert failures, "a week of machining should see a wear-out failure"
    for f in failures:
        series = sorted(vib[(f["site"], f["line"], f["device"])])
        t = event_ts_ms(f["event_ts"])
        normal_max = reg.sensor(series[0][2]).normal[1]
        running_before = [v for ts, v, _ in series if t - 4 * 3_600_000 <= ts < t and v > 0.2 * normal_max]
        running_after = [v for ts, v, _ in series if ts > t and v > 0.05][:10]
        assert sum(running_before) / len(running_before) > normal_max, f
        assert sum(running_after) / len(running_after) < normal_max, f


def test_shift_calendar_plans_stops(machining_week):
    states = Counter((r["state"], r["reason_code"], r["planned"]) for r in machining_week
                     if r["record_type"] == "machine_state")
    for planned in (("IDLE", "NO_SHIFT", True), ("IDLE", "BREAK", True), ("DOWN", "PLANNED_MAINTENANCE", True),
                    ("SETUP", "CHANGEOVER", True)):
        assert states[planned] > 0, planned
    assert all(planned == (reason is not None and reason not in ("STARVED", "PROCESS_TRIP")
                           and not reason.endswith("FAILURE"))
               for (_state, reason, planned) in states)


def test_calendar_lookup_in_local_time():
    reg = contracts.load_registry()
    cal = compile_calendar(reg.calendar("equipment_manufacturing"))
    local = event_ts_ms
    assert cal.planned(local("2026-11-16T05:00:00+01:00"), 3600) == ("IDLE", "NO_SHIFT")
    assert cal.planned(local("2026-11-16T08:00:00+01:00"), 3600) is None
    assert cal.planned(local("2026-11-16T10:05:00+01:00"), 3600) == ("IDLE", "BREAK")
    assert cal.planned(local("2026-11-21T07:00:00+01:00"), 3600) == ("DOWN", "PLANNED_MAINTENANCE")
    assert cal.planned(local("2026-11-22T12:00:00+01:00"), 3600) == ("IDLE", "NO_SHIFT")


@pytest.fixture(scope="module")
def furnaces_and_meters(tmp_path_factory, base_cfg):
    out = tmp_path_factory.mktemp("energy")
    # Monday noon to Wednesday: covers the Tuesday maintenance stop of the continuous plants.
    run_simulation(base_cfg, industry="raw_materials,energy", records=20000, days=2, seed=5,
                   start="2026-11-16T12:00", out=out)
    return records(out)


def _timelines(recs: list[dict]) -> dict:
    lines = defaultdict(lambda: defaultdict(list))
    for r in recs:
        if r["record_type"] == "machine_state":
            lines[(r["site"], r["line"])][r["device"]].append((event_ts_ms(r["event_ts"]), r["state"]))
    return lines


def _all_down(devices: dict, start: int, end: int) -> bool:
    for changes in devices.values():
        before = [s for ts, s in sorted(changes) if ts <= start]
        if not before or before[-1] != "DOWN" or any(start < ts < end for ts, _ in changes):
            return False
    return True


def test_energy_is_near_zero_when_down_and_follows_output(furnaces_and_meters):
    recs = furnaces_and_meters
    timelines = _timelines(recs)
    produced = defaultdict(list)
    for r in recs:
        if r["record_type"] == "production":
            produced[(r["site"], r["line"])].append((event_ts_ms(r["end_ts"]), r["produced"]))
    down, running, pairs = [], [], defaultdict(list)
    for r in recs:
        if r["record_type"] != "energy_meter" or r["carrier"] != "electricity" or (r["site"], r["line"]) \
                not in timelines:
            continue
        key, end = (r["site"], r["line"]), event_ts_ms(r["event_ts"])
        start = end - r["interval_s"] * 1000
        units = sum(n for ts, n in produced[key] if start < ts <= end)
        pairs[key].append((units, r["value"]))
        if _all_down(timelines[key], start, end):
            down.append((key, r["value"]))
        elif units:
            running.append(r["value"])
    assert down, "the maintenance stop should give whole intervals with every device DOWN"
    typical = sorted(running)[len(running) // 2]
    assert all(kwh < 0.02 * typical for _key, kwh in down)
    for key, xy in pairs.items():
        if key[0] != "rm-ludwigshafen":   # methanol counts whole tonnes: too coarse for a correlation
            assert _pearson(xy) > 0.95, key


def _pearson(xy: list[tuple[float, float]]) -> float:
    n = len(xy)
    mx, my = sum(x for x, _ in xy) / n, sum(y for _, y in xy) / n
    sxy = sum((x - mx) * (y - my) for x, y in xy)
    sxx, syy = sum((x - mx) ** 2 for x, _ in xy), sum((y - my) ** 2 for _, y in xy)
    return sxy / math.sqrt(sxx * syy)


class _Quiet:
    def __getattr__(self, name):
        return lambda *a, **k: None


def _defect_rate(deviation: float) -> float:
    from random import Random

    reg = contracts.load_registry()
    site = reg.sites("consumer_goods", sites=1, lines=1)[0]
    rng = Random(1)
    line = LineSim(site, site.lines[0], reg, rng)
    inspected = failed = 0
    for i in range(240):   # two hours of 30 s steps, running, with the process held off-centre
        for d in line.devices:
            d.dev, d.w, d.repair_until, d.trip_until = deviation, 0.0, 0, 0
        line.step(i * 30_000, 30_000, None, rng, _Quiet())
        if i % 60 == 59:
            n, passed, _codes = line.inspection(0, reg.defect_codes("consumer_goods"), rng)
            inspected, failed = inspected + n, failed + n - passed
    return failed / inspected


def test_defects_rise_with_process_deviation():
    centred, drifting = _defect_rate(0.0), _defect_rate(1.5)
    assert drifting > 5 * centred > 0
