"""pmail beside the indexers people already run: `notmuch new` and `mu index`, same files.

One Maildir (hard links to the corpus's files where the filesystem allows, copies
otherwise) is indexed by notmuch 0.37 (`notmuch new`, its database beside the mail
through `database.mail_root`), by mu 1.8 (`mu init` + `mu index`) and stored by pmail
(`pmail ingest` into a fresh PostgreSQL database, everything on that is on by default).
Each run starts every tool from nothing; the tools take turns within a run, in a
different order each run. Reported: messages each tool took in, messages per second
(median of the runs, wall clock, process start included), bytes per message of what it
keeps (notmuch's and mu's index directories; pmail's tables with their TOAST and
indexes) and that as a fraction of the raw bytes. notmuch and mu keep the files too:
their bytes are an index beside the mail, pmail's are the mail.

A tool that is not installed is left out with a message; this script never installs
anything (benchmarks/README.md says how).

    python benchmarks/peers.py --messages 10000 --runs 3
    python benchmarks/peers.py --corpus ../shared/corpus --runs 5

`--pmail LABEL=PATH` (repeatable) runs that installation's `pmail` instead of the one
beside this Python, under that label: two installations (a branch and main) then take
turns in the same run, for an A/B of a change. `--no-peers` leaves notmuch and mu out.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.ingest import (
    DEFAULT_DSN,
    TENANT,
    Pmail,
    load_corpus,
    pmail_storage,
    prepare_database,
    scratch_database,
)
from benchmarks.ingest import _find_pmail as find_pmail

NOT_MAIL = {".md", ".tsv", ".mbox", ".json", ".py", ".txt~"}


@dataclass(slots=True)
class Result:
    """One tool's figures in one run."""

    messages: int
    seconds: float
    stored_bytes: int


def maildir(files: list[Path], root: Path) -> int:
    """Make `root` a Maildir whose cur/ holds `files` (linked, else copied)."""
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    total = 0
    for number, path in enumerate(files):
        target = root / "cur" / f"{number:07d}.peers:2,"
        try:
            os.link(path, target)
        except OSError:
            shutil.copyfile(path, target)
        total += path.stat().st_size
    return total


def corpus_files(args: argparse.Namespace) -> list[Path]:
    """The files to index: a directory's one-message files, or the generated corpus."""
    if args.corpus:
        return sorted(
            p
            for p in args.corpus.rglob("*")
            if p.is_file()
            and p.suffix.lower() not in NOT_MAIL
            and not p.name.startswith(("README", "LICENSE", "."))
        )
    return list(load_corpus(args.workdir, messages=args.messages, seed=1).paths)


