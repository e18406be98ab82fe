"""Ingest benchmark: `pmail ingest` against the straightforward design and parsing.

Each measured run uses a fresh scratch database on one PostgreSQL server and the
same seeded cold-email corpus. It times the real `pmail ingest` command (a
subprocess, as a user runs it) while sampling the peak RSS of its process tree,
times it again on the same database (every message a duplicate), runs the
straightforward design (:mod:`benchmarks.baseline`, one transaction per message)
on a subset, and times :func:`baseline.parse_only` over the whole corpus. A
larger corpus (`--memory-scale` times as many messages) checks that memory stays
flat. The medians are compared with the targets in DESIGN.md.

    python benchmarks/ingest.py --messages 5000 --runs 3 --memory-scale 4

See benchmarks/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from tabulate import tabulate

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import baseline, gen_corpus

DEFAULT_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
TENANT = "bench"
TENANT_DOMAIN = "acme.test"
BASELINE_TENANT = uuid.UUID("0b3f3c1e-9d5e-4c51-8a8e-6b0e4f1d2a77")
PMAIL_TABLES = (
    "email_messages",
    "email_content",
    "search_documents",  # the full-text documents (migration 0020)
    "attachments",
    "attachment_blobs",
    "compression_dicts",
)
POLL_SECONDS = 0.05
SUMMARY_RE = re.compile(r"ingested ([\d,]+) messages, ([\d,]+) duplicates skipped")
HEADER_RE = re.compile(rb"^(X-PM-Campaign-Id|X-PM-Lead-Id):[ \t]*(\S+)", re.M | re.I)

# (metric key, label, format); the order of the result table.
METRICS: tuple[tuple[str, str, str], ...] = (
    ("pmail_rate", "pmail ingest msg/s", "{:,.0f}"),
    ("baseline_rate", "baseline msg/s", "{:,.1f}"),
    ("parse_rate", "parse-only msg/s", "{:,.0f}"),
    ("cheap_parse_rate", "cheap parse msg/s", "{:,.0f}"),
    ("pmail_vs_baseline", "throughput pmail/baseline", "{:.2f}x"),
    ("pmail_vs_parse", "throughput pmail/parse-only", "{:.2f}x"),
    ("pmail_vs_cheap_parse", "throughput pmail/cheap parse", "{:.2f}x"),
    ("pmail_seconds", "pmail ingest s", "{:.2f}"),
    ("reingest_seconds", "re-ingest s", "{:.2f}"),
    ("reingest_speedup", "re-ingest speedup", "{:.1f}x"),
    ("pmail_bytes_per_message", "pmail bytes/msg", "{:,.0f}"),
    ("baseline_bytes_per_message", "baseline bytes/msg", "{:,.0f}"),
    ("raw_bytes_per_message", "raw bytes/msg", "{:,.0f}"),
    ("storage_vs_baseline", "storage pmail/baseline", "{:.3f}x"),
    ("storage_vs_raw", "storage pmail/raw", "{:.3f}x"),
    ("peak_rss_mb", "pmail peak RSS MB", "{:,.0f}"),
)


class BenchError(Exception):
    """A step of the benchmark could not run; the message says which and why."""


# --- pure helpers --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """A DESIGN.md performance target on one metric."""

    metric: str
    op: str  # ">=" or "<="
    threshold: float
    description: str

    def evaluate(self, value: float | None) -> str:
        """Return PASS or FAIL for a measured value, or n/a when it is missing."""
        if value is None:
            return "n/a"
        ok = value >= self.threshold if self.op == ">=" else value <= self.threshold
        return "PASS" if ok else "FAIL"

    def label(self) -> str:
        """Return the target as shown next to the figure, e.g. `>= 3.00x`."""
        return f"{self.op} {self.threshold:.2f}x"


TARGETS: tuple[Target, ...] = (
    Target("pmail_vs_baseline", ">=", 3.0, "ingest at least 3x the baseline"),
    Target("pmail_vs_parse", ">=", 1.0, "ingest at least as fast as parsing"),
    Target("pmail_vs_cheap_parse", ">=", 1.3, "ingest 1.3x the cheapest parse"),
    Target("storage_vs_baseline", "<=", 0.25, "storage at most 1/4 of baseline"),
    Target("memory_growth", "<=", 1.5, "peak RSS flat as the corpus grows"),
    Target("reingest_speedup", ">=", 5.0, "re-ingest at least 5x faster"),
)


def median(values: Sequence[float | None]) -> float | None:
    """Return the median of the values that were measured, or None if none were."""
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """Return numerator/denominator, or None when either is missing or it is zero."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def rate(count: int | None, seconds: float | None) -> float | None:
    """Return items per second, or None when either figure is missing."""
    return ratio(None if count is None else float(count), seconds)


