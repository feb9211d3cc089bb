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
PARETO = "gold.consumer_goods_defect_pareto_daily"
DQ_DIMENSIONS = ("completeness", "timeliness", "validity", "uniqueness", "consistency", "overall")


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


def oee(cfg: Config, days: int) -> str:
    rows = _recent(cfg, ENTERPRISE, "site, event_date, oee, availability, performance, quality_ratio", days)
    labels, series = _by_site(rows, lambda r: _f(r["oee"]))
    trend = charts.line_chart("oee-trend", "OEE per site and day", labels, series, charts.pct, top=1.0)
    latest: dict[str, dict] = {}
    for r in rows:
        if None not in (r["availability"], r["performance"], r["quality_ratio"]):
            latest[str(r["site"])] = r
    shares = []
    for site, r in sorted(latest.items()):
        a, p, q = (min(1.0, max(0.0, float(r[k]))) for k in ("availability", "performance", "quality_ratio"))
        shares.append((site, [("OEE", a * p * q), ("quality loss", a * p * (1 - q)),
                              ("performance loss", a * (1 - p)), ("availability loss", 1 - a)]))
    losses = (charts.share_bars("oee-losses", "OEE and its losses, latest day per site", shares) if shares
              else "<p class=\"empty\">no availability/performance/quality figures yet</p>")
    return (f"<h3>OEE trend</h3>{trend}<h3>Loss breakdown (latest day per site: OEE = availability × "
            f"performance × quality)</h3>{losses}")


def energy(cfg: Config, days: int) -> str:
    rows = _recent(cfg, ENTERPRISE, "site, event_date, energy_kwh, energy_tce, co2_t, produced_count", days)

    def intensity(r) -> float | None:
        if r["energy_kwh"] is None or not r["produced_count"]:
            return None
        return float(r["energy_kwh"]) / float(r["produced_count"])

    labels, per_unit = _by_site(rows, intensity)
    _, carbon_by_site = _by_site(rows, lambda r: _f(r["co2_t"]) or 0.0)
    carbon = {site: [v or 0.0 for v in vals] for site, vals in carbon_by_site.items()}
    tce = sum(float(r["energy_tce"] or 0) for r in rows)
    co2 = sum(float(r["co2_t"] or 0) for r in rows)
    return (f'<p class="note">{len(labels)} day(s): {charts.num(tce)} tce, {charts.num(co2)} t CO₂ in total.</p>'
            f"<h3>Energy intensity (kWh per unit produced)</h3>"
            f"{charts.line_chart('energy-intensity', 'kWh per unit per site', labels, per_unit)}"
            f"<h3>Carbon (t CO₂ per day, by site)</h3>"
            f"{charts.bar_chart('carbon', 't CO2 per day', labels, carbon)}")


def data_quality(cfg: Config, days: int) -> str:
    rows = _recent(cfg, DQ, "*", days)
    acc: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        name = f"{r.get('industry') or '?'} / {r.get('site')}"
        for dim in DQ_DIMENSIONS:
            if r.get(dim) is not None:
                acc[name][dim].append(float(r[dim]))
    names = sorted(acc)
    values = [[(sum(acc[n][d]) / len(acc[n][d])) if acc[n][d] else None for d in DQ_DIMENSIONS] for n in names]
    grid = charts.heat_grid("dq-scorecard", "data-quality scorecard", names, DQ_DIMENSIONS, values)
    return f'<p class="note">Mean score per dimension over the window; green ≥ 98 %, amber ≥ 90 %.</p>{grid}'


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
    since = _since(cfg, PARETO, days)
    rows = _rows(cfg, f"SELECT defect_code, SUM(defects) AS n FROM {PARETO} "
                      f"WHERE event_date >= DATE '{since.isoformat()}' AND defect_code IS NOT NULL "
                      "GROUP BY defect_code ORDER BY n DESC, defect_code LIMIT 10")
    rows = [r for r in rows if r["n"]]
    if not rows:
        raise NoData(f"no defects since {since}")
    return ("<p class=\"note\">Top defect codes over the window, all consumer-goods lines.</p>"
            + charts.pareto("defect-pareto", "top defects", [str(r["defect_code"]) for r in rows],
                            [float(r["n"]) for r in rows]))


# key, title, source table, drawer
SECTIONS = (
    ("overview", "Latest day per site", ENTERPRISE, overview),
    ("oee", "OEE and its losses", ENTERPRISE, oee),
    ("energy", "Energy intensity and carbon", ENTERPRISE, energy),
    ("data-quality", "Data-quality scorecard", DQ, data_quality),
    ("pdm", "Predictive-maintenance alerts", PDM, pdm),
    ("defects", "Top defects (Pareto)", PARETO, defects),
)


def build_sections(cfg: Config, days: int) -> list[Section]:
    from brain.lake.tables import is_delta, table_path

    out = []
    for key, title, source, draw in SECTIONS:
        if not is_delta(table_path(cfg, source)):
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
