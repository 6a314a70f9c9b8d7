"""Charts as data: the shapes of a small bar chart, computed here, drawn as inline SVG by the
``grafik`` macro of templates/_macros.html (escaped there like every other text; no script, no library)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Shape:
    kind: str            # "rect" or "text"
    x: float
    y: float
    w: float = 0.0
    h: float = 0.0
    fill: str = ""
    text: str = ""
    outlined: bool = False  # a legend swatch: a thin border so the palest colour shows


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    label: str           # what a screen reader says for the whole chart
    font_size: int
    shapes: list[Shape] = field(default_factory=list)


def _short(text: str, keep: int) -> str:
    return text if len(text) <= keep + 1 else text[:keep] + "…"


def bars(items: list[tuple[str, float]], label: str, width: int = 320) -> Chart:
    """Horizontal bars of values on a 25–100 scale (IKM), each with its name and value."""
    row, label_w = 22, 120
    chart = Chart(width, row * len(items) + 4, label, 12)
    for i, (name, value) in enumerate(items):
        y = i * row + 2
        bar = max(1, int((width - label_w - 40) * (value - 25) / 75))
        chart.shapes.extend([Shape("text", 0, y + 15, text=_short(name, 16)),
                             Shape("rect", label_w, y + 3, bar, 14, "#00703c"),
                             Shape("text", label_w + bar + 4, y + 15, text=f"{value:.1f}")])
    return chart


def stacked(items: list[tuple[str, list[int]]], segments: list[tuple[str, str]], label: str,
            width: int = 340) -> Chart:
    """Horizontal 100 % stacked bars (one colour per segment) with a legend under them."""
    row, label_w, legend_h = 20, 130, 36
    bar_w = width - label_w - 4
    chart = Chart(width, row * len(items) + legend_h, label, 11)
    for i, (name, values) in enumerate(items):
        y, total, x = i * row, sum(values) or 1, float(label_w)
        chart.shapes.append(Shape("text", 0, y + 14, text=_short(name, 20)))
        for (_, colour), v in zip(segments, values, strict=True):
            if v:
                w = bar_w * v / total
                chart.shapes.append(Shape("rect", round(x, 1), y + 3, round(w, 1), 14, colour))
                x += w
    y, x = row * len(items) + 6, 0
    for i, (name, colour) in enumerate(segments):
        if i == 3:
            x, y = 0, y + 15
        chart.shapes.extend([Shape("rect", x, y, 10, 10, colour, outlined=True),
                             Shape("text", x + 13, y + 9, text=name)])
        x += 13 + 6 * len(name) + 12
    return chart
