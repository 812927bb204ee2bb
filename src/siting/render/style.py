"""Number formats, colour ramps, palettes and symbol sizes shared by every map."""

from __future__ import annotations

import math
from dataclasses import dataclass

GAP_RED = "#d7191c"
STREAM_COLOURS = ("#1f78b4", "#ff7f00", "#33a02c", "#e7298a", "#a6761d", "#666666")
RUN_KEYS = ("a", "b", "c", "d", "e", "f")  # runs of a comparison map, in order
# Runs take colours no stream takes, so that on any page a colour has one meaning
RUN_COLOURS = {"a": "#404040", "b": "#d01c8b", "c": "#8c510a", "d": "#01665e", "e": "#b8860b",
               "f": "#17becf", "both": "#6a3d9a", "all": "#6a3d9a", "some": "#a6a6a6"}
RUN_DASHES = {"a": None, "b": "8 6", "c": "2 6", "d": "12 4 2 4", "e": "4 4", "f": "16 6"}
TIER_SHAPES = ("circle", "square", "diamond", "triangle")
CANDIDATE_GREY = "#7a7a7a"
NEW_GOLD = "#ffc400"


@dataclass(frozen=True)
class Ramp:
    """A continuous colour scale from ``low`` to ``high`` through evenly spaced stops."""

    stops: tuple[str, ...]
    low: float = 0.0
    high: float = 1.0

    def __call__(self, value: float | None) -> str:
        """Return the hex colour of ``value`` (clipped to the range; grey when missing)."""
        if value is None or math.isnan(value):
            return "#bdbdbd"
        span = self.high - self.low or 1.0
        t = min(max((value - self.low) / span, 0.0), 1.0) * (len(self.stops) - 1)
        i = min(int(t), len(self.stops) - 2)
        a, b = _rgb(self.stops[i]), _rgb(self.stops[i + 1])
        return "#" + "".join(f"{round(x + (y - x) * (t - i)):02x}" for x, y in zip(a, b,
                                                                                    strict=True))

    def css(self) -> str:
        """Return a CSS left-to-right gradient of the ramp."""
        return f"linear-gradient(to right, {', '.join(self.stops)})"


COLLECTION_RAMP = Ramp(("#f7fcf5", "#a1d99b", "#41ab5d", "#005a32"))
UTILISATION_RAMP = Ramp(("#f2f0f7", "#bcbddc", "#807dba", "#54278f"))
CHANGE_RAMP = Ramp(("#a6611a", "#dfc27d", "#f5f5f5", "#80cdc1", "#018571"), -1.0, 1.0)


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def sqrt_size(value: float, largest: float, smallest_px: float, largest_px: float) -> float:
    """Return a symbol size whose area grows with ``value`` (``largest`` maps to the top)."""
    share = math.sqrt(max(value, 0.0) / largest) if largest > 0 else 0.0
    return round(smallest_px + (largest_px - smallest_px) * share, 1)


def line_width(tonnes: float, largest: float) -> float:
    """Return a flow line's width in pixels, linear in tonnes."""
    return round(1.5 + 8.5 * (tonnes / largest if largest > 0 else 0.0), 2)


def tonnes(value: float | None) -> str:
    """Format tonnes: ``12,345 t``."""
    return "–" if _missing(value) else f"{value:,.0f} t"


def percent(value: float | None) -> str:
    """Format a share as a percentage: ``84.9 %``."""
    return "–" if _missing(value) else f"{100 * value:.1f} %"


def km(value: float | None) -> str:
    """Format a distance: ``123 km``."""
    return "–" if _missing(value) else f"{value:,.0f} km"


def money(value: float | None, currency: str) -> str:
    """Format an amount with its currency, scaled: ``CNY 1.23 bn``."""
    if _missing(value):
        return "–"
    size = abs(value)
    for threshold, suffix in ((1e9, " bn"), (1e6, " M"), (1e3, " k")):
        if size >= threshold:
            scaled = value / threshold
            return f"{currency} {scaled:,.0f}{suffix}" if abs(scaled) >= 100 else \
                f"{currency} {scaled:.3g}{suffix}"
    return f"{currency} {value:,.0f}"


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
