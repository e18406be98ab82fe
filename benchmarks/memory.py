"""Peak memory of `pmail ingest` on big inputs (issue 24, point 4).

Each case runs the real `pmail ingest` (a subprocess, as a user runs it) into a
fresh scratch database and records:

* `tree peak`: the largest sum of RSS over pmail and its worker processes,
  sampled every 20 ms (psutil);
* `main peak`: the main process's own peak RSS, exact (`ru_maxrss` from wait4);
* their ratio to the largest message of the input.

The cases (`--cases`, comma-separated):

* `eml-1`, `eml-50`, `eml-72`: one .eml file of 1 / 50 / 72 MB (a short text body and one
  base64 attachment of random bytes, the usual shape of a big message);
* `mbox-1g`: an mbox of `--mbox-mb` MB (default 1024) made of 1 MB messages;
* `eml-1g`: one file of `--big-mb` MB (default 1024): one message far over the
  maximum message size;
* `zero`: `/dev/zero`, an input that never ends.

A run that outlives `--timeout` seconds (`zero`: `--endless-seconds`) or whose
tree passes `--rss-cap` MB is killed and reported as such (the old code on `zero`
never ends by itself).

    python benchmarks/memory.py                        # every case, this checkout
    python benchmarks/memory.py --src /tmp/old/src     # another checkout's code
    python benchmarks/memory.py --cases eml-72,zero --jobs 1

Inputs are generated once into `--workdir` (seeded, so the same bytes every time).
Progress goes to stderr; the table (or `--json`) to stdout.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from tabulate import tabulate

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.ingest import tree_rss

DEFAULT_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
CASES = ("eml-1", "eml-50", "eml-72", "mbox-1g", "eml-1g", "zero")
MB = 1024 * 1024
POLL = 0.02


def message(size: int, seed: int) -> bytes:
    """One message of about `size` bytes: headers, a text body, a base64 attachment."""
    rng = random.Random(seed)
    head = (
        f"From: Sender {seed} <sender{seed}@example.test>\n"
        f"To: lead{seed}@example.test\n"
        f"Subject: report {seed}\n"
        f"Date: Mon, 02 Mar 2026 10:{seed % 60:02d}:00 +0000\n"
        f"Message-ID: <big-{seed}@example.test>\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="b0"\n\n'
        "--b0\nContent-Type: text/plain; charset=utf-8\n\n"
        + "Please find the report attached.\n"
        * 20
        + "\n--b0\nContent-Type: application/octet-stream; name=report.bin\n"
        "Content-Disposition: attachment; filename=report.bin\n"
        "Content-Transfer-Encoding: base64\n\n"
    ).encode()
    tail = b"\n--b0--\n"
    room = max(size - len(head) - len(tail), 76)
    data = rng.randbytes(room * 57 // 78)  # base64 with LF every 76 chars
    encoded = base64.encodebytes(data)
    return head + encoded + tail


def write_eml(path: Path, size: int, seed: int) -> Path:
    if not path.exists():
        tmp = path.with_suffix(".part")
        tmp.write_bytes(message(size, seed))
        tmp.rename(path)
    return path


def write_mbox(path: Path, total: int, each: int) -> Path:
    if path.exists():
        return path
    tmp = path.with_suffix(".part")
    with tmp.open("wb") as out:
        written, n = 0, 0
        while written < total:
            raw = message(each, n)
            out.write(
                f"From sender{n}@example.test Mon Mar  2 10:00:00 2026\n".encode()
            )
            out.write(raw + b"\n")
            written += len(raw) + 60
            n += 1
    tmp.rename(path)
    return path


def write_big(path: Path, size: int) -> Path:
    """A single file of `size` bytes: headers, then text lines (one message)."""
    if path.exists():
        return path
    tmp = path.with_suffix(".part")
    line = b"all work and no play makes a very long message " * 2 + b"\n"
    with tmp.open("wb") as out:
        out.write(b"From: a@example.test\nSubject: huge\n\n")
        block = line * (MB // len(line))
        for _ in range(size // len(block)):
            out.write(block)
    tmp.rename(path)
    return path


@dataclass(slots=True)
class Result:
    case: str
    input_bytes: int
    largest_message: int
    exit: int | str
    seconds: float
    tree_peak: int
    main_peak: int
    summary: str

    def row(self) -> list[object]:
        ratio = self.tree_peak / self.largest_message if self.largest_message else 0
        main = self.main_peak / self.largest_message if self.largest_message else 0
        return [
            self.case,
            f"{self.input_bytes / MB:,.0f}" if self.input_bytes else "endless",
            f"{self.largest_message / MB:,.0f}",
            self.exit,
            f"{self.seconds:.1f}",
            f"{self.tree_peak / MB:,.0f}",
            f"{ratio:.1f}x",
            f"{self.main_peak / MB:,.0f}",
            f"{main:.1f}x",
            self.summary[:90],
        ]


HEADERS = [
    "case",
    "input MB",
    "largest msg MB",
    "exit",
    "s",
    "tree peak MB",
    "tree/msg",
    "main peak MB",
    "main/msg",
    "last line of stderr",
]


def run_pmail(
    args: argparse.Namespace, dsn: str, inputs: Sequence[str]
) -> tuple[int | str, float, int, int, str]:
    """Run pmail ingest; (exit or 'killed', seconds, tree peak, main peak, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PMAIL_")}
    env["PMAIL_CONFIG"] = str(Path(args.workdir) / "no-such-config.toml")
    if args.src:
        env["PYTHONPATH"] = args.src
    if args.max_message_bytes:
        env["PMAIL_MAX_MESSAGE_BYTES"] = str(args.max_message_bytes)
    command = [sys.executable, "-m", "pmail_cli", "--dsn", dsn, "-q", "ingest"]
    command += [*inputs, "--jobs", str(args.jobs)]
    err_path = Path(args.workdir) / "stderr.txt"
    started = time.perf_counter()
    with err_path.open("wb") as err:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=env,
        )
        watched = psutil.Process(proc.pid)
        peak, killed, done = [0], [False], threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], tree_rss(watched))
                limit = args.endless_seconds if "/dev/zero" in inputs else args.timeout
                too_long = time.perf_counter() - started > limit
                if peak[0] > args.rss_cap * MB or too_long:
                    killed[0] = True
                    for child in reversed([watched, *_children(watched)]):
                        with contextlib.suppress(psutil.Error):
                            child.send_signal(signal.SIGKILL)
                    return
                done.wait(POLL)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        sampler.join()
    seconds = time.perf_counter() - started
    text = err_path.read_text("utf-8", "replace")
    code: int | str = "killed" if killed[0] else proc.returncode
    return code, seconds, peak[0], usage.ru_maxrss * 1024, text


