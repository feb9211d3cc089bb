"""The pure parts of ``brain explain``: the --where filter, Kafka offset ranges, state
intervals and the KPI formulas written out with a gold row's own numbers.

No lake access here, so each piece is checked by hand-computed unit tests.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Iterable

# `col = 'value'` or `col = 12` / `col = 1.5`; nothing else (no OR, <, LIKE, functions):
# the filter names one KPI row by its keys, and a narrow grammar cannot inject SQL.
_TERM = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*('(?:[^']|'')*'|-?\d+(?:\.\d+)?)\s*", re.S)
_AND = re.compile(r"AND\b", re.I)


class WhereError(ValueError):
    """A --where the command does not accept, with the form it does."""


def parse_where(text: str) -> dict[str, Any]:
    """``"site='S1' AND event_date='2026-11-20'"`` -> ``{"site": "S1", "event_date": "2026-11-20"}``.

    Quoted values are strings ('' is a quote inside one), bare numbers are int or float.
    """
    hint = "write col = 'value' terms joined by AND, e.g. \"line='line-01' AND event_date='2026-11-20'\""
    out: dict[str, Any] = {}
    pos, text = 0, text or ""
    while True:
        m = _TERM.match(text, pos)
        if not m:
            raise WhereError(f"cannot read --where at {text[pos:pos + 30]!r}: {hint}")
        col, raw = m.group(1), m.group(2)
        if col.upper() in ("AND", "OR", "NOT"):
            raise WhereError(f"{col!r} is not a column: {hint}")
        if col in out:
            raise WhereError(f"{col} is given twice: {hint}")
        out[col] = raw[1:-1].replace("''", "'") if raw.startswith("'") else (float(raw) if "." in raw else int(raw))
        pos = m.end()
        if pos == len(text):
            return out
        m = _AND.match(text, pos)
        if not m:
            raise WhereError(f"only AND may join terms, found {text[pos:pos + 30]!r}: {hint}")
        pos = m.end()


def sql_literal(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def offset_ranges(offsets: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted, distinct offsets as inclusive runs: [3, 4, 5, 9] -> [(3, 5), (9, 9)]."""
    runs: list[tuple[int, int]] = []
    for o in sorted(set(offsets)):
        if runs and o == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], o)
        else:
            runs.append((o, o))
    return runs


def ranges_text(runs: list[tuple[int, int]], most: int = 6) -> str:
    parts = [str(a) if a == b else f"{a}-{b}" for a, b in runs]
    return ", ".join(parts[:most]) + (f", ... ({len(parts) - most} more runs)" if len(parts) > most else "")


def coordinates(rows: Iterable[tuple[str, int, int]]) -> list[dict]:
    """(topic, partition, offset) rows -> per topic/partition: records, first/last offset, contiguous runs."""
    by: dict[tuple[str, int], list[int]] = {}
    for topic, partition, offset in rows:
        by.setdefault((topic, partition), []).append(offset)
    return [{"topic": t, "partition": p, "records": len(offs), "first_offset": min(offs),
             "last_offset": max(offs), "ranges": [list(r) for r in offset_ranges(offs)]}
            for (t, p), offs in sorted(by.items())]


def state_intervals(events: list[tuple], day: dt.date) -> list[dict]:
    """The states a device was in during ``day`` (UTC), as brain.gold.kpi.columns.state_segments
    builds them: an event's state lasts until the device's next event; the last event is closed
    at the end of its own day. ``events``: (event_ts naive UTC, event_id, state, planned, quality,
    reason_code), the last one of the day before included (it sets the state at 00:00)."""
    start, end = dt.datetime.combine(day, dt.time()), dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
    events = sorted(events, key=lambda e: (e[0], e[1]))
    out = []
    for i, (ts, _eid, state, planned, quality, reason) in enumerate(events):
        own_end = dt.datetime.combine(ts.date() + dt.timedelta(days=1), dt.time())
        stop = events[i + 1][0] if i + 1 < len(events) else own_end
        lo, hi = max(ts, start), min(stop, end)
        if hi > lo:
            out.append({"from": lo, "to": hi, "seconds": (hi - lo).total_seconds(), "state": state,
                        "planned": planned, "quality": quality, "reason_code": reason})
    return out


