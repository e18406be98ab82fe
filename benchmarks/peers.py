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

`--queries` then runs one query set (rare and common words, phrases, ORs, from:/to:/
subject:, date ranges; `QUERIES`, each written in each tool's syntax) against the
stores of the last run: per query, the hits each tool reports (`notmuch count`, the
lines of `mu find`, `pmail search --count`) and the median of `--query-runs` whole
commands listing the first 50 results (`notmuch search --limit=50`, `mu find
--maxnum=50`, `pmail search -n 50 --format csv`: process start included); for pmail
also the query alone (the service call on an open connection, as benchmarks/search.py
times it). `--english` runs pmail's queries again with the tenant's search language set
to `english` (notmuch stems English words; pmail's default, `simple`, does not).
`--keep DIR` builds the Maildir and the stores in DIR and keeps them (pmail's database
is `pmail_peers_LABEL`); `--queries-only` then reruns only the query phase on them.

    python benchmarks/peers.py --messages 10000 --runs 3
    python benchmarks/peers.py --corpus ../shared/corpus --runs 5
    python benchmarks/peers.py --messages 100000 --runs 1 --queries --english --keep /tmp/peers
    python benchmarks/peers.py --messages 100000 --queries-only --english --keep /tmp/peers

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

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.ingest import (
    DEFAULT_DSN,
    TENANT,
    Pmail,
    load_corpus,
    pmail_storage,
    prepare_database,
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


def pmail_database(dsn: str, label: str, work: Path) -> str:
    """The DSN of pmail's database for the store in `work` (named in `work/dsn`)."""
    del label
    return (work / "dsn").read_text(encoding="utf-8").strip()


def drop_database(admin_dsn: str, dsn: str) -> None:
    """Drop the database `dsn` names (one this script created)."""
    name = conninfo_to_dict(dsn)["dbname"]
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(str(name))
            )
        )


def pmail_runner(
    dsn: str, workdir: Path, executable: Path, database: str
) -> Callable[[Path, Path], Result]:
    """`pmail ingest` of the Maildir into a fresh database `database` on the server
    `dsn`; its DSN is written to `work/dsn` (the caller drops it)."""
    pmail = Pmail(executable, workdir)

    def run(mail: Path, work: Path) -> Result:
        target = make_conninfo(dsn, dbname=database)
        drop_database(dsn, target)
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(
                sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database))
            )
        (work / "dsn").write_text(target, encoding="utf-8")
        prepare_database(pmail, target, None, rows=False)
        done = pmail.run(target, "ingest", str(mail), "--tenant", TENANT)
        if done.returncode != 0:
            raise RuntimeError(f"pmail ingest exited {done.returncode}: {done.stderr}")
        count, sizes = pmail_storage(target)
        return Result(count, done.seconds, sum(sizes.values()))

    return run


# --- the query phase ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Query:
    """One query in each tool's syntax."""

    kind: str
    notmuch: str
    mu: str
    pmail: str


# Words of the generated corpus (benchmarks/gen_corpus.py), chosen by how many messages
# hold them at 100,000: rare (a few hundred), common (thousands), very common.
QUERIES = (
    Query("rare word", "dublin", "dublin", "dublin"),
    Query("rare word", "harborlogistics", "harborlogistics", "harborlogistics"),
    Query("common word", "pricing", "pricing", "pricing"),
    Query("common word", "budget", "budget", "budget"),
    Query("common word", "mailbox", "mailbox", "mailbox"),
    Query("very common", "unsubscribe", "unsubscribe", "unsubscribe"),
    Query("phrase", '"next week"', '"next week"', '"next week"'),
    Query("phrase", '"empty chairs"', '"empty chairs"', '"empty chairs"'),
    Query("OR", "webinar or calendar", "webinar or calendar", "webinar OR calendar"),
    Query("AND", "pricing and budget", "pricing and budget", "pricing budget"),
    Query(
        "from:",
        "from:harborlogistics.com",
        "from:harborlogistics.com",
        "from:harborlogistics.com",
    ),
    Query(
        "from: + word",
        "from:mailer-daemon and mailbox",
        "from:mailer-daemon and mailbox",
        "from:mailer-daemon mailbox",
    ),
    Query("to:", "to:dana@acme.test", "to:dana@acme.test", "to:dana@acme.test"),
    Query("subject:", "subject:pipeline", "subject:pipeline", "subject:pipeline"),
    Query(
        "date range",
        "date:2024-04-08..2024-04-14",
        "date:20240408..20240414",
        "after:2024-04-08 before:2024-04-14",
    ),
    Query(
        "word + dates",
        "pricing and date:2024-03-01..2024-03-31",
        "pricing and date:20240301..20240331",
        "pricing after:2024-03-01 before:2024-03-31",
    ),
)
PAGE = 50


