"""Hand-run throughput check: classify_bytes against bare parsing, over a corpus.

Usage: python benchmarks/classify.py [CORPUS_DIR] [--rounds N] [--cpu]

Not a test: timings depend on the machine. It prints the median messages per second
over N rounds for `email.message_from_bytes` alone, for `classify_bytes` (parse +
classify) and for `classify_message` on already parsed messages (what ingest pays,
since it parses once), and their ratios, measured in the same run. `--cpu` counts
the process's CPU time instead of wall time: on a machine shared with other work,
wall-clock rates swing far more than CPU time does.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import os
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from pmail_cli.classify import classify_bytes, classify_message

T = TypeVar("T")
_SKIP = {"labels.tsv", "MANIFEST.tsv", "README.md"}


def _messages(root: Path) -> list[bytes]:
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name not in _SKIP)
    return [p.read_bytes() for p in files if not p.name.startswith(".")]


def _rate(
    func: Callable[[T], object],
    data: Sequence[T],
    rounds: int,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    times = []
    for _ in range(rounds):
        start = clock()
        for item in data:
            func(item)
        times.append(clock() - start)
    return len(data) / statistics.median(times)


def _parse(raw: bytes) -> object:
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def main() -> None:
    """Print parse-only and parse+classify rates over the corpus."""
    default = os.environ.get("PMAIL_CORPUS", "../shared/corpus")
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("corpus", nargs="?", default=default)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="count CPU time (process_time), not wall time",
    )
    args = parser.parse_args()
    clock = time.process_time if args.cpu else time.perf_counter
    data = _messages(Path(args.corpus))
    parse = _rate(_parse, data, args.rounds, clock)
    both = _rate(classify_bytes, data, args.rounds, clock)
    parsed = [
        email.message_from_bytes(raw, policy=email.policy.compat32) for raw in data
    ]
    alone = _rate(classify_message, parsed, args.rounds, clock)
    size = sum(len(d) for d in data) / 1e6
    kind = "CPU time" if args.cpu else "wall time"
    print(
        f"{len(data)} messages, {size:.1f} MB, median of {args.rounds} rounds ({kind})"
    )
    print(f"email.message_from_bytes only: {parse:8.0f} msg/s")
    print(f"classify_bytes (parse+classify): {both:8.0f} msg/s")
    print(f"classify_message on parsed:      {alone:8.0f} msg/s")
    print(f"parse+classify / parse only:  {both / parse:.2f}x")
    print(f"classify alone / parse only:  {alone / parse:.2f}x")


if __name__ == "__main__":
    main()
