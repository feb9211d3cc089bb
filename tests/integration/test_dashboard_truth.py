"""`brain report` tells the truth, checked in headless Chromium on a real (small) Delta lake:

- timeliness of history loaded after the fact reads "historical load", not 0 %;
- quarantined records without a site are their own row, "unattributed", never "?";
- no label is clipped: every <text> of every chart is measured by the browser (getBBox) and must
  lie inside its chart's viewBox;
- the OEE trend is a line per site (not isolated points), with a chart of OEE and its losses per site;
- the last day has an hour-by-hour view whose site OEE is rolled up from the lines' components.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pytest

from brain import config
from brain.cli.main import main
from tests import analyst_data as data
from tests.browser import dump_dom, screenshot

pytestmark = pytest.mark.integration

D1, D2, D3 = data.D1, data.D2, data.D3
LONG_SITE = "em-shenzhen-longgang-3"   # longer than any label the old fixed 170 px column held
SITES = ("cg-guangzhou", LONG_SITE)

DQ_SCHEMA = ("industry string, site string, event_date date, rows long, historical_rows long, "
             "completeness double, timeliness double, validity double, uniqueness double, consistency double, "
             "accuracy double, overall double")
DQ_ROWS = [
    ("consumer_goods", "cg-guangzhou", D3, 1000, 0, 0.99, 0.97, 0.995, 1.0, 1.0, 0.925, 0.98),
    ("equipment_manufacturing", LONG_SITE, D3, 800, 800, 1.0, None, 1.0, 1.0, None, 1.0, 1.0),  # history only
    ("equipment_manufacturing", "unattributed", D3, 0, 0, None, None, 0.0, None, None, None, 0.0),
]
HOURLY_SCHEMA = ("enterprise string, site string, line string, event_date date, hour_start timestamp, "
                 "pbt_s double, apt_s double, ideal_run_s double, ideal_good_s double, flags array<string>, "
                 "oee double")
ENERGY_SCHEMA = "enterprise string, site string, event_date date, hour_start timestamp, electricity_kwh double"


def _hour(h: int) -> dt.datetime:
    return dt.datetime(2026, 3, 3, h, 0)


def _hourly_rows():
    rows = []
    for h in range(24):
        # cg-guangzhou: two lines; the site's OEE is (2280 + 3240) / 7200 = 76.7 % every hour.
        rows.append(("ACME", "cg-guangzhou", "F1", D3, _hour(h), 3600.0, 3000.0, 2400.0, 2280.0, [], 0.633))
        rows.append(("ACME", "cg-guangzhou", "F2", D3, _hour(h), 3600.0, 3600.0, 3240.0, 3240.0, [], 0.9))
        rows.append(("ACME", LONG_SITE, "L1", D3, _hour(h), 3600.0, 3600.0, 1800.0 + 50 * h, 1800.0 + 50 * h, [],
                     None))
    return rows


def _enterprise_rows():
    rows = []
    for site, base in zip(SITES, (0.9, 0.7)):
        for i, day in enumerate((D1, D2, D3)):
            rows.append(data._ent(site, day, base - 0.05 * i, 0.85, 0.95, 5000, 4000.0 + 100 * i, 0.98, i))
    return rows


def _write(spark, cfg, name, schema, rows):
    from brain.lake.tables import table_path

    (spark.createDataFrame(rows, schema).coalesce(1).write.format("delta").mode("overwrite")
     .partitionBy("event_date").save(str(table_path(cfg, name))))


@pytest.fixture(scope="module")
def page(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("truth")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BRAIN__LAKE__ROOT", str(root / "lake"))
        cfg = config.load()
        _write(spark, cfg, "gold.enterprise_brain", data.ENTERPRISE_SCHEMA, _enterprise_rows())
        _write(spark, cfg, "gold.data_quality_daily", DQ_SCHEMA, DQ_ROWS)
        _write(spark, cfg, "gold.consumer_goods_oee_hourly_line", HOURLY_SCHEMA,
               [r for r in _hourly_rows() if r[1] == "cg-guangzhou"])
        _write(spark, cfg, "gold.equipment_manufacturing_oee_hourly_line", HOURLY_SCHEMA,
               [r for r in _hourly_rows() if r[1] == LONG_SITE])
        _write(spark, cfg, "gold.energy_hourly_site", ENERGY_SCHEMA,
               # The sites end 1 kWh apart: their end-of-line value labels would sit on each other.
               [("ACME", s, D3, _hour(h), 100.0 + h + k) for k, s in enumerate(SITES) for h in range(24)])
        out = root / "reports"
        yield out, main(["report", "--out", str(out), "--days", "7"])


MEASURE = """<script>
window.addEventListener('load', () => {
  const out = [];
  document.querySelectorAll('svg.chart').forEach(svg => {
    const vb = svg.viewBox.baseVal;
    svg.querySelectorAll('text').forEach(t => {
      const b = t.getBBox();
      out.push({chart: svg.dataset.chart, site: svg.dataset.site || '', cls: t.getAttribute('class'),
                text: t.textContent, x: b.x, y: b.y, w: b.width, h: b.height, vw: vb.width, vh: vb.height});
    });
  });
  const pre = document.createElement('pre');
  pre.id = 'measure';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def _overlap(a: dict, b: dict) -> bool:
    return (min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"]) > 1
            and min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"]) > 1)


def measure(page: Path) -> tuple[str, list[dict]]:
    """Chromium's DOM of ``page`` (a copy with MEASURE added) and the text boxes MEASURE reported."""
    page.write_text(page.read_text().replace("</body>", MEASURE + "</body>"))
    dom = dump_dom(page)
    boxes = json.loads(re.search(r'<pre id="measure">(.*?)</pre>', dom, re.S).group(1).replace("&quot;", '"'))
    return dom, boxes


def assert_nothing_clipped_or_overlapping(boxes: list[dict]) -> None:
    """No text box outside its chart's viewport, and no two value labels of one chart and site overlap."""
    clipped = [b for b in boxes if b["x"] < -0.5 or b["y"] < -0.5 or b["x"] + b["w"] > b["vw"] + 0.5
               or b["y"] + b["h"] > b["vh"] + 0.5]
    assert not clipped, clipped[:5]
    values: dict[tuple, list[dict]] = {}
    for b in boxes:
        if b["cls"] == "value":
            values.setdefault((b["chart"], b["site"]), []).append(b)
    overlapping = [(a["chart"], a["text"], b["text"]) for group in values.values() for i, a in enumerate(group)
                   for b in group[i + 1:] if _overlap(a, b)]
    assert not overlapping, overlapping


def _chart(dom: str, name: str, site: str | None = None) -> str:
    attrs = rf'data-chart="{name}"' + (rf' data-site="{re.escape(site)}"' if site else "")
    m = re.search(rf'<svg class="chart" {attrs}.*?</svg>', dom, re.S)
    assert m, f"chart {name} {site or ''} missing"
    return m.group(0)


def test_report_json_lists_every_section_with_its_state(page, capsys):
    out, rc = page
    assert rc == 0
    assert main(["report", "--out", str(out), "--days", "7", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["page"] == str(out / "index.html")
    states = {s["key"]: s["has_data"] for s in got["sections"]}
    assert states == {"overview": True, "oee": True, "hourly": True, "energy": True, "data-quality": True,
                      "pdm": False, "defects": False}


def test_no_label_is_clipped(page, tmp_path):
    out, _ = page
    measured = tmp_path / "measured.html"
    shutil.copy(out / "index.html", measured)
    dom, boxes = measure(measured)
    assert len(boxes) > 100 and {b["chart"] for b in boxes} >= {"oee-trend", "oee-losses", "oee-losses-trend",
                                                                 "oee-hourly", "energy-hourly", "dq-scorecard"}
    assert_nothing_clipped_or_overlapping(boxes)
    labels = {b["text"] for b in boxes}
    assert "consumer_goods / cg-guangzhou" in labels and f"equipment_manufacturing / {LONG_SITE}" in labels
    screenshot(out / "index.html", tmp_path / "dashboard.png")


def test_scorecard_says_historical_load_and_unattributed(page):
    out, _ = page
    grid = _chart(dump_dom(out / "index.html"), "dq-scorecard")
    assert f"<title>equipment_manufacturing / {LONG_SITE} timeliness: historical load</title>" in grid
    assert "<title>consumer_goods / cg-guangzhou timeliness: 97.0%</title>" in grid
    assert "<title>consumer_goods / cg-guangzhou accuracy: 92.5%</title>" in grid
    assert ">equipment_manufacturing / unattributed</text>" in grid
    assert "/ ?" not in grid and "timeliness: 0.0%" not in grid


def test_oee_trend_is_a_line_per_site_with_its_losses(page):
    out, _ = page
    dom = dump_dom(out / "index.html")
    trend = _chart(dom, "oee-trend")
    paths = re.findall(r'<path class="series" d="([^"]*)"', trend)
    assert len(paths) == len(SITES) and all(p.count("L") == 2 for p in paths)   # 3 days joined, per site
    for site in SITES:
        losses = _chart(dom, "oee-losses-trend", site)
        names = re.findall(r'<text class="legend"[^>]*>([^<]*)</text>', losses)
        assert names == ["OEE", "quality loss", "performance loss", "availability loss"]
        assert all(p.count("L") == 2 for p in re.findall(r'<path class="series" d="([^"]*)"', losses))
    # cg-guangzhou on day 3: A 0.8 x P 0.85 x Q 0.95 = 64.6 % OEE, availability loss 20 %
    cg = _chart(dom, "oee-losses-trend", "cg-guangzhou")
    assert "<title>OEE 03-03: 64.6%</title>" in cg and "<title>availability loss 03-03: 20.0%</title>" in cg


def test_hourly_view_of_the_last_day(page):
    out, _ = page
    dom = dump_dom(out / "index.html")
    assert '<section id="hourly" data-state="data">' in dom
    oee = _chart(dom, "oee-hourly")
    assert len(re.findall(r'<path class="series"', oee)) == len(SITES)
    assert "<title>cg-guangzhou 23:00: 76.7%</title>" in oee                        # components, not a mean
    assert f"<title>{LONG_SITE} 00:00: 50.0%</title>" in oee and f"<title>{LONG_SITE} 23:00: 81.9%</title>" in oee
    energy = _chart(dom, "energy-hourly")
    assert len(re.findall(r"<circle ", energy)) == 48 and "<title>cg-guangzhou 12:00: 112</title>" in energy
