"""Chart geometry for the scorecard: numbers in, SVG coordinates out; the template draws them.

The template does the drawing so that every label (method names come from suites, untrusted) goes through
jinja2's autoescaping; this module only maps values to a fixed canvas. No JavaScript library, no CDN: the
scorecard must work offline and as a CI artifact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

WIDTH, HEIGHT = 420, 260
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 16, 40
PALETTE = ("#2458b3", "#d9480f", "#2b8a3e", "#862e9c", "#c92a2a", "#0b7285", "#e67700", "#5c940d", "#a61e4d",
           "#364fc7")


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str
    color: str
    detail: str
    """Tooltip: the values behind the point."""


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    color: str
    label: str
    detail: str


@dataclass(frozen=True)
class Line:
    points: str
    """SVG polyline points ("x,y x,y ...")."""
    color: str
    label: str


@dataclass
class Chart:
    title: str
    x_title: str
    y_title: str
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)
    """(label, color) pairs."""
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_top: int = TOP
    plot_bottom: int = HEIGHT - BOTTOM


def color_of(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


class _Scale:
    def __init__(self, low: float, high: float, start: float, end: float):
        if not math.isfinite(low) or not math.isfinite(high) or high <= low:
            low, high = (low - 0.5, low + 0.5) if math.isfinite(low) else (0.0, 1.0)
        self.low, self.high, self.start, self.end = low, high, start, end

    def __call__(self, value: float) -> float:
        return round(self.start + (value - self.low) / (self.high - self.low) * (self.end - self.start), 1)

    def ticks(self, count: int, percent: bool) -> list[Tick]:
        step = (self.high - self.low) / (count - 1)
        values = [self.low + index * step for index in range(count)]
        return [Tick(self(value), _format(value, percent)) for value in values]


def _format(value: float, percent: bool) -> str:
    if percent:
        return f"{100 * value:.0f}%"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _padded(values: Sequence[float], clamp_unit: bool) -> tuple[float, float]:
    low, high = min(values), max(values)
    margin = max((high - low) * 0.1, 0.02 if clamp_unit else abs(high) * 0.05 or 1.0)
    low, high = low - margin, high + margin
    if clamp_unit:
        low, high = max(0.0, low), min(1.0, high)
    return low, high


def scatter(title: str, x_title: str, y_title: str, points: Sequence[tuple[str, float, float]], x_percent: bool,
            y_percent: bool) -> Optional[Chart]:
    """One labelled point per (label, x, y); None when there is nothing to draw."""
    points = [(label, x, y) for label, x, y in points if math.isfinite(x) and math.isfinite(y)]
    if not points:
        return None
    chart = Chart(title, x_title, y_title)
    x_scale = _Scale(*_padded([x for _, x, _ in points], x_percent), chart.plot_left, chart.plot_right)
    y_scale = _Scale(*_padded([y for _, _, y in points], y_percent), chart.plot_bottom, chart.plot_top)
    chart.x_ticks, chart.y_ticks = x_scale.ticks(5, x_percent), y_scale.ticks(5, y_percent)
    for index, (label, x, y) in enumerate(points):
        chart.points.append(Point(x_scale(x), y_scale(y), label, color_of(index),
                                  f"{label}: {x_title} {_format(x, x_percent)}, {y_title} {_format(y, y_percent)}"))
        chart.legend.append((label, color_of(index)))
    return chart


def grouped_bars(title: str, y_title: str, groups: Sequence[str], series: Sequence[str],
                 value: dict[tuple[str, str], float], percent: bool) -> Optional[Chart]:
    """Bars for each group (e.g. an attack), one per series (a method) inside the group."""
    present = [v for v in value.values() if math.isfinite(v)]
    if not present or not groups or not series:
        return None
    chart = Chart(title, "", y_title)
    top = 1.0 if percent else max(present) * 1.1 or 1.0
    y_scale = _Scale(0.0, top, chart.plot_bottom, chart.plot_top)
    chart.y_ticks = y_scale.ticks(5, percent)
    group_width = (chart.plot_right - chart.plot_left) / len(groups)
    bar_width = group_width * 0.8 / len(series)
    for group_index, group in enumerate(groups):
        left = chart.plot_left + group_index * group_width + group_width * 0.1
        chart.x_ticks.append(Tick(round(left + group_width * 0.4, 1), group))
        for series_index, name in enumerate(series):
            amount = value.get((group, name))
            if amount is None or not math.isfinite(amount):
                continue
            y = y_scale(amount)
            chart.bars.append(Bar(round(left + series_index * bar_width, 1), y, round(bar_width * 0.9, 1),
                                  round(chart.plot_bottom - y, 1), color_of(series_index), name,
                                  f"{name} · {group}: {_format(amount, percent)}"))
    chart.legend = [(name, color_of(index)) for index, name in enumerate(series)]
    return chart


def line_chart(title: str, x_title: str, y_title: str, series: Sequence[tuple[str, Sequence[tuple[float, float]]]],
               y_percent: bool) -> Optional[Chart]:
    """One polyline per (label, [(x, y), ...])."""
    series = [(label, [(x, y) for x, y in values if math.isfinite(x) and math.isfinite(y)]) for label, values in series]
    series = [(label, values) for label, values in series if values]
    if not series:
        return None
    chart = Chart(title, x_title, y_title)
    xs = [x for _, values in series for x, _ in values]
    ys = [y for _, values in series for _, y in values]
    x_scale = _Scale(min(0.0, min(xs)), max(xs), chart.plot_left, chart.plot_right)
    y_scale = _Scale(*_padded(ys, y_percent), chart.plot_bottom, chart.plot_top)
    chart.x_ticks, chart.y_ticks = x_scale.ticks(5, False), y_scale.ticks(5, y_percent)
    for index, (label, values) in enumerate(series):
        chart.lines.append(Line(" ".join(f"{x_scale(x)},{y_scale(y)}" for x, y in values), color_of(index), label))
        for x, y in values:
            chart.points.append(Point(x_scale(x), y_scale(y), label, color_of(index),
                                      f"{label}: {x_title} {_format(x, False)}, {y_title} {_format(y, y_percent)}"))
        chart.legend.append((label, color_of(index)))
    return chart


def robustness_charts(table: Any, clean_metric: str, stressed_metrics: Sequence[str], score_name: str) -> list[Any]:
    """A kind's two robustness charts from its comparison table (harness.report.reporting.ComparisonTable): the clean
    score (`clean_metric` of the evaluate stage) against the score under attack (the mean over attacks), and the score
    under each attack and perturbation (the columns whose metric is one of `stressed_metrics`). `score_name` names
    the score on the axes ("entity F1", "F1")."""
    def value(method: str, key: tuple[str, str, str]) -> float:
        cell = table.cells.get((method, key))
        return cell.value if cell is not None else float("nan")

    stressed = [column.key for column in table.columns if column.key[2] in stressed_metrics]
    attacks = [key for key in stressed if key[0] == "attack"]
    under_attack = {}
    for method in table.methods:
        values = [v for key in attacks if math.isfinite(v := value(method, key))]
        under_attack[method] = sum(values) / len(values) if values else float("nan")
    robustness = f"{score_name} under attack" + (" (mean over attacks)" if len(attacks) > 1 else "")
    charts = [
        scatter(f"Robustness vs clean {score_name}", f"clean {score_name}", robustness,
                [(m, value(m, ("evaluate", "", clean_metric)), under_attack[m]) for m in table.methods], True, True),
        grouped_bars(f"{score_name[:1].upper()}{score_name[1:]} under each attack and perturbation", score_name,
                     [key[1] for key in stressed], table.methods,
                     {(key[1], m): value(m, key) for key in stressed for m in table.methods}, True),
    ]
    return [chart for chart in charts if chart is not None]