def parse_summary(stderr: str) -> tuple[int, int] | None:
    """Return (added, duplicates) from pmail ingest's summary line, if present."""
    match = SUMMARY_RE.search(stderr)
    if match is None:
        return None
    return int(match[1].replace(",", "")), int(match[2].replace(",", ""))


def header_refs(raw: bytes) -> tuple[str | None, str | None]:
    """Return the (campaign, lead) UUIDs named in a message's top-level header."""
    end = min(
        (i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0),
        default=len(raw),
    )
    found: dict[str, str] = {}
    for match in HEADER_RE.finditer(raw, 0, end):
        name = match[1].decode("ascii").lower()
        with contextlib.suppress(ValueError):
            found.setdefault(name, str(uuid.UUID(match[2].decode("ascii", "replace"))))
    return found.get("x-pm-campaign-id"), found.get("x-pm-lead-id")


def format_value(fmt: str, value: float | None) -> str:
    """Format a figure, or `-` when it was not measured."""
    return "-" if value is None else fmt.format(value)


def tail(text: str, lines: int = 6) -> str:
    """Return the last non-blank lines of text (where tracebacks put the error)."""
    kept = [line.rstrip() for line in text.splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse and check the command line."""
    parser = argparse.ArgumentParser(
        description="Benchmark pmail ingest against the straightforward design."
    )
    add = parser.add_argument
    add("--messages", type=int, default=20_000, help="corpus size (default 20000)")
    add("--seed", type=int, default=1, help="corpus seed (default 1)")
    add(
        "--dsn",
        default=os.environ.get("PMAIL_BENCH_DSN") or DEFAULT_DSN,
        help="server to create scratch databases on (PMAIL_BENCH_DSN)",
    )
    add("--jobs", type=int, default=0, help="pmail ingest --jobs (0: one per CPU)")
    add("--runs", type=int, default=3, help="measured runs; the median is reported")
    add(
        "--memory-scale",
        type=int,
        default=10,
        help="also ingest a corpus this many times larger for peak RSS (0: skip)",
    )
    add(
        "--baseline-messages",
        type=int,
        default=3000,
        help="messages given to the slow baseline (default min(messages, 3000))",
    )
    add("--skip-baseline", action="store_true", help="do not run the baseline")
    add("--json", action="store_true", help="print one JSON object instead of tables")
    add(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "pmail-bench",
        help="where corpora are cached and the profile is written",
    )
    add(
        "--sql-bodies",
        choices=("on", "off"),
        default="on",
        help="the tenant's content_html/headers columns (pmail tenant set --sql-bodies)",
    )
    add("--profile", action="store_true", help="profile one --jobs 1 ingest")
    add(
        "--platform-rows",
        action="store_true",
        help="pre-create the campaigns and leads the corpus refers to (for pmail"
        " versions that do not create them on ingest)",
    )
    args = parser.parse_args(argv)
    for name in ("messages",):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    for name in ("runs", "jobs", "memory_scale", "baseline_messages"):
        if getattr(args, name) < 0:
            parser.error(f"--{name.replace('_', '-')} must not be negative")
    if args.memory_scale == 1:
        parser.error("--memory-scale must be 0 (skip) or at least 2")
    return args


# --- corpus --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Corpus:
    """A generated corpus on disk."""

    directory: Path
    paths: tuple[Path, ...]
    total_bytes: int
    counts: dict[str, int]
    reused: bool
    campaigns: tuple[str, ...] = ()
    leads: tuple[str, ...] = ()


def _generator_digest() -> str:
    return hashlib.sha256(Path(gen_corpus.__file__).read_bytes()).hexdigest()[:16]


def load_corpus(workdir: Path, *, messages: int, seed: int) -> Corpus:
    """Return the corpus for (messages, seed), generating it unless it is cached."""
    directory = workdir / f"corpus-{messages}-seed{seed}"
    # Beside the corpus, not in it: pmail would ingest it as a message.
    manifest = directory.with_suffix(".json")
    wanted = {
        "messages": messages,
        "seed": seed,
        "tenant_domain": TENANT_DOMAIN,
        "generator": _generator_digest(),
    }
    with contextlib.suppress(OSError, ValueError):
        saved = json.loads(manifest.read_text(encoding="utf-8"))
        paths = tuple(sorted(directory.rglob("*.eml")))
        if {k: saved.get(k) for k in wanted} == wanted and len(paths) == messages:
            return _with_refs(
                Corpus(directory, paths, saved["total_bytes"], saved["counts"], True)
            )
    shutil.rmtree(directory, ignore_errors=True)
    _log(f"generating {messages:,} messages (seed {seed}) in {directory}")
    made = gen_corpus.generate(
        directory, messages=messages, seed=seed, tenant_domain=TENANT_DOMAIN
    )
    saved = wanted | {"total_bytes": made.total_bytes, "counts": made.counts}
    manifest.write_text(json.dumps(saved, indent=2), encoding="utf-8")
    return _with_refs(
        Corpus(directory, made.paths, made.total_bytes, dict(made.counts), False)
    )


def _with_refs(corpus: Corpus) -> Corpus:
    campaigns: set[str] = set()
    leads: set[str] = set()
    for path in corpus.paths:
        with path.open("rb") as handle:
            campaign, lead = header_refs(handle.read(16384))
        campaigns.update([campaign] if campaign else [])
        leads.update([lead] if lead else [])
    return Corpus(
        corpus.directory,
        corpus.paths,
        corpus.total_bytes,
        corpus.counts,
        corpus.reused,
        tuple(sorted(campaigns)),
        tuple(sorted(leads)),
    )


# --- PostgreSQL and the pmail command --------------------------------------------


@contextlib.contextmanager
def scratch_database(admin_dsn: str) -> Iterator[str]:
    """Create an empty database for one run, yield its DSN, and drop it afterwards."""
    name = sql.Identifier(f"pmail_bench_{os.getpid()}")
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name)
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(drop)
        admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
    try:
        yield make_conninfo(admin_dsn, dbname=f"pmail_bench_{os.getpid()}")
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(drop)


@dataclass(frozen=True, slots=True)
class PmailRun:
    """One timed pmail subprocess."""

    returncode: int
    seconds: float
    peak_rss: int
    stderr: str

    @property
    def counts(self) -> tuple[int, int] | None:
        """Return (added, duplicates) from the summary line."""
        return parse_summary(self.stderr)


def tree_rss(proc: Any) -> int:
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for item in procs:
        with contextlib.suppress(psutil.Error):
            total += int(item.memory_info().rss)
    return total


class Pmail:
    """Runs the installed `pmail` console script against one database."""

    def __init__(self, executable: Path, workdir: Path) -> None:
        self.executable = executable
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PMAIL_")}
        # Never read the user's config file; --dsn decides the database anyway.
        self.env["PMAIL_CONFIG"] = str(workdir / "no-such-config.toml")

    def run(self, dsn: str, *args: str, prefix: Sequence[str] = ()) -> PmailRun:
        """Run `pmail --dsn DSN -q ARGS`, timing it and sampling its tree's RSS."""
        # With a prefix (python -m pyinstrument ...) pmail runs as `-m pmail_cli`.
        entry = [*prefix, "-m", "pmail_cli"] if prefix else [str(self.executable)]
        command = [*entry, "--dsn", dsn, "-q", *args]
        peak = [0]
        done = threading.Event()
        started = time.perf_counter()
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=self.env,
        )
        watched = psutil.Process(proc.pid)

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], tree_rss(watched))
                done.wait(POLL_SECONDS)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, err = proc.communicate()
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
        return PmailRun(
            proc.returncode, seconds, peak[0], err.decode("utf-8", "replace")
        )

    def check(self, dsn: str, *args: str) -> None:
        """Run a set-up command and raise BenchError if it fails."""
        result = self.run(dsn, *args)
        if result.returncode != 0:
            raise BenchError(
                f"pmail {' '.join(args)} exited {result.returncode}:\n"
                + tail(result.stderr)
            )