class Peer:
    """How one tool counts and lists a query's results, on the store in `work`."""

    def __init__(self, name: str, work: Path) -> None:
        self.name = name
        self.work = work

    def count_command(self, query: Query) -> list[str]:
        raise NotImplementedError

    def list_command(self, query: Query) -> list[str]:
        raise NotImplementedError

    env: dict[str, str] | None = None

    def hits(self, query: Query) -> int:
        """The number of matches the tool reports."""
        done = subprocess.run(
            self.count_command(query), env=self.env, capture_output=True, text=True
        )
        return self.parse_count(done)

    def parse_count(self, done: subprocess.CompletedProcess[str]) -> int:
        if done.returncode != 0:
            raise RuntimeError(f"{self.name}: exit {done.returncode}: {done.stderr}")
        return int(done.stdout.strip())

    def seconds(self, query: Query) -> float:
        """Wall seconds of the whole command listing the first PAGE results."""
        started = time.perf_counter()
        done = subprocess.run(
            self.list_command(query),
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        seconds = time.perf_counter() - started
        if done.returncode not in self.ok_codes:
            raise RuntimeError(f"{self.name}: exit {done.returncode}: {done.stderr}")
        return seconds

    ok_codes: tuple[int, ...] = (0,)


class Notmuch(Peer):
    def __init__(self, name: str, work: Path) -> None:
        super().__init__(name, work)
        self.env = {**os.environ, "NOTMUCH_CONFIG": str(work / "notmuch.conf")}

    def count_command(self, query: Query) -> list[str]:
        return ["notmuch", "count", "--", query.notmuch]

    def list_command(self, query: Query) -> list[str]:
        return ["notmuch", "search", f"--limit={PAGE}", "--", query.notmuch]


class Mu(Peer):
    ok_codes = (0, 4)  # mu find exits 4 when nothing matches

    def count_command(self, query: Query) -> list[str]:
        return ["mu", "find", f"--muhome={self.work / 'mu'}", "--fields=i", query.mu]

    def parse_count(self, done: subprocess.CompletedProcess[str]) -> int:
        if done.returncode not in self.ok_codes:
            raise RuntimeError(f"{self.name}: exit {done.returncode}: {done.stderr}")
        return len(done.stdout.splitlines())

    def list_command(self, query: Query) -> list[str]:
        return ["mu", "find", f"--muhome={self.work / 'mu'}", f"--maxnum={PAGE}",
                query.mu]  # fmt: skip


class PmailPeer(Peer):
    def __init__(self, name: str, work: Path, executable: Path, dsn: str) -> None:
        super().__init__(name, work)
        self.executable = executable
        self.dsn = dsn
        self.env = Pmail(executable, work).env

    def _command(self, query: Query, *extra: str) -> list[str]:
        return [str(self.executable), "--dsn", self.dsn, "-q", "search", query.pmail,
                "--tenant", TENANT, *extra]  # fmt: skip

    def count_command(self, query: Query) -> list[str]:
        return self._command(query, "--count")

    def list_command(self, query: Query) -> list[str]:
        return self._command(query, "-n", str(PAGE), "--format", "csv")

    def alone(self, query: Query, runs: int) -> float:
        """The query without the process: the service call on an open connection."""
        from benchmarks.search import in_process

        return in_process(self.dsn, [query.pmail], runs)[0]

    def language(self, language: str) -> None:
        """Set the tenant's search language (rebuilds its documents)."""
        subprocess.run(
            [str(self.executable), "--dsn", self.dsn, "-q", "tenant", "set", TENANT,
             "--search-language", language],
            env=self.env, check=True, capture_output=True,
        )  # fmt: skip


def query_phase(peers: list[Peer], runs: int) -> list[dict[str, object]]:
    """Each query: hits per tool, median whole-command seconds per tool (the tools
    alternating within each round), and pmail's query alone."""
    rows: list[dict[str, object]] = []
    for query in QUERIES:
        row: dict[str, object] = {"kind": query.kind, "query": query.pmail}
        times: dict[str, list[float]] = {peer.name: [] for peer in peers}
        for peer in peers:
            row[f"{peer.name} hits"] = peer.hits(query)
        for round_ in range(runs):
            turn = peers[round_ % len(peers) :] + peers[: round_ % len(peers)]
            for peer in turn:
                times[peer.name].append(peer.seconds(query))
        for peer in peers:
            row[f"{peer.name} s"] = statistics.median(times[peer.name])
            if isinstance(peer, PmailPeer):
                row[f"{peer.name} query s"] = peer.alone(query, runs)
        rows.append(row)
        print(f"query {query.pmail!r} done", file=sys.stderr)
    return rows


def print_queries(rows: list[dict[str, object]], names: list[str]) -> None:
    """The query table in Markdown: hits, then median seconds, per tool."""
    head = ["kind", "query"] + [f"{n} hits" for n in names] + [f"{n} s" for n in names]
    head += [k for k in rows[0] if k.endswith(" query s")]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for row in rows:
        cells = []
        for key in head:
            value = row.get(key, "")
            if isinstance(value, float):
                cells.append(f"{value:.3f}")
            elif isinstance(value, int):
                cells.append(f"{value:,}")
            else:
                cells.append(f"`{value}`" if key == "query" else str(value))
        print("| " + " | ".join(cells) + " |")
    for name in names:
        seconds = [float(str(r[f"{name} s"])) for r in rows]
        print(
            f"{name}: median of the per-query medians {statistics.median(seconds):.3f} s"
        )


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
    parser.add_argument(
        "--queries", action="store_true", help="then run the query set (see above)"
    )
    parser.add_argument(
        "--query-runs", type=int, default=5, help="runs of each query (median)"
    )
    parser.add_argument(
        "--english",
        action="store_true",
        help="also run pmail's queries with --search-language english",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="build the Maildir and the stores in DIR and keep them",
    )
    parser.add_argument(
        "--queries-only",
        action="store_true",
        help="no ingest: the query set on the stores kept in --keep DIR",
    )
    args = parser.parse_args(argv)
    if args.queries_only and not args.keep:
        parser.error("--queries-only needs --keep DIR (the stores of an earlier run)")
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
    pmails = pmails or {"pmail": find_pmail()}
    databases = {
        label: f"pmail_peers_{label}"
        if args.keep
        else f"pmail_peers_{os.getpid()}_{label}"
        for label in pmails
    }
    for label, executable in pmails.items():
        tools[label] = pmail_runner(
            args.dsn, args.workdir, executable, databases[label]
        )
    if args.queries_only:
        stores = {name: args.keep / name for name in tools}
        missing = [name for name, work in stores.items() if not work.is_dir()]
        if missing:
            parser.error(f"--keep {args.keep}: no store of {', '.join(missing)}")
        run_queries(args, stores, pmails)
        return 0
    files = corpus_files(args)
    scratch = Path(tempfile.mkdtemp(dir=args.workdir)) if not args.keep else args.keep
    if args.keep:  # only what this script puts there is replaced
        scratch.mkdir(parents=True, exist_ok=True)
        for name in ("Maildir", *tools):
            shutil.rmtree(scratch / name, ignore_errors=True)
    stores = {}
    try:
        mail = scratch / "Maildir"
        raw = maildir(files, mail)
        results: dict[str, list[Result]] = {name: [] for name in tools}
        names = list(tools)
        for run in range(args.runs):
            for name in names[run % len(names) :] + names[: run % len(names)]:
                work = scratch / name
                shutil.rmtree(work, ignore_errors=True)
                work.mkdir()
                results[name].append(tools[name](mail, work))
                stores[name] = work
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
        sys.stdout.flush()
        if args.queries:
            run_queries(args, stores, pmails)
    finally:
        if not args.keep:
            for label in pmails:
                if label in stores:
                    drop_database(
                        args.dsn, pmail_database(args.dsn, label, stores[label])
                    )
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


def run_queries(
    args: argparse.Namespace, stores: dict[str, Path], pmails: dict[str, Path]
) -> None:
    """The query phase on `stores` (tool name -> its work directory); prints the table."""
    peers: list[Peer] = []
    for name, work in stores.items():
        if name == "notmuch":
            peers.append(Notmuch(name, work))
        elif name == "mu":
            peers.append(Mu(name, work))
        else:
            dsn = pmail_database(args.dsn, name, work)
            peers.append(PmailPeer(name, work, pmails[name], dsn))
    pmail_peers = [p for p in peers if isinstance(p, PmailPeer)]
    for peer in pmail_peers:
        peer.language("simple")
    rows = query_phase(peers, args.query_runs)
    names = [p.name for p in peers]
    if args.english:
        english = [
            PmailPeer(f"{p.name}-en", p.work, p.executable, p.dsn) for p in pmail_peers
        ]
        for peer in english:
            peer.language("english")
        for row, more in zip(
            rows, query_phase(list(english), args.query_runs), strict=True
        ):
            row.update({k: v for k, v in more.items() if k not in ("kind", "query")})
        names += [p.name for p in english]
    print(
        f"\nqueries: medians of {args.query_runs} whole commands (first {PAGE} results)"
    )
    print_queries(rows, names)


if __name__ == "__main__":
    sys.exit(main())