def _children(proc: Any) -> list[Any]:
    try:
        return list(proc.children(recursive=True))
    except psutil.Error:
        return []


@contextlib.contextmanager
def scratch_database(admin_dsn: str) -> Iterator[str]:
    name = f"pmail_memory_{os.getpid()}"
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
        sql.Identifier(name)
    )
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(drop)
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_conninfo(admin_dsn, dbname=name)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(drop)


def init_db(args: argparse.Namespace, dsn: str) -> None:
    env = dict(os.environ)
    if args.src:
        env["PYTHONPATH"] = args.src
    subprocess.run(
        [sys.executable, "-m", "pmail_cli", "--dsn", dsn, "-q", "init-db"],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def case_inputs(case: str, args: argparse.Namespace) -> tuple[list[str], int, int]:
    """(paths, input bytes, largest message bytes) of a case, generated if needed."""
    work = Path(args.workdir)
    if case in ("eml-1", "eml-50", "eml-72"):
        size = int(case.split("-")[1]) * MB
        path = write_eml(work / f"{case}.eml", size, seed=size)
        return [str(path)], path.stat().st_size, path.stat().st_size
    if case == "mbox-1g":
        path = write_mbox(work / f"mbox-{args.mbox_mb}.mbox", args.mbox_mb * MB, MB)
        return [str(path)], path.stat().st_size, MB
    if case == "eml-1g":
        path = write_big(work / f"big-{args.big_mb}.eml", args.big_mb * MB)
        return [str(path)], path.stat().st_size, path.stat().st_size
    if case == "zero":
        return ["/dev/zero"], 0, 0
    raise SystemExit(f"unknown case {case!r}; cases: {', '.join(CASES)}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", default=os.environ.get("PMAIL_BENCH_DSN", DEFAULT_DSN))
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--jobs", type=int, default=0, help="pmail ingest --jobs")
    parser.add_argument("--mbox-mb", type=int, default=1024)
    parser.add_argument("--big-mb", type=int, default=1024)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument(
        "--endless-seconds", type=float, default=10.0, help="kill `zero` after"
    )
    parser.add_argument("--rss-cap", type=int, default=6144, help="kill above (MB)")
    parser.add_argument("--src", help="PYTHONPATH: measure another checkout's src/")
    parser.add_argument(
        "--max-message-bytes", type=int, help="PMAIL_MAX_MESSAGE_BYTES for the run"
    )
    parser.add_argument(
        "--workdir", default=str(Path(tempfile.gettempdir()) / "pmail-memory")
    )
    parser.add_argument("--json", action="store_true")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    for case in args.cases.split(","):
        inputs, size, largest = case_inputs(case, args)
        print(f"{case}: running", file=sys.stderr, flush=True)
        with scratch_database(args.dsn) as dsn:
            init_db(args, dsn)
            code, seconds, tree, main_peak, err = run_pmail(args, dsn, inputs)
        last = [line for line in err.splitlines() if line.strip()]
        results.append(
            Result(
                case,
                size,
                largest,
                code,
                seconds,
                tree,
                main_peak,
                " | ".join(last[-2:]),
            )
        )
        print(f"{case}: {results[-1].row()}", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    else:
        print(tabulate([r.row() for r in results], headers=HEADERS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