def prepare_database(
    pmail: Pmail,
    dsn: str,
    corpus: Corpus | None,
    *,
    rows: bool,
    sql_bodies: str = "on",
) -> None:
    """Apply the schema, add the tenant and its SDR accounts (and platform rows)."""
    pmail.check(dsn, "init-db")
    pmail.check(dsn, "tenant", "add", TENANT)
    if sql_bodies == "off":
        pmail.check(dsn, "tenant", "set", TENANT, "--sql-bodies", "off")
    for _, local, _ in gen_corpus.SDRS:
        pmail.check(dsn, "account", "add", f"{local}@{TENANT_DOMAIN}", "-t", TENANT)
    if not rows or corpus is None:
        return
    # Outbound mail names campaigns and leads in X-PM-* headers, and their columns
    # have foreign keys; pmail 0.1.0 as committed failed the first batch unless the
    # rows existed (a real database mirrors them from the platform).
    with psycopg.connect(dsn, autocommit=True) as conn:
        found = conn.execute(
            "SELECT tenant_id FROM tenants WHERE name = %s", (TENANT,)
        ).fetchone()
        if found is None:
            raise BenchError(f"tenant {TENANT!r} missing after `pmail tenant add`")
        for table, column, ids in (
            ("campaigns", "campaign_id", corpus.campaigns),
            ("leads", "lead_id", corpus.leads),
        ):
            query = sql.SQL(
                "INSERT INTO {} (tenant_id, {}) SELECT %s, unnest(%s::uuid[]) "
                "ON CONFLICT DO NOTHING"
            ).format(sql.Identifier(table), sql.Identifier(column))
            conn.execute(query, (found[0], list(ids)))


