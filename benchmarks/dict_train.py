"""The first dictionary's cost: zstd training with its parameter search against fixed
parameters, on the same samples, and what each dictionary compresses to.

A tenant's first import trains a dictionary before its first row is written (the
head of the input is held back for it), so the training's CPU is on the path of every
first import and of `pmail dict train`. zstd's fastCover searches for the best
segment size k and d-mer size d when they are not given; pmail gives them
(`mail/compress.py`: TRAIN_K, TRAIN_D). For each sample count this prints the
training's CPU time (median of `--rounds`, one process, `time.process_time`) with the
search and with pmail's fixed pair, the pair each used, and the compressed size of the
other messages as a fraction of their raw size (lower is better).

    python benchmarks/dict_train.py ../shared/corpus --samples 50 300 700
    python benchmarks/gen_corpus.py --messages 6000 /tmp/gen && \\
        python benchmarks/dict_train.py /tmp/gen --samples 50 300 4000
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import zstandard
from tabulate import tabulate

from pmail_cli.mail.compress import DICT_SIZE, LEVEL, TRAIN_D, TRAIN_K
from pmail_cli.services.dicts import SAMPLE_PREFIX

_NOT_MAIL = {".md", ".tsv", ".json", ".py"}
TEST_MESSAGES = 1500  # compressed with each dictionary to compare them


def _messages(root: Path, seed: int) -> list[bytes]:
    files = sorted(
        p for p in root.rglob("*") if p.is_file() and p.suffix not in _NOT_MAIL
    )
    random.Random(seed).shuffle(files)
    return [p.read_bytes() for p in files]


def _measure(
    train: list[bytes], test: list[bytes], rounds: int, **params: int
) -> tuple[float, int, int, float]:
    """(median CPU seconds, k, d, compressed/raw of `test`) of one way of training."""
    cpu = []
    for _ in range(rounds):
        start = time.process_time()
        trained = zstandard.train_dictionary(
            DICT_SIZE,
            list[bytes | bytearray | memoryview](train),
            level=LEVEL,
            **params,
        )
        cpu.append(time.process_time() - start)
    usable = zstandard.ZstdCompressionDict(trained.as_bytes())
    compressor = zstandard.ZstdCompressor(level=LEVEL, dict_data=usable)
    packed = sum(len(compressor.compress(m)) for m in test)
    return statistics.median(cpu), trained.k, trained.d, packed / sum(map(len, test))


def main(argv: Sequence[str] | None = None) -> int:
    """Print the table; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="a directory of messages")
    parser.add_argument("--samples", type=int, nargs="+", default=[50, 300, 700])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2)
    args = parser.parse_args(argv)
    messages = _messages(args.corpus, args.seed)
    rows = []
    for count in args.samples:
        if count >= len(messages):
            parser.error(f"--samples {count}: the corpus has {len(messages)} messages")
        train = [m[:SAMPLE_PREFIX] for m in messages[:count]]
        test = messages[count : count + TEST_MESSAGES]
        search = _measure(train, test, args.rounds)
        fixed = _measure(train, test, args.rounds, k=TRAIN_K, d=TRAIN_D)
        rows.append(
            [
                count,
                f"{search[0]:.3f}",
                f"k={search[1]} d={search[2]}",
                f"{search[3]:.4f}",
                f"{fixed[0]:.3f}",
                f"{fixed[3]:.4f}",
                f"{fixed[0] / search[0]:.2f}x",
            ]
        )
    headers = [
        "samples",
        "search: CPU s",
        "search chose",
        "search: size",
        f"k={TRAIN_K} d={TRAIN_D}: CPU s",
        "fixed: size",
        "CPU fixed/search",
    ]
    print(tabulate(rows, headers=headers))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