def _num(x: Any, digits: int = 4) -> str:
    if x is None:
        return "null"
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return f"{int(x):,}"
    return f"{x:,}" if isinstance(x, int) else f"{x:.{digits}f}"


def _pct(x: Any) -> str:
    return "null" if x is None else f"{100 * x:.1f} %"


def formula_lines(row: dict) -> list[str]:
    """The KPI formulas the row's columns answer, each with the row's inputs and result."""
    lines: list[str] = []
    g = row.get
    if {"oee", "pbt_s", "apt_s"} <= row.keys():
        lines.append("OEE = A x E x Q (ISO 22400-2)")
        if "pot_s" in row and "planned_down_s" in row:
            lines.append(f"  PBT  = POT - PDOT = {_num(g('pot_s'))} s - {_num(g('planned_down_s'))} s"
                         f" = {_num(g('pbt_s'))} s")
        lines.append(f"  A    = APT / PBT = {_num(g('apt_s'))} s / {_num(g('pbt_s'))} s = {_num(g('availability'))}")
        if "produced" in row and "good" in row:  # a line: its own counts and PRU
            pru = g("ideal_run_s") / g("produced") if g("produced") else None
            lines.append(f"  E    = PRU x PQ / APT = {_num(pru)} s x {_num(g('produced'))} / {_num(g('apt_s'))} s"
                         f" = {_num(g('ideal_run_s'))} s / {_num(g('apt_s'))} s = {_num(g('effectiveness'))}")
            lines.append(f"  Q    = GQ / PQ = {_num(g('good'))} / {_num(g('produced'))} = {_num(g('quality_ratio'))}")
        else:  # a roll-up: summed ideal times (brain.gold.kpi.formulas.rolled_up_oee)
            lines.append(f"  E    = sum(PRU x PQ) / APT = {_num(g('ideal_run_s'))} s / {_num(g('apt_s'))} s"
                         f" = {_num(g('effectiveness'))}")
            lines.append(f"  Q    = sum(PRU x GQ) / sum(PRU x PQ) = {_num(g('ideal_good_s'))} s / "
                         f"{_num(g('ideal_run_s'))} s = {_num(g('quality_ratio'))}")
        lines.append(f"  OEE  = {_num(g('availability'))} x {_num(g('effectiveness'))} x {_num(g('quality_ratio'))}"
                     f" = {_num(g('oee'))} ({_pct(g('oee'))})")
        if g("flags"):
            lines.append(f"  flags: {', '.join(g('flags'))} (a flagged KPI is null: docs/kpis.md)")
    if {"load_factor", "avg_demand_kw", "peak_demand_kw"} <= row.keys():
        lines.append(f"load factor = mean / peak 15-min demand = {_num(g('avg_demand_kw'))} kW / "
                     f"{_num(g('peak_demand_kw'))} kW = {_num(g('load_factor'))}")
    if "quality_ratio" in row and "oee" not in row and {"good", "produced"} <= row.keys():
        lines.append(f"quality ratio = GQ / PQ = {_num(g('good'))} / {_num(g('produced'))} = "
                     f"{_num(g('quality_ratio'))}")
    return lines


def energy_lines(row: dict, factors: dict[str, tuple[str, float, float]]) -> list[str]:
    """tce and tCO2 as sums over the carriers' columns: ``factors`` carrier -> (column, tce/unit, tCO2/unit)."""
    terms = [(c, col, tce, co2) for c, (col, tce, co2) in sorted(factors.items()) if row.get(col)]
    if "tce" not in row or not terms:
        return []
    return [
        "tce  = sum(amount x tce per unit) (GB/T 2589) = "
        + " + ".join(f"{_num(row[col])} {col.rsplit('_', 1)[-1]} x {tce:g}" for _, col, tce, _ in terms)
        + f" = {_num(row['tce'])}",
        "tCO2 = sum(amount x tCO2 per unit) = "
        + " + ".join(f"{_num(row[col])} x {co2:g}" for _, col, _, co2 in terms) + f" = {_num(row.get('tco2'))}"]


