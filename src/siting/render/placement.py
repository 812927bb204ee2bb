"""Place the labels of a chart's points so that no two overlap, nor cover a point."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

CHAR_PX = 6.2  # width of a character of an 11 px sans-serif label (a generous average)
LINE_PX = 13  # height of a label
GAP_PX = 6  # distance of a label from its point
SHIFTS = (0, -1, 1, -2, 2, -3, 3, -4, 4)  # label heights tried up and down from its point


@dataclass(frozen=True)
class Label:
    """Where a label goes: its text's anchor point, alignment and whether it left its point.

    ``leader`` is true when the label sits away from its point: draw a line between them.
    """

    x: float
    y: float
    anchor: str  # SVG text-anchor: "start" or "end"
    leader: bool


Box = tuple[float, float, float, float]  # left, top, right, bottom


def place_labels(points: Sequence[tuple[float, float]], texts: Sequence[str],
                 area: Box) -> list[Label | None]:
    """Return a position for each label, or None where no free place is near its point.

    ``points`` are pixel positions inside the plot ``area``: a label goes right of its
    point, or left of it near the right edge, at the first height (from its point's, then
    one line up or down at a time) where it stays inside ``area`` and overlaps no placed
    label and no point.
    """
    taken: list[Box] = [(x - 4, y - 4, x + 4, y + 4) for x, y in points]
    out: list[Label | None] = []
    for (x, y), text in zip(points, texts, strict=True):
        size = len(text) * CHAR_PX
        sides = ("end", "start") if x + GAP_PX + size > area[2] else ("start", "end")
        out.append(_first_free(x, y, size, sides, taken, area) if text else None)
    return out


def _first_free(x: float, y: float, size: float, sides: Sequence[str], taken: list[Box],
                area: Box) -> Label | None:
    for shift in SHIFTS:
        for anchor in sides:
            left = x + GAP_PX if anchor == "start" else x - GAP_PX - size
            base = y - GAP_PX + shift * LINE_PX
            box = (left, base - LINE_PX + 3, left + size, base + 3)
            inside = (area[0] <= box[0] and box[2] <= area[2] and area[1] <= box[1]
                      and box[3] <= area[3])
            if inside and not any(_overlap(box, other) for other in taken):
                taken.append(box)
                return Label(left if anchor == "start" else left + size, base, anchor,
                             leader=shift not in (0, -1))
    return None


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
