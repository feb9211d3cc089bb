"""Small inline SVG charts, written as text: no JavaScript, no CDN, readable offline and in e-mail.

Every chart is an ``<svg class="chart" data-chart=NAME>`` with a ``<title>``
per mark (the browser shows it on hover) and its key numbers written as text,
so the figure is readable without hovering and testable from the DOM.

No label is ever cut: the label column, cell widths and legend rows are sized
from the longest text they hold (``text_width``, a generous estimate for the
11 px sans-serif the page uses), and a chart grows wider or taller instead of
clipping. tests/integration/test_dashboard_truth.py measures every text's box in
headless Chromium against its chart's viewBox.
"""

from __future__ import annotations

import math
from html import escape
from typing import Callable, Sequence

PALETTE = ("#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#319795", "#b7791f", "#718096")
W, H = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 24, 16, 46

Fmt = Callable[[float], str]


def pct(v: float) -> str:
    return f"{v * 100:.1f}%"


def num(v: float) -> str:
    if float(v).is_integer():
        return f"{int(v):,}"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.3g}" if abs(v) < 10 else f"{v:.1f}"


def nice_top(peak: float) -> float:
    """The smallest "round" axis top >= peak whose quarters are round too (0.825 -> 1.0, 3.4 -> 4, 5.4 -> 6)."""
    if peak <= 0:
        return 1.0
    quarter = peak / 4
    scale = 10 ** math.floor(math.log10(quarter))
    step = next(m * scale for m in (1, 1.5, 2, 2.5, 3, 5, 10) if m * scale >= quarter * (1 - 1e-9))
    return step * 4


CHAR_W = 7.0        # px per character at 11 px: wider than the real average, so estimates err on room
HISTORICAL = "historical load"


def text_width(text: str) -> float:
    return CHAR_W * len(text) + 4


def _svg(name: str, label: str, body: list[str], height: float = H, width: float = W, **data: str) -> str:
    attrs = "".join(f' data-{k.replace("_", "-")}="{escape(v)}"' for k, v in data.items())
    return (f'<svg class="chart" data-chart="{escape(name)}"{attrs} role="img" aria-label="{escape(label)}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
            f'xmlns="http://www.w3.org/2000/svg">' + "".join(body) + "</svg>")


def _ticks(top: float, fmt: Fmt, y: Callable[[float], float]) -> list[str]:
    out = []
    for i in range(5):
        v = top * i / 4
        out.append(f'<line class="grid" x1="{LEFT}" x2="{W - RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>'
                   f'<text class="tick" x="{LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{escape(fmt(v))}</text>')
    return out


def _x_labels(labels: Sequence[str], x: Callable[[int], float], height: int) -> list[str]:
    step = max(1, len(labels) // 8)
    return [f'<text class="tick" x="{x(i):.1f}" y="{height - BOTTOM + 16}" text-anchor="middle">'
            f'{escape(lab)}</text>' for i, lab in enumerate(labels) if i % step == 0 or i == len(labels) - 1]


def legend_rows(names: Sequence[str], width: float = W) -> list[list[tuple[int, str, float]]]:
    """Legend entries (index, name, x) wrapped into rows that fit ``width``."""
    rows: list[list[tuple[int, str, float]]] = [[]]
    x = float(LEFT)
    for i, n in enumerate(names):
        w = 14 + text_width(n) + 10
        if rows[-1] and x + w > width - RIGHT:
            rows.append([])
            x = float(LEFT)
        rows[-1].append((i, n, x))
        x += w
    return rows if rows[0] else []


def _legend(names: Sequence[str], height: float, width: float = W) -> list[str]:
    """The legend under the plot, first row at ``height - 16``; callers add 16 px per extra row."""
    out = []
    rows = legend_rows(names, width)
    base = height - 16 * len(rows)
    for r, row in enumerate(rows):
        y = base + 16 * r
        for i, n, x in row:
            c = PALETTE[i % len(PALETTE)]
            out.append(f'<rect x="{x:.1f}" y="{y}" width="10" height="10" fill="{c}"/>'
                       f'<text class="legend" x="{x + 14:.1f}" y="{y + 9}">{escape(n)}</text>')
    return out


def _legend_extra(names: Sequence[str], width: float = W) -> int:
    return 16 * max(0, len(legend_rows(names, width)) - 1)


def line_chart(name: str, label: str, x_labels: Sequence[str], series: dict[str, Sequence[float | None]],
               fmt: Fmt = num, top: float | None = None, **data: str) -> str:
    """One polyline per series over shared x labels; gaps (None) break the line."""
    values = [v for s in series.values() for v in s if v is not None]
    top = top or nice_top(max(values) * 1.05 if values else 0.0)
    n = max(1, len(x_labels) - 1)

    def x(i: int) -> float:
        return LEFT + (W - LEFT - RIGHT) * (i / n if len(x_labels) > 1 else 0.5)

    def y(v: float) -> float:
        return TOP + (H - TOP - BOTTOM) * (1 - v / top)

    body = _ticks(top, fmt, y) + _x_labels(x_labels, x, H)
    ends: list[tuple[float, float, str, str]] = []
    for k, (sname, points) in enumerate(series.items()):
        c = PALETTE[k % len(PALETTE)]
        segs, pen = [], "M"
        for i, v in enumerate(points):
            if v is None:
                pen = "M"
                continue
            segs.append(f"{pen}{x(i):.1f},{y(v):.1f}")
            pen = "L"
            body.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{c}">'
                        f'<title>{escape(sname)} {escape(x_labels[i])}: {escape(fmt(v))}</title></circle>')
        body.insert(0, f'<path class="series" d="{" ".join(segs)}" fill="none" stroke="{c}" stroke-width="2"/>')
        last = next(((i, v) for i, v in reversed(list(enumerate(points))) if v is not None), None)
        if last:
            ends.append((x(last[0]) - 4, y(last[1]) - 7, c, fmt(last[1])))
    body += [f'<text class="value" x="{lx:.1f}" y="{ly:.1f}" text-anchor="end" fill="{c}">{escape(t)}</text>'
             for lx, ly, c, t in spread_labels(ends)]
    height = H + _legend_extra(list(series))
    return _svg(name, label, body + _legend(list(series), height), height, **data)