def pmail_storage(dsn: str) -> tuple[int, dict[str, int]]:
    """Return (messages stored, bytes per pmail table incl. TOAST and indexes)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        count = conn.execute("SELECT count(*) FROM email_messages").fetchone()
        sizes = conn.execute(
            "SELECT t, coalesce(pg_total_relation_size(to_regclass(t)), 0)::bigint"
            " FROM unnest(%s::text[]) AS t",
            (list(PMAIL_TABLES),),
        ).fetchall()
    return int(count[0]) if count else 0, {str(t): int(n) for t, n in sizes}


def server_version(dsn: str) -> str:
    """Return the server's `SHOW server_version`."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


# --- one measured run ----------------------------------------------------------


@dataclass(slots=True)
class RunRecord:
    """What one run measured; derived figures come from :func:`run_metrics`."""

    run: int
    messages: int
    raw_bytes: int
    parse_seconds: float | None = None
    cheap_parse_seconds: float | None = None  # compat32 message_from_bytes only
    pmail_seconds: float | None = None
    pmail_peak_rss: int | None = None
    pmail_added: int | None = None
    pmail_stored: int | None = None
    pmail_bytes: int | None = None
    pmail_table_bytes: dict[str, int] = field(default_factory=dict)
    pmail_summary: str | None = None  # pmail's own last stderr line
    reingest_seconds: float | None = None
    reingest_duplicates: int | None = None
    baseline_messages: int | None = None
    baseline_seconds: float | None = None
    baseline_bytes: int | None = None
    errors: list[str] = field(default_factory=list)