def directory_bytes(root: Path) -> int:
    """Bytes of every file below `root`."""
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def _timed(command: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(
        command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    return time.perf_counter() - started


def run_notmuch(mail: Path, work: Path) -> Result:
    """`notmuch new` over `mail` into a fresh database under `work`."""
    database = work / "notmuch"
    database.mkdir()
    config = work / "notmuch.conf"
    config.write_text(
        f"[database]\npath={database}\nmail_root={mail}\n"
        "[new]\ntags=inbox;\n[maildir]\nsynchronize_flags=false\n",
        encoding="utf-8",
    )
    env = {**os.environ, "NOTMUCH_CONFIG": str(config)}
    seconds = _timed(["notmuch", "new", "--quiet"], env)
    count = subprocess.run(
        ["notmuch", "count", "*"], env=env, check=True, capture_output=True, text=True
    ).stdout
    return Result(int(count.strip()), seconds, directory_bytes(database))


def run_mu(mail: Path, work: Path) -> Result:
    """`mu init` and `mu index` over `mail` into a fresh store under `work`."""
    home = work / "mu"
    seconds = _timed(["mu", "init", f"--muhome={home}", f"--maildir={mail}", "-q"])
    seconds += _timed(["mu", "index", f"--muhome={home}", "-q"])
    info = subprocess.run(
        ["mu", "info", f"--muhome={home}"], check=True, capture_output=True, text=True
    ).stdout
    count = next(
        int(line.split("|")[2].strip())
        for line in info.splitlines()
        if "messages in store" in line
    )
    return Result(count, seconds, directory_bytes(home / "xapian"))


def pmail_runner(
    dsn: str, workdir: Path, executable: Path
) -> Callable[[Path, Path], Result]:
    """`pmail ingest` of the Maildir into a fresh database on the server `dsn`."""
    pmail = Pmail(executable, workdir)

    def run(mail: Path, work: Path) -> Result:
        del work
        with scratch_database(dsn) as scratch:
            prepare_database(pmail, scratch, None, rows=False)
            done = pmail.run(scratch, "ingest", str(mail), "--tenant", TENANT)
            if done.returncode != 0:
                raise RuntimeError(
                    f"pmail ingest exited {done.returncode}: {done.stderr}"
                )
            count, sizes = pmail_storage(scratch)
        return Result(count, done.seconds, sum(sizes.values()))

    return run


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--messages", type=int, default=10_000, help="generated corpus size"
    )
    parser.add_argument(
        "--corpus", type=Path, help="index this directory's files instead"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dsn", default=os.environ.get("PMAIL_BENCH_DSN", DEFAULT_DSN))
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "pmail-bench"
    )
    parser.add_argument(
        "--pmail",
        action="append",
        default=[],
        metavar="LABEL=PATH",
        help="a pmail executable to run under LABEL (repeatable; default: the one"
        " beside this Python, as 'pmail')",
    )
    parser.add_argument(
        "--no-peers", action="store_true", help="leave notmuch and mu out"
    )
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    pmails: dict[str, Path] = {}
    for given in args.pmail:
        label, sep, path = given.partition("=")
        if not sep or not label or not Path(path).exists():
            parser.error(f"--pmail {given!r}: want LABEL=PATH of an existing file")
        pmails[label] = Path(path)
    tools: dict[str, Callable[[Path, Path], Result]] = {}
    for name, command, runner in (
        ("notmuch", "notmuch", run_notmuch),
        ("mu", "mu", run_mu),
    ):
        if args.no_peers:
            continue
        if shutil.which(command):
            tools[name] = runner
        else:
            print(f"note: {command} is not installed; left out", file=sys.stderr)
    for label, executable in (pmails or {"pmail": find_pmail()}).items():
        tools[label] = pmail_runner(args.dsn, args.workdir, executable)
    files = corpus_files(args)
    with tempfile.TemporaryDirectory(dir=args.workdir) as scratch:
        mail = Path(scratch) / "Maildir"
        raw = maildir(files, mail)
        results: dict[str, list[Result]] = {name: [] for name in tools}
        names = list(tools)
        for run in range(args.runs):
            for name in names[run % len(names) :] + names[: run % len(names)]:
                work = Path(tempfile.mkdtemp(dir=scratch))
                results[name].append(tools[name](mail, work))
                shutil.rmtree(work)
            print(f"run {run + 1}/{args.runs}", file=sys.stderr)
    source = (
        str(args.corpus) if args.corpus else f"{args.messages:,} generated messages"
    )
    print(f"{len(files):,} files from {source}, {raw / len(files):,.0f} raw bytes a file; "
          f"medians of {args.runs} runs")  # fmt: skip
    print(
        f"{'tool':8s} {'messages':>9s} {'msg/s':>8s} {'bytes/msg':>10s} {'of raw':>7s}"
    )
    for name, runs in results.items():
        count = runs[-1].messages
        rate = statistics.median(r.messages / r.seconds for r in runs)
        per = statistics.median(r.stored_bytes / max(r.messages, 1) for r in runs)
        each = " ".join(f"{r.messages / r.seconds:,.0f}" for r in runs)
        print(f"{name:8s} {count:9,d} {rate:8,.0f} {per:10,.0f} "
              f"{per / (raw / len(files)):6.2f}x   runs: {each}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