LINE_H = 12  # px between two value labels' baselines at 11 px


def spread_labels(labels: Sequence[tuple[float, float, str, str]]) -> list[tuple[float, float, str, str]]:
    """End-of-line value labels (x, baseline y, colour, text) moved apart vertically where they would
    overlap (lines ending close together), kept inside the plot: every value stays readable."""
    out = sorted(labels, key=lambda t: t[1])
    lo, hi = TOP + 10.0, H - BOTTOM - 2.0
    ys: list[float] = []
    for _, y, _, _ in out:
        ys.append(max(y, lo, (ys[-1] + LINE_H) if ys else lo))
    ceiling = hi
    for i in range(len(ys) - 1, -1, -1):  # pushed past the bottom: move the lowest ones back up, only as needed
        ys[i] = max(lo, min(ys[i], ceiling))
        ceiling = ys[i] - LINE_H
    return [(x, yy, c, t) for (x, _, c, t), yy in zip(out, ys)]


def bar_chart(name: str, label: str, x_labels: Sequence[str], series: dict[str, Sequence[float]],
              fmt: Fmt = num, totals: bool = True) -> str:
    """Stacked bars per x label, the total written above each bar."""
    sums = [sum(s[i] or 0 for s in series.values()) for i in range(len(x_labels))]
    top = nice_top(max(sums) * 1.08 if sums else 0.0)
    slot = (W - LEFT - RIGHT) / max(1, len(x_labels))
    bw = max(2.0, slot * 0.7)

    def x(i: int) -> float:
        return LEFT + slot * (i + 0.5)

    def y(v: float) -> float:
        return TOP + (H - TOP - BOTTOM) * (1 - v / top)

    body = _ticks(top, fmt, y) + _x_labels(x_labels, x, H)
    for i, xl in enumerate(x_labels):
        base = 0.0
        for k, (sname, vals) in enumerate(series.items()):
            v = vals[i] or 0
            if v <= 0:
                continue
            body.append(f'<rect class="bar" x="{x(i) - bw / 2:.1f}" y="{y(base + v):.1f}" width="{bw:.1f}" '
                        f'height="{y(base) - y(base + v):.1f}" fill="{PALETTE[k % len(PALETTE)]}">'
                        f'<title>{escape(sname)} {escape(xl)}: {escape(fmt(v))}</title></rect>')
            base += v
        if totals and sums[i] > 0:
            body.append(f'<text class="value" x="{x(i):.1f}" y="{y(sums[i]) - 4:.1f}" text-anchor="middle">'
                        f'{escape(fmt(sums[i]))}</text>')
    if len(series) <= 1:
        return _svg(name, label, body)
    height = H + _legend_extra(list(series))
    return _svg(name, label, body + _legend(list(series), height), height)


def share_bars(name: str, label: str, rows: Sequence[tuple[str, Sequence[tuple[str, float]]]]) -> str:
    """Horizontal 100 % bars, one per row, split into named shares (e.g. OEE and its three losses)."""
    names = [p for p, _ in rows[0][1]] if rows else []
    row_h = 30
    label_w = max([float(LEFT + 44)] + [text_width(r[0]) + 8 for r in rows])
    height = TOP + 30 * len(rows) + 40 + _legend_extra(names)
    body = []
    for r, (row_label, parts) in enumerate(rows):
        yy = TOP + r * row_h
        body.append(f'<text class="tick" x="{label_w:.1f}" y="{yy + 18}" text-anchor="end">{escape(row_label)}</text>')
        x0 = label_w + 6
        span = W - RIGHT - x0
        for k, (part, share) in enumerate(parts):
            w = max(0.0, share) * span
            body.append(f'<rect class="bar" x="{x0:.1f}" y="{yy + 4}" width="{w:.1f}" height="{row_h - 8}" '
                        f'fill="{PALETTE[k % len(PALETTE)]}"><title>{escape(row_label)} {escape(part)}: '
                        f'{pct(share)}</title></rect>')
            if w > 38:
                body.append(f'<text class="inbar" x="{x0 + w / 2:.1f}" y="{yy + 19}" text-anchor="middle">'
                            f'{pct(share)}</text>')
            x0 += w
    return _svg(name, label, body + _legend(names, height), height)