def run_metrics(record: RunRecord) -> dict[str, float | None]:
    """Derive the reported figures (rates, ratios, bytes per message) of one run."""
    pmail_rate = rate(record.messages, record.pmail_seconds)
    baseline_rate = rate(record.baseline_messages, record.baseline_seconds)
    parse_rate = rate(record.messages, record.parse_seconds)
    cheap_rate = rate(record.messages, record.cheap_parse_seconds)
    pmail_bpm = ratio(record.pmail_bytes, record.pmail_stored)
    baseline_bpm = ratio(record.baseline_bytes, record.baseline_messages)
    raw_bpm = ratio(record.raw_bytes, record.messages)
    peak = record.pmail_peak_rss
    return {
        "pmail_rate": pmail_rate,
        "baseline_rate": baseline_rate,
        "parse_rate": parse_rate,
        "pmail_vs_baseline": ratio(pmail_rate, baseline_rate),
        "pmail_vs_parse": ratio(pmail_rate, parse_rate),
        "cheap_parse_rate": cheap_rate,
        "pmail_vs_cheap_parse": ratio(pmail_rate, cheap_rate),
        "pmail_seconds": record.pmail_seconds,
        "reingest_seconds": record.reingest_seconds,
        "reingest_speedup": ratio(record.pmail_seconds, record.reingest_seconds),
        "pmail_bytes_per_message": pmail_bpm,
        "baseline_bytes_per_message": baseline_bpm,
        "raw_bytes_per_message": raw_bpm,
        "storage_vs_baseline": ratio(pmail_bpm, baseline_bpm),
        "storage_vs_raw": ratio(pmail_bpm, raw_bpm),
        "peak_rss_mb": None if peak is None else peak / 2**20,
    }


def _store_sizes(record: RunRecord, dsn: str) -> None:
    record.pmail_stored, record.pmail_table_bytes = pmail_storage(dsn)
    record.pmail_bytes = sum(record.pmail_table_bytes.values())


def _ingest_args(corpus: Corpus, jobs: int) -> list[str]:
    return ["ingest", str(corpus.directory), "--tenant", TENANT, "--jobs", str(jobs)]


def measure_run(
    number: int, corpus: Corpus, pmail: Pmail, args: argparse.Namespace
) -> RunRecord:
    """Run parse-only, pmail ingest, re-ingest and the baseline once each."""
    record = RunRecord(number, len(corpus.paths), corpus.total_bytes)
    started = time.perf_counter()
    baseline.parse_only(corpus.paths)
    record.parse_seconds = time.perf_counter() - started
    _log(f"run {number}: parse-only {record.parse_seconds:.1f}s")
    started = time.perf_counter()
    baseline.parse_cheap(corpus.paths)
    record.cheap_parse_seconds = time.perf_counter() - started
    _log(f"run {number}: cheap parse {record.cheap_parse_seconds:.1f}s")
    with scratch_database(args.dsn) as dsn:
        prepare_database(
            pmail, dsn, corpus, rows=args.platform_rows, sql_bodies=args.sql_bodies
        )
        first = pmail.run(dsn, *_ingest_args(corpus, args.jobs))
        if _ok(record, "pmail ingest", first):
            record.pmail_seconds = first.seconds
            record.pmail_peak_rss = first.peak_rss
            record.pmail_added = (first.counts or (None, None))[0]
            record.pmail_summary = tail(first.stderr, 1) or None
            _store_sizes(record, dsn)
            _log(f"run {number}: pmail ingest {first.seconds:.1f}s")
            again = pmail.run(dsn, *_ingest_args(corpus, args.jobs))
            if _ok(record, "pmail re-ingest", again):
                record.reingest_seconds = again.seconds
                record.reingest_duplicates = (again.counts or (None, None))[1]
                _log(f"run {number}: re-ingest {again.seconds:.1f}s")
        if not args.skip_baseline:
            _baseline(
                record, dsn, corpus, min(args.baseline_messages, len(corpus.paths))
            )
    return record


def _ok(record: RunRecord, what: str, result: PmailRun) -> bool:
    if result.returncode == 0:
        return True
    message = (
        f"run {record.run}: {what} exited {result.returncode}:\n{tail(result.stderr)}"
    )
    record.errors.append(message)
    _log(message)
    return False


def _baseline(record: RunRecord, dsn: str, corpus: Corpus, count: int) -> None:
    if count == 0:
        return
    with psycopg.connect(dsn, autocommit=True) as conn:
        baseline.create_schema(conn)
        started = time.perf_counter()
        stored = baseline.ingest_files(
            conn,
            corpus.paths[:count],
            tenant_id=BASELINE_TENANT,
            tenant_domain=TENANT_DOMAIN,
        )
        record.baseline_seconds = time.perf_counter() - started
        record.baseline_messages = stored
        record.baseline_bytes = baseline.table_bytes(conn)
    _log(
        f"run {record.run}: baseline {stored:,} messages {record.baseline_seconds:.1f}s"
    )


