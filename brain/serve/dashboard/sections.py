"""The dashboard's sections: each reads one gold table through brain.serve.query and draws its charts.

A table that does not exist yet, or has no rows, gives a section that says
"no data yet" (the report is useful from the first pipeline run on); a table
that cannot be read says why, in the section, instead of failing the report.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from html import escape

from brain.config import Config
from brain.serve.dashboard import charts

ENTERPRISE = "gold.enterprise_brain"
DQ = "gold.data_quality_daily"
PDM = "gold.pdm_alerts"
PARETO = "gold.<industry>_defect_pareto_daily"  # every industry with inspections has one
DQ_DIMENSIONS = ("completeness", "timeliness", "validity", "uniqueness", "consistency", "accuracy", "overall")
ENERGY_HOURLY = "gold.energy_hourly_site"
UNATTRIBUTED = "unattributed"  # brain.quality.scorecard.UNKNOWN_SITE; older scorecards wrote "?"


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    body: str          # HTML
    has_data: bool
    source: str


class NoData(Exception):
    pass


def _rows(cfg: Config, sql: str) -> list[dict]:
    from brain.serve import query

    cols, rows, _ = query.run(cfg, sql)
    return [dict(zip(cols, r)) for r in rows]


def _since(cfg: Config, table: str, days: int) -> dt.date:
    """First day of the window: the table's latest day minus ``days - 1`` (data may lag the calendar)."""
    latest = _rows(cfg, f"SELECT max(event_date) AS d FROM {table}")[0]["d"]
    if latest is None:
        raise NoData(f"{table} has no rows")
    return latest - dt.timedelta(days=days - 1)


def _recent(cfg: Config, table: str, columns: str, days: int, order: str = "event_date") -> list[dict]:
    since = _since(cfg, table, days)
    rows = _rows(cfg, f"SELECT {columns} FROM {table} WHERE event_date >= DATE '{since.isoformat()}' ORDER BY {order}")
    if not rows:
        raise NoData(f"{table} has no rows since {since}")
    return rows


def _day(d: dt.date) -> str:
    return d.isoformat()[5:]


def _by_site(rows: list[dict], value) -> tuple[list[str], dict[str, list[float | None]]]:
    days = sorted({r["event_date"] for r in rows})
    series: dict[str, list[float | None]] = defaultdict(lambda: [None] * len(days))
    index = {d: i for i, d in enumerate(days)}
    for r in rows:
        series[str(r["site"])][index[r["event_date"]]] = value(r)
    return [_day(d) for d in days], dict(sorted(series.items()))


def _f(v) -> float | None:
    return None if v is None else float(v)


def overview(cfg: Config, days: int) -> str:
    rows = _recent(cfg, ENTERPRISE, "*", days, "site, event_date")
    latest: dict[str, dict] = {}
    for r in rows:
        latest[str(r["site"])] = r
    head = "".join(f"<th>{h}</th>" for h in ("site", "day", "OEE", "energy kWh", "CO₂ t", "data quality",
                                            "PdM alerts"))
    body = []
    for site, r in sorted(latest.items()):
        cells = [escape(site), r["event_date"].isoformat(), _cell(r.get("oee"), charts.pct),
                 _cell(r.get("energy_kwh"), charts.num), _cell(r.get("co2_t"), charts.num),
                 _cell(r.get("dq_score"), charts.pct), _cell(r.get("pdm_alerts"), str)]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f'<table class="kpis"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _cell(v, fmt) -> str:
    return "–" if v is None else escape(fmt(v))


LOSSES = ("OEE", "quality loss", "performance loss", "availability loss")


def oee_losses(a, p, q) -> tuple[float, float, float, float] | None:
    """(OEE, quality loss, performance loss, availability loss), shares of planned busy time that add up
    to 1: A x P x Q, A x P x (1 - Q), A x (1 - P), 1 - A. None when a factor is missing."""
    if None in (a, p, q):
        return None
    a, p, q = (min(1.0, max(0.0, float(v))) for v in (a, p, q))
    return a * p * q, a * p * (1 - q), a * (1 - p), 1 - a