def _planned(s: dict) -> str:
    """Planned or not matters for stops only (PDOT); running time is APT either way."""
    return "" if s["state"] == "RUNNING" else ("planned" if s["planned"] else "unplanned")


def _when(x: Any) -> str:
    return x.isoformat(sep=" ") if isinstance(x, dt.datetime) else str(x)


def render(result: dict) -> str:
    """The explanation, readable: the row, its formula, then where its records came from."""
    out = [f"{result['table']} (industry {result['industry']}), where {result['where']}"]
    for i, gold in enumerate(result["rows"], 1):
        row = gold["row"]
        keys = ", ".join(f"{k}={_when(v)}" for k, v in gold["keys"].items())
        out.append(f"\nrow {i} of {len(result['rows'])}: {keys}"
                   + (f" (industry {gold['industry']})" if "," in result["industry"] else ""))
        shown = {k: v for k, v in row.items() if k not in gold["keys"]}
        width = max([len(k) for k in shown] + [0])
        out += [f"  {k:<{width}}  {_when(v) if not isinstance(v, float) else _num(v)}" for k, v in shown.items()]
        if gold["formula"]:
            out.append("")
            out += gold["formula"]
        if gold.get("how"):
            out.append(f"\nhow it is computed ({result['transform']}):")
            out += ["  " + line for line in gold["how"]]
        for src in gold["sources"]:
            out.append(f"\nsource {src['table']} ({src['selected_by']}):")
            if src.get("missing"):
                out.append("  (no such table in the lake)")
                continue
            out.append(f"  {src['silver_rows']} silver rows, event time {_when(src['first_event'])} .. "
                       f"{_when(src['last_event'])}; runs {', '.join(src['run_ids']) or '-'}")
            for c in src["kafka"]:
                out.append(f"  kafka {c['topic']} partition {c['partition']}: {c['records']} records, offsets "
                           f"{ranges_text([tuple(r) for r in c['ranges']])}")
            q = src["quarantined"]
            reasons = ", ".join(f"{r}: {n}" for r, n in sorted(q["reasons"].items()))
            out.append(f"  quarantined, same keys and day: {q['matched']}" + (f" ({reasons})" if reasons else "")
                       + (f"; {q['unattributed']} more of this record type without readable keys "
                          f"(by topic and Kafka day: {q['unattributed_by_topic_day']})" if q["unattributed"] else ""))
            out.append(f"  duplicates of these records (same event_id, counted once): {src['duplicates']}")
            for a in src.get("amounts", []):
                out.append(f"    {a['carrier']}: {_num(a['total'])} {a['unit']} from {a['readings']} readings"
                           + (f" ({a['bad_excluded']} BAD excluded)" if a["bad_excluded"] else ""))
            for p in src.get("reports", []):
                out.append(f"    report {_when(p['start_ts_utc'])} .. {_when(p['end_ts_utc'])} {p['device']}: "
                           f"produced {p['produced']}, good {p['good']}, planned cycle "
                           f"{_num(p['planned_cycle_time_s'])} s, {p['quality']}")
        for dev, intervals in gold.get("state_intervals", {}).items():
            out.append(f"\nstate intervals of {dev} (the line's counting device: its states are the OEE time basis):")
            out += [f"  {_when(s['from'])} .. {_when(s['to'])}  {s['state']:<8} "
                    f"{_planned(s):<9} {_num(s['seconds'])} s"
                    f"{' ' + s['reason_code'] if s['reason_code'] else ''}"
                    f"{'' if s['quality'] == 'GOOD' else ' (' + s['quality'] + ')'}" for s in intervals]
    return "\n".join(out)
