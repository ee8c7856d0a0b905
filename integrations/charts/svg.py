"""Two chart shapes as self-contained SVG: horizontal bars (rankings, hotspots) and grouped
columns over time (received and closed per day or month). Labels are escaped; sizes come from a
viewBox, so a chart fills the width it is given on screen, on paper and in the PDF."""
from __future__ import annotations

import math
from html import escape
from typing import Sequence

PALETTE = ("#2f6fb3", "#e07b39", "#3a9a5b", "#b8433f", "#7a5aa6")
FONT = 'font-family="Noto Sans CJK SC, Noto Serif CJK SC, sans-serif"'


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _nice_max(value: float, ticks: int = 4) -> float:
    """The smallest ``ticks`` × (1, 2 or 5 × 10^k) at or above ``value``: round axis values."""
    if value <= 0:
        return ticks
    magnitude = 10 ** math.floor(math.log10(value / ticks)) if value >= ticks else 1
    for factor in (1, 2, 3, 5, 10):
        if factor * magnitude * ticks >= value:
            return factor * magnitude * ticks
    return 10 * magnitude * ticks


def bar_chart(items: Sequence[tuple[str, float]], *, title: str = "", width: int = 640,
              unit: str = "") -> str:
    """Horizontal bars, one per (label, value), in the given order."""
    row, label_width, top = 22, 170, 30 if title else 8
    height = top + row * max(len(items), 1) + 10
    peak = _nice_max(max((v for _l, v in items), default=0))
    scale = (width - label_width - 60) / peak
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'class="gd-chart" role="img" {FONT} font-size="12">']
    if title:
        parts.append(f'<title>{escape(title)}</title><text x="0" y="16" font-size="14" '
                     f'font-weight="bold">{escape(title)}</text>')
    for index, (label, value) in enumerate(items):
        y = top + index * row
        length = max(value * scale, 0)
        parts.append(f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end">'
                     f'{escape(str(label))[:24]}</text>'
                     f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" height="{row - 7}" '
                     f'fill="{PALETTE[0]}"/>'
                     f'<text x="{label_width + length + 4:.1f}" y="{y + 15}">'
                     f'{escape(_number(value))}{escape(unit)}</text>')
    if not items:
        parts.append(f'<text x="{label_width}" y="{top + 15}" fill="#777">—</text>')
    parts.append("</svg>")
    return "".join(parts)


def column_chart(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *,
                 title: str = "", width: int = 640, height: int = 240) -> str:
    """Grouped columns: one group per label, one column per series, with a legend."""
    top, bottom, left, right = (50 if title else 24), 36, 40, 10
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_max(max((v for _n, values in series for v in values), default=0))
    group = plot_w / max(len(labels), 1)
    bar = group * 0.8 / max(len(series), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'class="gd-chart" role="img" {FONT} font-size="11">']
    if title:
        parts.append(f'<title>{escape(title)}</title><text x="0" y="14" font-size="14" '
                     f'font-weight="bold">{escape(title)}</text>')
    for step in range(5):  # grid lines and their values
        value = peak * step / 4
        y = top + plot_h - plot_h * step / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="#ddd"/><text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" '
                     f'fill="#666">{_number(value)}</text>')
    for s_index, (name, values) in enumerate(series):
        colour = PALETTE[s_index % len(PALETTE)]
        legend_x = left + s_index * 110
        parts.append(f'<rect x="{legend_x}" y="{top - 22}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{legend_x + 14}" y="{top - 13}">{escape(name)}</text>')
        for index, value in enumerate(values):
            h = plot_h * value / peak
            x = left + index * group + group * 0.1 + s_index * bar
            parts.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" '
                         f'height="{h:.1f}" fill="{colour}"><title>{escape(labels[index])} '
                         f'{escape(name)} {_number(value)}</title></rect>')
    every = max(1, len(labels) // 12)
    for index, label in enumerate(labels):
        if index % every == 0:
            x = left + index * group + group / 2
            parts.append(f'<text x="{x:.1f}" y="{height - bottom + 14}" text-anchor="middle" '
                         f'fill="#444">{escape(str(label))}</text>')
    parts.append("</svg>")
    return "".join(parts)