def measure_memory(corpus: Corpus, pmail: Pmail, args: argparse.Namespace) -> RunRecord:
    """Ingest the larger corpus once and record its time and peak RSS."""
    record = RunRecord(0, len(corpus.paths), corpus.total_bytes)
    with scratch_database(args.dsn) as dsn:
        prepare_database(
            pmail, dsn, corpus, rows=args.platform_rows, sql_bodies=args.sql_bodies
        )
        result = pmail.run(dsn, *_ingest_args(corpus, args.jobs))
        if _ok(record, f"pmail ingest ({args.memory_scale}x corpus)", result):
            record.pmail_seconds = result.seconds
            record.pmail_peak_rss = result.peak_rss
            _store_sizes(record, dsn)
    _log(f"memory run: {record.messages:,} messages {result.seconds:.1f}s")
    return record


# --- profile -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProfileLine:
    """One function's share of a profile."""

    function: str
    location: str
    total_seconds: float
    self_seconds: float
    total_percent: float
    self_percent: float


def flatten_profile(root: Any) -> list[ProfileLine]:
    """Sum a pyinstrument frame tree per function; recursion is counted once."""
    totals: dict[tuple[str, str], float] = defaultdict(float)
    selfs: dict[tuple[str, str], float] = defaultdict(float)
    stack: list[tuple[Any, frozenset[tuple[str, str]]]] = [(root, frozenset())]
    while stack:
        frame, active = stack.pop()
        if frame.is_synthetic:
            continue  # "[self]" and the like: already in the parent's self time
        key = (str(frame.function), f"{frame.file_path_short}:{frame.line_no}")
        if key not in active:
            totals[key] += frame.time
        selfs[key] += frame.total_self_time
        stack.extend((child, active | {key}) for child in frame.children)
    whole = root.time or 1.0
    return [
        ProfileLine(
            key[0],
            key[1],
            totals[key],
            selfs[key],
            100 * totals[key] / whole,
            100 * selfs[key] / whole,
        )
        for key in totals
    ]


def run_profile(
    corpus: Corpus, pmail: Pmail, args: argparse.Namespace
) -> dict[str, Any]:
    """Profile one `pmail ingest --jobs 1` under pyinstrument; write profile.txt."""
    python = pmail.executable.parent / "python"
    session_file = args.workdir / "profile.pyisession"
    prefix = [str(python), "-m", "pyinstrument", "-r", "pyisession"]
    prefix += ["-o", str(session_file)]
    with scratch_database(args.dsn) as dsn:
        prepare_database(
            pmail, dsn, corpus, rows=args.platform_rows, sql_bodies=args.sql_bodies
        )
        result = pmail.run(dsn, *_ingest_args(corpus, 1), prefix=prefix)
    if result.returncode != 0 or not session_file.exists():
        raise BenchError(
            f"profiled ingest exited {result.returncode} (is pyinstrument installed"
            f" in {python}?):\n{tail(result.stderr)}"
        )
    from pyinstrument.renderers import ConsoleRenderer
    from pyinstrument.session import Session

    session = Session.load(session_file)
    root = session.root_frame()
    lines = flatten_profile(root) if root is not None else []
    by_total = sorted(lines, key=lambda p: -p.total_seconds)[:25]
    by_self = sorted(lines, key=lambda p: -p.self_seconds)[:25]
    tree = ConsoleRenderer(unicode=False, color=False, time="percent_of_total")
    text = "\n\n".join(
        [
            f"pmail ingest --jobs 1, {len(corpus.paths):,} messages,"
            f" {result.seconds:.1f}s wall under the profiler",
            "Top functions by cumulative time\n" + _profile_table(by_total),
            "Top functions by own (self) time\n" + _profile_table(by_self),
            "Call tree (pyinstrument, % of total)\n" + tree.render(session),
        ]
    )
    (args.workdir / "profile.txt").write_text(text, encoding="utf-8")
    print(
        text[: text.find("Call tree")] + _head(tree.render(session), 60),
        file=sys.stderr,
    )
    return {
        "seconds": result.seconds,
        "file": str(args.workdir / "profile.txt"),
        "top_cumulative": [asdict(p) for p in by_total[:15]],
        "top_self": [asdict(p) for p in by_self[:15]],
    }