def pareto(name: str, label: str, categories: Sequence[str], counts: Sequence[float]) -> str:
    """Horizontal bars in falling order (the vital few on top), each with its count and the cumulative
    share. Horizontal because codes prefixed by industry ("equipment_manufacturing: SURFACE_FINISH")
    are far wider than a column under a vertical bar: the label column is sized from the longest."""
    total = sum(counts) or 1.0
    row_h = 24
    label_w = max([float(LEFT + 44)] + [text_width(c) + 8 for c in categories])
    value_w = text_width(num(max(counts, default=0))) + 6
    share_w = text_width("100.0%") + 4
    width = max(float(W), label_w + 6 + 160 + value_w + share_w + RIGHT)
    span = width - RIGHT - share_w - value_w - (label_w + 6)
    peak = max(counts, default=0) or 1.0
    height = TOP + row_h * len(categories) + 40
    body, cum = [], 0.0
    for i, (cat, v) in enumerate(zip(categories, counts)):
        cum += v
        yy, x0 = TOP + i * row_h, label_w + 6
        w = span * v / peak
        body.append(f'<text class="tick" x="{label_w:.1f}" y="{yy + 16}" text-anchor="end">{escape(cat)}</text>'
                    f'<rect class="bar" x="{x0:.1f}" y="{yy + 4}" width="{w:.1f}" height="{row_h - 8}" '
                    f'fill="{PALETTE[0]}"><title>{escape(cat)}: {num(v)} ({pct(v / total)})</title></rect>'
                    f'<text class="value" x="{x0 + w + 4:.1f}" y="{yy + 16}">{num(v)}</text>'
                    f'<text class="share" x="{width - RIGHT:.1f}" y="{yy + 16}" text-anchor="end" '
                    f'fill="{PALETTE[1]}">{pct(cum / total)}</text>')
    return _svg(name, label, body + _legend(["defects", "cumulative share"], height, width), height, width)


def heat_grid(name: str, label: str, rows: Sequence[str], cols: Sequence[str],
              values: Sequence[Sequence[float | str | None]]) -> str:
    """A table of 0..1 scores, each cell coloured from red (0) through amber to green (1).

    A cell is a score, None ("n/a": no data) or a word that replaces the score (e.g.
    "historical load": there is data, but the measure does not apply to it), drawn neutral.
    """
    words = [v for row in values for v in row if isinstance(v, str)] + ["n/a", "100.0%"]
    lw = max(170.0, max((text_width(r) for r in rows), default=0.0) + 12)
    cw = max((W - 170) / max(1, len(cols)), max(text_width(t) for t in [*words, *cols]) + 8)
    width = max(float(W), lw + cw * len(cols) + 4)
    rh = 26
    height = 24 + rh * len(rows) + 8
    body = [f'<text class="tick" x="{lw + cw * (j + 0.5):.1f}" y="16" text-anchor="middle">{escape(c)}</text>'
            for j, c in enumerate(cols)]
    for i, rname in enumerate(rows):
        yy = 24 + i * rh
        body.append(f'<text class="tick row-label" x="{lw - 6:.1f}" y="{yy + 17}" text-anchor="end">'
                    f'{escape(rname)}</text>')
        for j, v in enumerate(values[i]):
            if isinstance(v, str):
                fill, text = "#edf2f7", v
            else:
                fill = "#e2e8f0" if v is None else _score_colour(v)
                text = "n/a" if v is None else pct(v)
            body.append(f'<rect class="cell" x="{lw + cw * j + 1:.1f}" y="{yy + 1}" width="{cw - 2:.1f}" '
                        f'height="{rh - 2}" fill="{fill}"><title>{escape(rname)} {escape(cols[j])}: {text}</title>'
                        f'</rect><text class="incell" x="{lw + cw * (j + 0.5):.1f}" y="{yy + 17}" '
                        f'text-anchor="middle">{escape(text)}</text>')
    return _svg(name, label, body, height, width)


def _score_colour(v: float) -> str:
    v = min(1.0, max(0.0, v))
    if v >= 0.98:
        return "#9ae6b4"
    if v >= 0.9:
        return "#fbd38d"
    return "#feb2b2"
