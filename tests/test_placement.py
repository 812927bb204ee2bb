"""Chart labels: placed where they overlap no other label and no point, or left to hover."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from siting.render.placement import CHAR_PX, LINE_PX, place_labels
from siting.render.report import cost_rate_chart

POINTS = st.lists(st.tuples(st.floats(90, 640), st.floats(20, 330)), min_size=1, max_size=25)


AREA = (90, 20, 640, 330)


def boxes(points, texts):
    """Each placed label's box (left, top, right, bottom), as the placement measures it."""
    out = []
    for (x, y), text, place in zip(points, texts, place_labels(points, texts, AREA),
                                   strict=True):
        if place is not None:
            size = len(text) * CHAR_PX
            left = place.x if place.anchor == "start" else place.x - size
            out.append(((x, y), (left, place.y - LINE_PX + 3, left + size, place.y + 3)))
    return out


def overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@settings(max_examples=200, deadline=None)
@given(POINTS, st.data())
def test_no_label_overlaps_another_or_a_point(points, data):
    texts = [data.draw(st.text("abcdefgh-", min_size=1, max_size=16)) for _ in points]
    placed = boxes(points, texts)
    for i, (_, a) in enumerate(placed):
        assert not any(overlap(a, b) for _, b in placed[i + 1:])
        assert not any(overlap(a, (x - 4, y - 4, x + 4, y + 4)) for x, y in points)
        assert AREA[0] <= a[0] <= a[2] <= AREA[2]
        assert AREA[1] <= a[1] <= a[3] <= AREA[3]


def test_a_label_stays_near_its_point_and_a_far_one_gets_a_leader():
    points = [(200.0, 200.0)] * 1 + [(201.0 + i, 201.0) for i in range(5)]
    texts = ["mandate-90", "mandate-91", "mandate-92", "mandate-93", "mandate-94", "mandate-95"]
    places = place_labels(points, texts, AREA)
    assert all(p is not None for p in places)
    assert places[0].leader is False
    assert any(p.leader for p in places)
    assert all(abs(p.y - y) <= 5 * LINE_PX for p, (_, y) in zip(places, points, strict=True))


def test_the_cost_rate_chart_draws_every_label_apart():
    rates = [0.80, 0.803, 0.806, 0.809, 0.90, 0.95]  # four points 10 px apart
    costs = [46.1e6, 46.12e6, 46.14e6, 46.15e6, 47e6, 49e6]
    names = ["baseline", "in-province-80", "budget-cap", "carbon-price", "mandate-90",
             "mandate-95"]
    svg = cost_rate_chart(rates, costs, names, "CNY", "cost and collection")
    shown = ", ".join(re.findall(r'font-size="11" text-anchor="\w+">([^<]+)<', svg))
    assert all(name in shown for name in names)  # runs at one point share one label
    assert svg.count("<line") >= 2 + 1  # the axes, and a leader for a label moved off its point