def _profile_table(lines: Sequence[ProfileLine]) -> str:
    rows = [
        (f"{p.total_percent:.1f}", f"{p.self_percent:.1f}", p.function, p.location)
        for p in lines
    ]
    return tabulate(rows, headers=("cum %", "self %", "function", "where"))


def _head(text: str, lines: int) -> str:
    return "\n".join(text.splitlines()[:lines])


# --- report --------------------------------------------------------------------


def summarise(
    runs: Sequence[RunRecord], memory: RunRecord | None, scale: int
) -> dict[str, Any]:
    """Return per-run figures, their medians and the target verdicts."""
    per_run = [run_metrics(r) for r in runs]
    medians = {key: median([m[key] for m in per_run]) for key, _, _ in METRICS}
    scaled_peak = None if memory is None else memory.pmail_peak_rss
    scaled_mb = None if scaled_peak is None else scaled_peak / 2**20
    medians["memory_growth"] = ratio(scaled_mb, medians["peak_rss_mb"])
    verdicts = [
        {
            "metric": t.metric,
            "description": t.description,
            "target": t.label(),
            "value": medians.get(t.metric),
            "result": t.evaluate(medians.get(t.metric)),
        }
        for t in TARGETS
    ]
    return {
        "per_run": per_run,
        "median": medians,
        "memory": {
            "scale": scale,
            "peak_rss_mb": scaled_mb,
            "rate": None if memory is None else run_metrics(memory)["pmail_rate"],
            "record": memory,
        },
        "targets": verdicts,
    }


def render_tables(report: Mapping[str, Any]) -> str:
    """Render the report as plain text tables."""
    summary = report["summary"]
    targets = {t.metric: t for t in TARGETS}
    runs = summary["per_run"]
    rows: list[list[str]] = []
    for key, label, fmt in METRICS:
        target = targets.get(key)
        value = summary["median"][key]
        rows.append(
            [label]
            + [format_value(fmt, m[key]) for m in runs]
            + [format_value(fmt, value)]
            + ([target.label(), target.evaluate(value)] if target else ["", ""])
        )
    memory = summary["memory"]
    if memory["scale"]:
        messages = report["config"]["messages"] * memory["scale"]
        growth = targets["memory_growth"]
        value = summary["median"]["memory_growth"]
        rows.append(
            [f"pmail ingest msg/s at {memory['scale']}x ({messages:,} msgs)"]
            + [""] * len(runs)
            + [format_value("{:,.0f}", memory["rate"]), "", ""]
        )
        rows.append(
            [f"peak RSS MB at {memory['scale']}x"]
            + [""] * len(runs)
            + [format_value("{:,.0f}", memory["peak_rss_mb"]), "", ""]
        )
        rows.append(
            [f"peak RSS {memory['scale']}x / 1x"]
            + [""] * len(runs)
            + [format_value("{:.2f}x", value), growth.label(), growth.evaluate(value)]
        )
    headers = ["figure", *[f"run {i + 1}" for i in range(len(runs))]]
    headers += ["median", "target", "result"]
    facts = [[key, value] for key, value in _facts(report).items()]
    text = tabulate(facts, tablefmt="plain") + "\n\n" + tabulate(rows, headers=headers)
    for note in report["notes"] + report["errors"]:
        text += "\n\n" + note
    return text


def _facts(report: Mapping[str, Any]) -> dict[str, str]:
    corpus = report["corpus"]
    machine = report["machine"]
    config = report["config"]
    return {
        "command": report["command"],
        "date": report["date"],
        "machine": f"{machine['cpus']} CPUs, {machine['platform']}",
        "load average": "start {} / end {} (1, 5, 15 min; other work skews figures)".format(
            *(
                "{:.2f} {:.2f} {:.2f}".format(*machine[k])
                for k in ("load_average_start", "load_average_end")
            )
        ),
        "python": machine["python"],
        "postgresql": machine["postgresql"],
        "pmail": f"{machine['pmail']} ({machine['pmail_executable']})",
        "corpus": f"{config['messages']:,} messages, {corpus['megabytes']:.1f} MB,"
        f" seed {config['seed']}, {corpus['directory']}",
        "pmail jobs": str(config["jobs"] or f"0 (one per CPU: {machine['cpus']})"),
        "baseline messages": "skipped"
        if config["skip_baseline"]
        else f"{min(config['baseline_messages'], config['messages']):,} (first files)",
        "elapsed": f"{report['elapsed_seconds']:.0f}s",
    }


