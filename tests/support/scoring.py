"""Right/total counts of a classification measure, shared by the accuracy tests."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

# The normal quantile of a two-sided 95 % interval.
Z95 = 1.959963984540054


def wilson_interval(right: int, total: int, z: float = Z95) -> tuple[float, float]:
    """Return the Wilson score interval of right/total (0..1 bounds; (0, 1) if empty).

    Unlike the normal approximation it stays inside 0..1 and is usable for small
    samples and shares near 100 %, which is what a held-out set of ~100 rows has.
    """
    if total <= 0:
        return (0.0, 1.0)
    share = right / total
    denominator = 1 + z * z / total
    centre = (share + z * z / (2 * total)) / denominator
    half = z * math.sqrt(share * (1 - share) / total + z * z / (4 * total * total))
    half /= denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(slots=True)
class Score:
    """Right/total counts of one measure, with what went wrong."""

    right: int = 0
    total: int = 0
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    misses: list[str] = field(default_factory=list)

    def add(self, ok: bool, *, expected: str, got: str, path: str) -> None:
        """Count one labelled row."""
        self.total += 1
        self.right += ok
        if not ok:
            self.confusion[(expected, got)] += 1
            self.misses.append(f"{path}: expected {expected}, got {got}")

    @property
    def rate(self) -> float:
        """Return the share right (1.0 when nothing was scored)."""
        return self.right / self.total if self.total else 1.0

    @property
    def interval(self) -> tuple[float, float]:
        """Return the 95 % Wilson interval of the share right."""
        return wilson_interval(self.right, self.total)

    def report(self, name: str) -> str:
        """Return the figure, a confusion table and the first misses."""
        lines = [f"{name}: {self.right}/{self.total} = {self.rate:.1%}"]
        lines += [
            f"  {e:>16} -> {g:<16} {n}" for (e, g), n in self.confusion.most_common(25)
        ]
        lines += ["  worst files:"] + [f"    {m}" for m in self.misses[:40]]
        return "\n".join(lines)
