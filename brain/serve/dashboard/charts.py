"""Small inline SVG charts, written as text: no JavaScript, no CDN, readable offline and in e-mail.

Every chart is an ``<svg class="chart" data-chart=NAME>`` with a ``<title>``
per mark (the browser shows it on hover) and its key numbers written as text,
so the figure is readable without hovering and testable from the DOM.
"""

from __future__ import annotations

import math
from html import escape
from typing import Callable, Sequence

PALETTE = ("#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#319795", "#b7791f", "#718096")
W, H = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 46

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


def _svg(name: str, label: str, body: list[str], height: int = H) -> str:
    return (f'<svg class="chart" data-chart="{escape(name)}" role="img" aria-label="{escape(label)}" '
            f'viewBox="0 0 {W} {height}" width="{W}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
            + "".join(body) + "</svg>")


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


def _legend(names: Sequence[str], height: int) -> list[str]:
    out, x = [], LEFT
    for i, n in enumerate(names):
        c = PALETTE[i % len(PALETTE)]
        out.append(f'<rect x="{x}" y="{height - 16}" width="10" height="10" fill="{c}"/>'
                   f'<text class="legend" x="{x + 14}" y="{height - 7}">{escape(n)}</text>')
        x += 24 + 7 * len(n)
    return out


def line_chart(name: str, label: str, x_labels: Sequence[str], series: dict[str, Sequence[float | None]],
               fmt: Fmt = num, top: float | None = None) -> str:
    """One polyline per series over shared x labels; gaps (None) break the line."""
    values = [v for s in series.values() for v in s if v is not None]
    top = top or nice_top(max(values) * 1.05 if values else 0.0)
    n = max(1, len(x_labels) - 1)

    def x(i: int) -> float:
        return LEFT + (W - LEFT - RIGHT) * (i / n if len(x_labels) > 1 else 0.5)

    def y(v: float) -> float:
        return TOP + (H - TOP - BOTTOM) * (1 - v / top)

    body = _ticks(top, fmt, y) + _x_labels(x_labels, x, H)
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
            body.append(f'<text class="value" x="{x(last[0]) - 4:.1f}" y="{y(last[1]) - 7:.1f}" text-anchor="end" '
                        f'fill="{c}">{escape(fmt(last[1]))}</text>')
    return _svg(name, label, body + _legend(list(series), H))


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
    return _svg(name, label, body + (_legend(list(series), H) if len(series) > 1 else []))


def share_bars(name: str, label: str, rows: Sequence[tuple[str, Sequence[tuple[str, float]]]]) -> str:
    """Horizontal 100 % bars, one per row, split into named shares (e.g. OEE and its three losses)."""
    row_h, height = 30, TOP + 30 * len(rows) + 40
    body = []
    for r, (row_label, parts) in enumerate(rows):
        yy = TOP + r * row_h
        body.append(f'<text class="tick" x="{LEFT + 44}" y="{yy + 18}" text-anchor="end">{escape(row_label)}</text>')
        x0 = LEFT + 50.0
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
    return _svg(name, label, body + _legend([p for p, _ in rows[0][1]] if rows else [], height), height)


def pareto(name: str, label: str, categories: Sequence[str], counts: Sequence[float]) -> str:
    """Bars in falling order with the cumulative share as a line (the vital few on the left)."""
    total = sum(counts) or 1.0
    top = nice_top(max(counts) * 1.08 if counts else 0.0)
    slot = (W - LEFT - RIGHT) / max(1, len(categories))
    bw = slot * 0.7

    def x(i: int) -> float:
        return LEFT + slot * (i + 0.5)

    def y(v: float) -> float:
        return TOP + (H - TOP - BOTTOM) * (1 - v / top)

    def y_share(s: float) -> float:
        return TOP + (H - TOP - BOTTOM) * (1 - s)

    body = _ticks(top, num, y) + _x_labels(categories, x, H)
    cum, line = 0.0, []
    for i, (cat, v) in enumerate(zip(categories, counts)):
        cum += v
        body.append(f'<rect class="bar" x="{x(i) - bw / 2:.1f}" y="{y(v):.1f}" width="{bw:.1f}" '
                    f'height="{y(0) - y(v):.1f}" fill="{PALETTE[0]}"><title>{escape(cat)}: {num(v)} '
                    f'({pct(v / total)})</title></rect>'
                    f'<text class="value" x="{x(i):.1f}" y="{y(v) - 4:.1f}" text-anchor="middle">{num(v)}</text>')
        line.append(f"{'M' if i == 0 else 'L'}{x(i):.1f},{y_share(cum / total):.1f}")
        body.append(f'<text class="share" x="{x(i) + 4:.1f}" y="{y_share(cum / total) - 5:.1f}" '
                    f'fill="{PALETTE[1]}">{pct(cum / total)}</text>')
    body.append(f'<path class="series" d="{" ".join(line)}" fill="none" stroke="{PALETTE[1]}" stroke-width="2"/>')
    return _svg(name, label, body + _legend(["defects", "cumulative share"], H))


def heat_grid(name: str, label: str, rows: Sequence[str], cols: Sequence[str],
              values: Sequence[Sequence[float | None]]) -> str:
    """A table of 0..1 scores, each cell coloured from red (0) through amber to green (1)."""
    cw, rh, lw = (W - 170) / max(1, len(cols)), 26, 170
    height = 24 + rh * len(rows) + 8
    body = [f'<text class="tick" x="{lw + cw * (j + 0.5):.1f}" y="16" text-anchor="middle">{escape(c)}</text>'
            for j, c in enumerate(cols)]
    for i, rname in enumerate(rows):
        yy = 24 + i * rh
        body.append(f'<text class="tick" x="{lw - 6}" y="{yy + 17}" text-anchor="end">{escape(rname)}</text>')
        for j, v in enumerate(values[i]):
            fill = "#e2e8f0" if v is None else _score_colour(v)
            text = "n/a" if v is None else pct(v)
            body.append(f'<rect class="cell" x="{lw + cw * j + 1:.1f}" y="{yy + 1}" width="{cw - 2:.1f}" '
                        f'height="{rh - 2}" fill="{fill}"><title>{escape(rname)} {escape(cols[j])}: {text}</title>'
                        f'</rect><text class="incell" x="{lw + cw * (j + 0.5):.1f}" y="{yy + 17}" '
                        f'text-anchor="middle">{text}</text>')
    return _svg(name, label, body, height)


def _score_colour(v: float) -> str:
    v = min(1.0, max(0.0, v))
    if v >= 0.98:
        return "#9ae6b4"
    if v >= 0.9:
        return "#fbd38d"
    return "#feb2b2"