def oee(cfg: Config, days: int) -> str:
    rows = _recent(cfg, ENTERPRISE, "site, event_date, oee, availability, performance, quality_ratio", days)
    labels, series = _by_site(rows, lambda r: _f(r["oee"]))
    # A site without production data (an energy-only plant) has no OEE: no empty chart for it.
    series = {site: v for site, v in series.items() if any(x is not None for x in v)}
    if not series:
        raise NoData(f"{ENTERPRISE} has no OEE in the window (OEE needs production and machine-state records)")
    trend = charts.line_chart("oee-trend", "OEE per site and day", labels, series, charts.pct, top=1.0)
    if len(labels) < 2:
        trend = (f'<p class="note">One day of OEE so far ({escape(labels[0] if labels else "")}): a trend needs two; '
                 f'the hour-by-hour view below shows the last day as lines.</p>{trend}')
    day_list = sorted({r["event_date"] for r in rows})
    per_site = []
    for site in series:
        split = {r["event_date"]: oee_losses(r["availability"], r["performance"], r["quality_ratio"])
                 for r in rows if str(r["site"]) == site}
        lines = {name: [None if split.get(d) is None else split[d][k] for d in day_list]
                 for k, name in enumerate(LOSSES)}
        per_site.append(f"<h3>{escape(site)}: OEE and its losses</h3>"
                        + charts.line_chart("oee-losses-trend", f"OEE and its losses per day, {site}", labels, lines,
                                            charts.pct, top=1.0, site=site))
    latest: dict[str, dict] = {}
    for r in rows:
        if None not in (r["availability"], r["performance"], r["quality_ratio"]):
            latest[str(r["site"])] = r
    shares = []
    for site, r in sorted(latest.items()):
        split = oee_losses(r["availability"], r["performance"], r["quality_ratio"])
        shares.append((site, list(zip(LOSSES, split))))
    losses = (charts.share_bars("oee-losses", "OEE and its losses, latest day per site", shares) if shares
              else "<p class=\"empty\">no availability/performance/quality figures yet</p>")
    return (f"<h3>OEE trend (a line per site)</h3>{trend}{''.join(per_site)}"
            f"<h3>Loss breakdown (latest day per site: OEE = availability × performance × quality)</h3>{losses}")


def energy(cfg: Config, days: int) -> str:
    rows = _recent(cfg, ENTERPRISE, "site, event_date, energy_kwh, energy_tce, co2_t, produced_count", days)

    def intensity(r) -> float | None:
        if r["energy_kwh"] is None or not r["produced_count"]:
            return None
        return float(r["energy_kwh"]) / float(r["produced_count"])

    labels, per_unit = _by_site(rows, intensity)
    per_unit = {site: v for site, v in per_unit.items() if any(x is not None for x in v)}
    _, carbon_by_site = _by_site(rows, lambda r: _f(r["co2_t"]) or 0.0)
    carbon = {site: [v or 0.0 for v in vals] for site, vals in carbon_by_site.items()}
    tce = sum(float(r["energy_tce"] or 0) for r in rows)
    co2 = sum(float(r["co2_t"] or 0) for r in rows)
    return (f'<p class="note">{len(labels)} day(s): {charts.num(tce)} tce, {charts.num(co2)} t CO₂ in total.</p>'
            f"<h3>Energy intensity (kWh per unit produced)</h3>"
            + (charts.line_chart("energy-intensity", "kWh per unit per site", labels, per_unit) if per_unit else
               '<p class="empty">no units produced in the window (intensity needs production records)</p>')
            + "<h3>Carbon (t CO₂ per day, by site)</h3>"
            f"{charts.bar_chart('carbon', 't CO2 per day', labels, carbon)}")


def scorecard_cells(rows: list[dict]) -> tuple[list[str], list[list[float | str | None]]]:
    """Row names ("industry / site") and the mean of each dimension over the rows.

    Quarantined records without a readable site are their own row, ``unattributed``. Timeliness
    with no live rows but historical ones is the word "historical load" (not 0 %, not n/a: the
    data is there, it was simply sent long after it happened; docs/quality.md).
    """
    acc: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    history: dict[str, int] = defaultdict(int)
    for r in rows:
        site = str(r.get("site"))
        site = UNATTRIBUTED if site in ("?", "", "None") else site
        name = f"{r.get('industry') or UNATTRIBUTED} / {site}"
        acc[name]  # a row even when every dimension is null
        history[name] += int(r.get("historical_rows") or 0)
        for dim in DQ_DIMENSIONS:
            if r.get(dim) is not None:
                acc[name][dim].append(float(r[dim]))
    names = sorted(acc, key=lambda n: (n.endswith(" / " + UNATTRIBUTED), n))
    values: list[list[float | str | None]] = []
    for n in names:
        row: list[float | str | None] = []
        for d in DQ_DIMENSIONS:
            if acc[n][d]:
                row.append(sum(acc[n][d]) / len(acc[n][d]))
            elif d == "timeliness" and history[n]:
                row.append(charts.HISTORICAL)
            else:
                row.append(None)
        values.append(row)
    return names, values


