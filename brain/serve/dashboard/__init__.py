"""`brain report`: a static HTML dashboard of the gold tables (reports/index.html).

One self-contained file: styles inline, charts as inline SVG, no scripts and
no network, so it opens from a file share, an e-mail attachment or a plant PC
without internet. The sections live in brain.serve.dashboard.sections, the chart
drawing in brain.serve.dashboard.charts.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from pathlib import Path

from brain.config import Config

DEFAULT_DAYS = 14
DEFAULT_DIR = "reports"

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f7fafc;color:#1a202c}
header{background:#1a365d;color:#fff;padding:16px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;opacity:.8;font-size:13px}main{padding:8px 28px 40px;max-width:1100px}
section{background:#fff;border:1px solid #e2e8f0;border-radius:6px;margin:18px 0;padding:12px 18px}
h2{font-size:18px;margin:4px 0 8px}h3{font-size:14px;margin:14px 0 4px;color:#4a5568}
.src{font-size:12px;color:#718096;font-weight:normal}.empty{color:#718096;font-style:italic}
.error{color:#c53030}.note{font-size:13px;color:#4a5568}
table{border-collapse:collapse;font-size:13px}td,th{border-bottom:1px solid #e2e8f0;padding:4px 10px;text-align:left}
svg.chart{max-width:100%;height:auto;display:block}svg .grid{stroke:#edf2f7}
svg .tick,svg .legend{font-size:11px;fill:#4a5568}svg .value{font-size:11px;font-weight:600;fill:#1a202c}
svg .inbar,svg .incell{font-size:11px;fill:#1a202c}svg .share{font-size:10px}
.level{padding:1px 6px;border-radius:3px;font-size:11px}
.level.alarm{background:#feb2b2}.level.warning{background:#fbd38d}
"""


def render(cfg: Config, days: int, sections: list | None = None) -> str:
    from brain.serve.dashboard.sections import build_sections

    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = []
    for s in sections if sections is not None else build_sections(cfg, days):
        state = "data" if s.has_data else "empty"
        parts.append(f'<section id="{s.key}" data-state="{state}"><h2>{escape(s.title)} '
                     f'<span class="src">{escape(s.source)}</span></h2>{s.body}</section>')
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Enterprise Brain dashboard</title><style>{_CSS}</style></head><body>"
            f"<header><h1>Enterprise Brain</h1><p>Generated {now} from {escape(str(cfg.path('lake.root')))} · "
            f"last {days} day(s) of each table</p></header><main>{''.join(parts)}</main></body></html>")


def build(cfg: Config, out_dir: Path | str | None = None, days: int | None = None) -> Path:
    """Write ``<out_dir>/index.html`` and return its path (written whole, then renamed into place)."""
    return build_report(cfg, out_dir, days)[0]


def build_report(cfg: Config, out_dir: Path | str | None = None, days: int | None = None) -> tuple[Path, list]:
    """As :func:`build`, also returning the sections drawn (what `brain report` lists)."""
    from brain.serve.dashboard.sections import build_sections

    days = int(days if days is not None else cfg.get("analyst.report_days", DEFAULT_DAYS))
    if days < 1:
        raise ValueError("--days must be at least 1")
    folder = Path(out_dir) if out_dir else cfg.root / str(cfg.get("analyst.report_dir", DEFAULT_DIR))
    folder.mkdir(parents=True, exist_ok=True)
    page = folder / "index.html"
    tmp = folder / ".index.html.tmp"
    sections = build_sections(cfg, days)
    tmp.write_text(render(cfg, days, sections), encoding="utf-8")
    tmp.replace(page)
    return page, sections


EXAMPLES = """\
examples:
  brain report                             reports/index.html, the last analyst.report_days days
  brain report --days 3 --out /srv/share   a shorter window, written elsewhere
  brain report --json                      the page's path and each section's state, machine-readable"""


def add_arguments(p) -> None:
    import argparse

    p.description = ("Write one self-contained HTML page (no scripts, no network) with the latest KPIs per "
                     "site, OEE and its losses per site over the days and hour by hour for the last day, "
                     "energy and carbon, the data-quality scorecard, PdM alerts and the top defects.")
    p.epilog = EXAMPLES
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("--out", help="folder for index.html (default analyst.report_dir, i.e. reports/)")
    p.add_argument("--days", type=int, help="days of each table to show (default analyst.report_days)")
    p.add_argument("--json", action="store_true", help="print the page's path and the sections as JSON")


def run_cli(args, cfg: Config) -> int:
    import json

    page, sections = build_report(cfg, args.out, args.days)
    if getattr(args, "json", False):
        print(json.dumps({"page": str(page), "sections": [
            {"key": s.key, "title": s.title, "source": s.source, "has_data": s.has_data} for s in sections]},
            indent=2))
        return 0
    width = max(len(s.title) for s in sections)
    print(f"dashboard written to {page}")
    for s in sections:
        print(f"  {s.title:<{width}}  {'data' if s.has_data else 'no data yet'}  ({s.source})")
    return 0