# --- main ----------------------------------------------------------------------


_STARTED = time.perf_counter()


def _log(message: str) -> None:
    print(f"[{time.perf_counter() - _STARTED:7.1f}s] {message}", file=sys.stderr)


def _find_pmail() -> Path:
    beside = Path(sys.executable).parent / "pmail"
    found = beside if beside.exists() else shutil.which("pmail")
    if found is None:
        raise BenchError("cannot find the pmail command; install the project first")
    return Path(found)


def _pmail_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pmail")
    except PackageNotFoundError:
        return "?"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the report; return the exit status."""
    args = parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    try:
        report = _benchmark(args)
    except (BenchError, psycopg.Error) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report, indent=2, default=_json_default))
    else:
        print(render_tables(report))
    return 0


def _benchmark(args: argparse.Namespace) -> dict[str, Any]:
    load_start = os.getloadavg()
    pmail = Pmail(_find_pmail(), args.workdir)
    version = server_version(args.dsn)
    corpus = load_corpus(args.workdir, messages=args.messages, seed=args.seed)
    notes = (
        []
        if not args.platform_rows
        else [
            f"setup (untimed): {len(corpus.campaigns)} campaigns and {len(corpus.leads):,}"
            " leads named in X-PM-* headers pre-created in the scratch database."
        ]
    )
    runs = [measure_run(i + 1, corpus, pmail, args) for i in range(args.runs)]
    memory = None
    if args.memory_scale:
        big = load_corpus(
            args.workdir, messages=args.messages * args.memory_scale, seed=args.seed
        )
        memory = measure_memory(big, pmail, args)
    profile = run_profile(corpus, pmail, args) if args.profile else None
    errors = [e for r in [*runs, *([memory] if memory else [])] for e in r.errors]
    for r in runs:
        if r.reingest_duplicates not in (None, r.messages):
            notes.append(
                f"run {r.run}: re-ingest skipped {r.reingest_duplicates:,}"
                f" duplicates of {r.messages:,} messages"
            )
    notes += _storage_notes(runs)
    return {
        "command": shlex.join(sys.orig_argv),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "postgresql": version,
            "pmail": _pmail_version(),
            "pmail_executable": str(pmail.executable),
            "load_average_start": load_start,
            "load_average_end": os.getloadavg(),
        },
        "config": {
            k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()
        }
        | {"dsn": _safe_dsn(args.dsn)},
        "corpus": {
            "directory": str(corpus.directory),
            "messages": len(corpus.paths),
            "megabytes": corpus.total_bytes / 1e6,
            "counts": corpus.counts,
            "reused": corpus.reused,
        },
        "runs": [asdict(r) for r in runs],
        "summary": summarise(runs, memory, args.memory_scale),
        "profile": profile,
        "notes": notes,
        "errors": errors,
        "elapsed_seconds": time.perf_counter() - _STARTED,
    }


def _storage_notes(runs: Sequence[RunRecord]) -> list[str]:
    done = [r for r in runs if r.pmail_stored]
    if not done:
        return []
    first = done[0]
    parts = ", ".join(
        f"{table} {size / (first.pmail_stored or 1):,.0f}"
        for table, size in first.pmail_table_bytes.items()
    )
    return [
        f"pmail bytes/msg by table (run {first.run}, TOAST and indexes included):"
        f" {parts}.",
        f"pmail's own summary (run {first.run}): {first.pmail_summary}",
    ]


def _safe_dsn(dsn: str) -> str:
    from psycopg.conninfo import conninfo_to_dict

    parts = conninfo_to_dict(dsn)
    parts.pop("password", None)
    return make_conninfo(**{k: str(v) for k, v in parts.items()})


def _json_default(value: object) -> object:
    if isinstance(value, RunRecord):
        return asdict(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


if __name__ == "__main__":
    sys.exit(main())
