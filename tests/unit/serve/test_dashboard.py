"""Pure parts of the dashboard: the scorecard grid's cells, OEE losses, the hourly site roll-up, label room."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from brain.serve.dashboard import charts
from brain.serve.dashboard.sections import oee_losses, scorecard_cells, site_hours

D = dt.date(2026, 3, 3)
H0 = dt.datetime(2026, 3, 3, 10, 0)


def _dq(industry, site, **dims):
    row = {"industry": industry, "site": site, "event_date": D, "historical_rows": 0}
    row.update({d: None for d in ("completeness", "timeliness", "validity", "uniqueness", "consistency", "overall")})
    row.update(dims)
    return row


def test_scorecard_cells_history_is_a_word_and_unreadable_records_a_row_of_their_own():
    rows = [_dq("energy", "en-1", timeliness=None, historical_rows=2000, validity=1.0, overall=1.0),
            _dq("energy", "en-2", timeliness=0.5, historical_rows=10, overall=0.5),
            _dq("energy", "?", validity=0.0, overall=0.0),                 # a scorecard from before the rename
            _dq("consumer_goods", "unattributed", validity=0.0, overall=0.0),
            _dq("consumer_goods", "cg-guangzhou", timeliness=None)]       # no live rows, no history: n/a
    names, values = scorecard_cells(rows)
    assert names == ["consumer_goods / cg-guangzhou", "energy / en-1", "energy / en-2",
                     "consumer_goods / unattributed", "energy / unattributed"]   # unattributed rows last
    t = {n: v[1] for n, v in zip(names, values)}
    assert t["energy / en-1"] == "historical load"
    assert t["energy / en-2"] == 0.5                  # some live rows: they are judged, history is not
    assert t["consumer_goods / cg-guangzhou"] is None
    assert not any(n.endswith("/ ?") for n in names)


def test_oee_losses_add_up_to_planned_busy_time():
    split = oee_losses(0.9, 0.8, 0.95)
    assert split == pytest.approx((0.684, 0.036, 0.18, 0.1))
    assert sum(split) == pytest.approx(1.0)
    assert oee_losses(None, 0.8, 0.9) is None


def test_site_hours_rolls_up_components_not_line_oees_and_skips_flagged_lines():
    rows = [
        {"site": "S1", "hour_start": H0, "pbt_s": 3600.0, "apt_s": 3000.0, "ideal_run_s": 2400.0,
         "ideal_good_s": 2280.0, "flags": []},                               # line OEE 0.633
        {"site": "S1", "hour_start": H0, "pbt_s": 3600.0, "apt_s": 3600.0, "ideal_run_s": 3240.0,
         "ideal_good_s": 3240.0, "flags": None},                             # line OEE 0.9
        {"site": "S1", "hour_start": H0, "pbt_s": 3600.0, "apt_s": 4000.0, "ideal_run_s": 9999.0,
         "ideal_good_s": 9999.0, "flags": ["apt_exceeds_pbt"]},              # untrustworthy: left out
        {"site": "S2", "hour_start": H0, "pbt_s": 0.0, "apt_s": 0.0, "ideal_run_s": 0.0, "ideal_good_s": 0.0,
         "flags": []},                                                       # planned down: no OEE
    ]
    got = site_hours(rows)
    assert got["S1"][H0] == pytest.approx((2280 + 3240) / 7200)         # 0.7667, not (0.633 + 0.9) / 2
    assert got["S2"][H0] is None


def _texts(svg: str) -> list[tuple[float, str, str]]:
    return [(float(x), anchor, text) for x, anchor, text in
            re.findall(r'<text class="tick[^"]*" x="([\d.]+)" y="[\d.]+" text-anchor="(\w+)">([^<]*)</text>', svg)]


def _width(svg: str) -> float:
    return float(re.search(r'viewBox="0 0 ([\d.]+) ', svg).group(1))


def test_heat_grid_makes_room_for_its_longest_label_and_words():
    long = "equipment_manufacturing / em-shenzhen-longgang-3"
    svg = charts.heat_grid("g", "g", ["energy / e1", long], ["timeliness", "overall"],
                           [[charts.HISTORICAL, 1.0], [0.5, None]])
    labels = {text: (x, anchor) for x, anchor, text in _texts(svg)}
    x, anchor = labels[long]
    assert anchor == "end" and x - charts.text_width(long) >= 0          # the label's left end is inside
    assert "historical load" in svg and _width(svg) >= x


def test_share_bars_and_legends_never_leave_the_chart():
    rows = [("consumer_goods-cg-guangzhou-east", [("OEE", 0.5), ("quality loss", 0.5)])]
    svg = charts.share_bars("s", "s", rows)
    x, anchor, text = _texts(svg)[0]
    assert text == rows[0][0] and x - charts.text_width(text) >= 0
    names = [f"site-with-a-long-name-{i}" for i in range(8)]
    svg = charts.line_chart("l", "l", ["a", "b"], {n: [0.1, 0.2] for n in names})
    assert len(charts.legend_rows(names)) > 1
    for row in charts.legend_rows(names):
        for _, name, x in row:
            assert x + 14 + charts.text_width(name) <= charts.W - charts.RIGHT + 10
    assert _width(svg) == charts.W and 'height="' + str(charts.H + 16 * (len(charts.legend_rows(names)) - 1)) in svg


def test_end_labels_are_spread_apart_and_stay_in_the_plot():
    ends = [(600.0, 100.0, "a", "1"), (600.0, 104.0, "b", "2"), (600.0, 250.0, "c", "3"), (600.0, 251.0, "d", "4")]
    ys = [y for _, y, _, _ in charts.spread_labels(ends)]
    assert all(b - a >= charts.LINE_H for a, b in zip(ys, ys[1:]))
    assert ys[0] == 100.0 and ys[-1] <= charts.H - charts.BOTTOM                  # the low pair moved up, inside
    assert charts.spread_labels([]) == []