def data_quality(cfg: Config, days: int) -> str:
    names, values = scorecard_cells(_recent(cfg, DQ, "*", days))
    grid = charts.heat_grid("dq-scorecard", "data-quality scorecard", names, DQ_DIMENSIONS, values)
    return ('<p class="note">Mean score per dimension over the window; green ≥ 98 %, amber ≥ 90 %. '
            "Timeliness is the producer-to-ingest delay of live data; history loaded after the fact shows as "
            "<em>historical load</em>. <em>unattributed</em>: quarantined records whose Kafka key names no site "
            f"(docs/quality.md).</p>{grid}")


def site_hours(rows: list[dict]) -> dict[str, dict]:
    """Per site and hour, OEE rolled up from the lines' ISO 22400 time components (never a mean of
    line OEEs; brain.gold.rollup): ``{site: {hour_start: oee or None}}``. Flagged line-hours stay out."""
    from brain.gold.kpi import formulas as kpi

    sums: dict[tuple[str, dt.datetime], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    for r in rows:
        key = (str(r["site"]), r["hour_start"])
        acc = sums[key]
        if r.get("flags"):
            continue
        for i, c in enumerate(("pbt_s", "apt_s", "ideal_run_s", "ideal_good_s")):
            acc[i] += float(r.get(c) or 0.0)
    out: dict[str, dict] = defaultdict(dict)
    for (site, hour), (pbt, apt, run, good) in sums.items():
        try:
            out[site][hour] = kpi.rolled_up_oee(pbt, apt, run, good)
        except (ValueError, ZeroDivisionError, ArithmeticError):  # impossible sums: no figure, not a wrong one
            out[site][hour] = None
    return dict(out)


def _last_day_hours(cfg: Config, table: str, columns: str) -> list[dict]:
    latest = _rows(cfg, f"SELECT max(hour_start) AS h FROM {table}")[0]["h"]
    if latest is None:
        return []
    since = latest - dt.timedelta(hours=23)
    return _rows(cfg, f"SELECT {columns} FROM {table} WHERE hour_start >= TIMESTAMP '{since:%Y-%m-%d %H:%M:%S}' "
                      "ORDER BY hour_start")


def hourly(cfg: Config, days: int) -> str:
    """The last 24 hours that have data (the newest hour of each table and the 23 before it)."""
    from brain.lake.tables import is_delta, table_path

    oee_rows: list[dict] = []
    for ind in cfg.industry_names():
        name = f"gold.{ind}_oee_hourly_line"
        if is_delta(table_path(cfg, name)):
            oee_rows += _last_day_hours(cfg, name, "site, hour_start, pbt_s, apt_s, ideal_run_s, ideal_good_s, flags")
    energy_rows = (_last_day_hours(cfg, ENERGY_HOURLY, "site, hour_start, electricity_kwh")
                   if is_delta(table_path(cfg, ENERGY_HOURLY)) else [])
    if not oee_rows and not energy_rows:
        raise NoData("no hourly rows in gold.<industry>_oee_hourly_line or gold.energy_hourly_site")
    parts = []
    if oee_rows:
        per_site = site_hours(oee_rows)
        hours = sorted({h for v in per_site.values() for h in v})
        hours = [h for h in hours if h >= hours[-1] - dt.timedelta(hours=23)]
        series = {site: [v.get(h) for h in hours] for site, v in sorted(per_site.items())}
        parts.append(f"<h3>OEE per site and hour (UTC, {hours[0]:%Y-%m-%d %H:%M} – {hours[-1]:%H:%M})</h3>"
                     + charts.line_chart("oee-hourly", "OEE per site and hour", [f"{h:%H:%M}" for h in hours],
                                         series, charts.pct, top=1.0))
    if energy_rows:
        hours = sorted({r["hour_start"] for r in energy_rows})
        kwh: dict[str, list[float | None]] = defaultdict(lambda: [None] * len(hours))
        index = {h: i for i, h in enumerate(hours)}
        for r in energy_rows:
            kwh[str(r["site"])][index[r["hour_start"]]] = _f(r["electricity_kwh"])
        parts.append(f"<h3>Electricity per site and hour, kWh (UTC, {hours[0]:%Y-%m-%d %H:%M} – "
                     f"{hours[-1]:%H:%M})</h3>"
                     + charts.line_chart("energy-hourly", "kWh per site and hour", [f"{h:%H:%M}" for h in hours],
                                         dict(sorted(kwh.items()))))
    return ('<p class="note">An interval record counts in the hour its interval ends in; a site\'s OEE is '
            "rolled up from its lines' time components.</p>" + "".join(parts))


def pdm(cfg: Config, days: int) -> str:
    rows = _recent(cfg, PDM, "site, line, device, sensor, event_date, alert_ts, level, health_index, reason", days,
                   "alert_ts DESC")
    day_list = sorted({r["event_date"] for r in rows})
    levels = ("ALARM", "WARNING")
    series = {lv: [float(sum(1 for r in rows if r["event_date"] == d and r["level"] == lv)) for d in day_list]
              for lv in levels}
    chart = charts.bar_chart("pdm-alerts", "PdM alerts per day", [_day(d) for d in day_list], series,
                             lambda v: f"{v:.0f}")
    head = "".join(f"<th>{h}</th>" for h in ("time (UTC)", "device", "sensor", "level", "health", "reason"))
    body = "".join(
        "<tr>" + "".join(f"<td>{c}</td>" for c in (
            escape(str(r["alert_ts"])[:19]), escape(f"{r['site']}/{r['line']}/{r['device']}"), escape(str(r["sensor"])),
            f'<span class="level {escape(str(r["level"]).lower())}">{escape(str(r["level"]))}</span>',
            _cell(r["health_index"], charts.num), escape(str(r["reason"] or "")))) + "</tr>"
        for r in rows[:10])
    return (f'<p class="note">{len(rows)} alert(s) in the window.</p>{chart}'
            f'<h3>Latest alerts</h3><table class="alerts"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')


def defects(cfg: Config, days: int) -> str:
    """One Pareto over every industry's defect table; codes are prefixed by industry when several report."""
    from brain.lake.tables import is_delta, table_path

    counts: list[tuple[str, str, float]] = []
    for ind in cfg.industry_names():
        table = PARETO.replace("<industry>", ind)
        if not is_delta(table_path(cfg, table)):
            continue
        try:
            since = _since(cfg, table, days)
        except NoData:
            continue
        counts += [(ind, str(r["defect_code"]), float(r["n"])) for r in _rows(
            cfg, f"SELECT defect_code, SUM(defects) AS n FROM {table} "
                 f"WHERE event_date >= DATE '{since.isoformat()}' AND defect_code IS NOT NULL "
                 "GROUP BY defect_code") if r["n"]]
    if not counts:
        raise NoData("no defects in the window in any gold.<industry>_defect_pareto_daily")
    several = len({ind for ind, _, _ in counts}) > 1
    top = sorted(counts, key=lambda c: (-c[2], c[0], c[1]))[:10]
    labels = [f"{ind}: {code}" if several else code for ind, code, _ in top]
    who = ", ".join(sorted({ind.replace("_", " ") for ind, _, _ in counts}))
    return (f'<p class="note">Top defect codes over the window, every line of: {escape(who)}.</p>'
            + charts.pareto("defect-pareto", "top defects", labels, [n for _, _, n in top]))


# key, title, source table(s), drawer
SECTIONS = (
    ("overview", "Latest day per site", ENTERPRISE, overview),
    ("oee", "OEE and its losses", ENTERPRISE, oee),
    ("hourly", "Last day, hour by hour", f"gold.<industry>_oee_hourly_line, {ENERGY_HOURLY}", hourly),
    ("energy", "Energy intensity and carbon", ENTERPRISE, energy),
    ("data-quality", "Data-quality scorecard", DQ, data_quality),
    ("pdm", "Predictive-maintenance alerts", PDM, pdm),
    ("defects", "Top defects (Pareto)", PARETO, defects),
)


def build_sections(cfg: Config, days: int) -> list[Section]:
    from brain.lake.tables import is_delta, table_path

    out = []
    for key, title, source, draw in SECTIONS:
        if "<industry>" not in source and not is_delta(table_path(cfg, source)):
            out.append(Section(key, title, f'<p class="empty">no data yet: {source} has not been published.</p>',
                               False, source))
            continue
        try:
            out.append(Section(key, title, draw(cfg, days), True, source))
        except NoData as exc:
            out.append(Section(key, title, f'<p class="empty">no data yet: {escape(str(exc))}.</p>', False, source))
        except Exception as exc:  # noqa: BLE001 - one unreadable table must not cost the whole report
            out.append(Section(key, title, f'<p class="error">could not read {source}: '
                                           f'{escape(str(exc).splitlines()[0][:300])}</p>', False, source))
    return out
