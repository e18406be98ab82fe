"""Right/total counts of a classification measure, shared by the accuracy tests."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


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

    def report(self, name: str) -> str:
        """Return the figure, a confusion table and the first misses."""
        lines = [f"{name}: {self.right}/{self.total} = {self.rate:.1%}"]
        lines += [
            f"  {e:>16} -> {g:<16} {n}" for (e, g), n in self.confusion.most_common(25)
        ]
        lines += ["  worst files:"] + [f"    {m}" for m in self.misses[:40]]
        return "\n".join(lines)
