"""Known answers for the 95 % Wilson interval printed with the accuracy tables."""

from __future__ import annotations

import pytest

from tests.support.scoring import Score, wilson_interval


@pytest.mark.parametrize(
    ("right", "total", "low", "high"),
    [
        (5, 10, 0.2366, 0.7634),  # symmetric about one half
        (28, 28, 0.8794, 1.0),  # all right: the upper bound is 1, the lower is not
        (0, 10, 0.0, 0.2775),  # none right
        (35, 36, 0.8583, 0.9951),
    ],
)
def test_wilson_interval_known_answers(
    right: int, total: int, low: float, high: float
) -> None:
    """The bounds match the Wilson score interval to four places."""
    got_low, got_high = wilson_interval(right, total)
    assert got_low == pytest.approx(low, abs=5e-5)
    assert got_high == pytest.approx(high, abs=5e-5)


def test_wilson_interval_of_nothing_is_everything() -> None:
    """No rows scored says nothing: the interval is 0..1."""
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_score_interval_follows_its_counts() -> None:
    """Score.interval is the interval of its right/total."""
    score = Score()
    for ok in (True, True, False, True):
        score.add(ok, expected="a", got="a" if ok else "b", path="p")
    assert score.interval == wilson_interval(3, 4)
