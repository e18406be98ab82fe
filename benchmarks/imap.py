"""IMAP benchmark: `pmail import-imap` against mbsync, and delivery-to-row latency.

A private Dovecot (tests/support/dovecot.py) gets one login per corpus: one whose
INBOX holds the seeded cold-email corpus (benchmarks/gen_corpus.py, `--messages`),
and, with `--from DIR` (several allowed), one whose INBOX holds every message found
under those directories (files, mbox files and Maildirs, read as `pmail ingest`
reads them: real, varied mail). Each measured run then copies each INBOX twice,
side by side: `pmail import-imap` into a fresh scratch database, and `mbsync` into
a fresh Maildir. A plain imaplib loop that only fetches the same bodies shows what
the transfer alone costs a Python client. Last, `pmail import-imap --watch` runs on
its own scratch database while single messages are appended to the generated
INBOX, and the time from the server's APPEND OK to the row being visible in
`email_messages` is sampled.

    python benchmarks/imap.py --messages 10000 --runs 3
    python benchmarks/imap.py --messages 5000 --from ../shared/corpus --runs 3

See benchmarks/IMAP.md for what each figure means and the latest results.
"""

from __future__ import annotations

import argparse
import hashlib
import imaplib
import json
import math
import os
import platform
import random
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from tabulate import tabulate

ROOT = Path(__file__).resolve().parents[1]
# Run as a script: make `benchmarks` and `tests` importable.
if __package__ in (None, ""):
    sys.path.insert(0, str(ROOT))

from benchmarks import gen_corpus  # noqa: E402
from tests.support.dovecot import (  # noqa: E402
    DovecotError,
    DovecotServer,
    ImapAccount,
    close_client,
)

DEFAULT_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
FETCH_BATCH = 50  # what pmail asks for per UID FETCH, for the fetch-only reference
POLL_SECONDS = 0.005
CATCH_UP_TIMEOUT = 1800.0
SAMPLE_TIMEOUT = 90.0  # longer than pmail's 30 s poll interval, so a miss shows up
WATCH_FOR = 600  # seconds; the watcher stops by itself if the benchmark dies
LATENCY_TARGET = 1.0
GENERATED = "generated"
_UID = re.compile(rb"UID (\d+)")
_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


class BenchError(Exception):
    """A step of the benchmark could not run; the message says which and why."""


# --- pure helpers --------------------------------------------------------------


def median(values: Sequence[float]) -> float | None:
    """Return the median, or None for no values."""
    return statistics.median(values) if values else None


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Return the nearest-rank percentile (a value that was measured), or None."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def rate(count: int, seconds: float | None) -> float | None:
    """Return items per second, or None when the time is missing or zero."""
    return count / seconds if seconds else None


def version_tuple(text: str) -> tuple[int, int, int]:
    """Return the first dotted version in text, e.g. `isync 1.4.4` -> (1, 4, 4)."""
    found = _VERSION.search(text)
    if found is None:
        raise ValueError(f"no version number in {text!r}")
    return int(found[1]), int(found[2]), int(found[3] or 0)


def _quote_rc(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def mbsyncrc(
    *, version: tuple[int, int, int], account: ImapAccount, maildir: Path
) -> str:
    """Return an mbsync config that pulls INBOX over plain IMAP into `maildir`.

    isync 1.5 renamed SSLType to TLSType; 1.4 renamed Master/Slave to Far/Near.
    Plain-text LOGIN must be allowed explicitly, since the port has no TLS.
    """
    tls = "TLSType" if version >= (1, 5, 0) else "SSLType"
    far, near = ("Far", "Near") if version >= (1, 4, 0) else ("Master", "Slave")
    return "\n".join(
        [
            "IMAPAccount bench",
            f"Host {account.host}",
            f"Port {account.port}",
            f"User {_quote_rc(account.login)}",
            f"Pass {_quote_rc(account.password)}",
            f"{tls} None",
            "AuthMechs LOGIN",
            "",
            "IMAPStore bench-far",
            "Account bench",
            "",
            "MaildirStore bench-near",
            f"Path {_quote_rc(str(maildir) + '/')}",
            f"Inbox {_quote_rc(str(maildir / 'INBOX'))}",
            "",
            "Channel bench",
            f"{far} :bench-far:",
            f"{near} :bench-near:",
            "Patterns INBOX",
            f"Create {near}",
            "Sync Pull",
            "SyncState *",
            "",
        ]
    )


def latency_message(index: int, *, to: str, when: datetime) -> tuple[str, bytes]:
    """Return (Message-ID, CRLF bytes) of a unique, reply-like inbound message."""
    message_id = f"<imapbench-{uuid.uuid4().hex}-{index}@prospect.test>"
    lines = [
        f"Return-Path: <lead{index}@prospect.test>",
        f"From: Lead {index} <lead{index}@prospect.test>",
        f"To: {to}",
        f"Subject: Re: quick question about your pipeline ({index})",
        f"Date: {format_datetime(when)}",
        f"Message-ID: {message_id}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 7bit",
        "",
        "Hi,",
        "",
        "Thanks for reaching out. Happy to take a look next week; can you send",
        "over a short deck and a couple of times that work for you?",
        "",
        "Best,",
        f"Lead {index}",
        "",
    ]
    return message_id, "\r\n".join(lines).encode("ascii")


def verdict(ok: bool | None) -> str:
    """PASS, FAIL, or n/a when the figure is missing."""
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def safe_dsn(dsn: str) -> str:
    """The DSN without its password, for the report."""
    parts = conninfo_to_dict(dsn)
    parts.pop("password", None)
    return make_conninfo("", **parts)


def tail(text: str, lines: int = 8) -> str:
    """Return the last non-blank lines of text (where tracebacks put the error)."""
    kept = [line.rstrip() for line in text.splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


# --- results -----------------------------------------------------------------------


@dataclass(slots=True)
class ImportRun:
    """One timed copy of the mailbox by one tool."""

    tool: str
    run: int
    seconds: float
    messages: int
    load: float = field(default_factory=lambda: os.getloadavg()[0])  # 1-min, at end
    corpus: str = GENERATED


@dataclass(slots=True)
class Mailbox:
    """One corpus loaded into its own login's INBOX.

    `served` is what the server holds (mbsync and the fetch-only loop copy every
    one); `distinct` is how many different bodies it serves, which is how many rows
    pmail stores (a message and its byte-identical copy are one row).
    """

    name: str
    account: ImapAccount
    facts: dict[str, Any]
    served: int
    distinct: int


@dataclass(slots=True)
class Report:
    """Everything one benchmark invocation measured."""

    command: str
    date: str
    machine: dict[str, Any]
    corpora: dict[str, dict[str, Any]]  # name -> facts (messages, megabytes ...)
    runs: list[ImportRun] = field(default_factory=list)
    latency: list[float] = field(default_factory=list)
    append_seconds: list[float] = field(default_factory=list)
    latency_misses: int = 0  # deliveries not stored within SAMPLE_TIMEOUT
    latency_error: str | None = None
    watch_catch_up_seconds: float | None = None
    total_seconds: float | None = None

    def seconds(self, tool: str, corpus: str = GENERATED) -> float | None:
        """Median wall-clock time of a tool's runs on one corpus."""
        return median(
            [r.seconds for r in self.runs if r.tool == tool and r.corpus == corpus]
        )

    def import_summary(self, corpus: str) -> dict[str, Any]:
        """The import figures and verdict of one corpus."""
        n = int(self.corpora[corpus]["messages"])
        pm, mb, fo = (
            self.seconds(t, corpus) for t in ("pmail", "mbsync", "fetch-only")
        )
        speed = pm and mb and mb / pm  # throughput pmail/mbsync
        return {
            "pmail_seconds": pm,
            "mbsync_seconds": mb,
            "fetch_only_seconds": fo,
            "pmail_msgs_per_s": rate(n, pm),
            "mbsync_msgs_per_s": rate(n, mb),
            "fetch_only_msgs_per_s": rate(n, fo),
            "throughput_ratio_pmail_mbsync": speed,
            "time_ratio_pmail_mbsync": pm and mb and pm / mb,
            "import_verdict": verdict(None if speed is None else speed >= 1.0),
        }

    def summary(self) -> dict[str, Any]:
        """The headline figures and verdicts: per corpus, then latency."""
        lat_med, lat_p95 = median(self.latency), percentile(self.latency, 95)
        return {
            "corpora": {name: self.import_summary(name) for name in self.corpora},
            "latency_median_s": lat_med,
            "latency_p95_s": lat_p95,
            "latency_max_s": max(self.latency, default=None),
            "latency_misses": self.latency_misses,
            "latency_verdict": verdict(
                None
                if lat_p95 is None
                else lat_p95 < LATENCY_TARGET and not self.latency_misses
            ),
        }


# --- environment -----------------------------------------------------------------


def pmail_executable() -> str:
    """The `pmail` next to this interpreter (the venv), else the one on PATH."""
    beside = Path(sys.executable).with_name("pmail")
    found = str(beside) if beside.exists() else shutil.which("pmail")
    if found is None:
        raise BenchError("`pmail` not found; install the project into this venv")
    return found


def mbsync_version() -> str:
    """`mbsync --version`, e.g. `isync 1.4.4`."""
    if shutil.which("mbsync") is None:
        raise BenchError(
            "`mbsync` not found; install it with `apt-get install -y isync`"
        )
    done = subprocess.run(
        ["mbsync", "--version"], capture_output=True, text=True, check=False
    )
    return (done.stdout or done.stderr).strip()


def machine_facts(dsn: str, dovecot: DovecotServer, mbsync: str) -> dict[str, Any]:
    """CPUs, OS and the versions of every server and tool involved."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    model = ""
    with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
        model = next(
            (ln.split(":", 1)[1].strip() for ln in info if "model name" in ln), ""
        )
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "postgresql": row[0] if row else "?",
        "dovecot": dovecot.version,
        "mbsync": mbsync,
        "pmail": pmail_executable(),
    }


@contextmanager
def scratch_db(admin_dsn: str, name: str) -> Iterator[str]:
    """Create an empty database, yield its DSN, and drop it afterwards."""
    ident = sql.Identifier(name)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))
    try:
        yield make_conninfo(admin_dsn, dbname=name)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident)
            )


def _pmail_env(work: Path, account: ImapAccount) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PMAIL_")}
    env["PMAIL_IMAP_PASSWORD"] = account.password
    env["PMAIL_CONFIG"] = str(work / "no-config.toml")  # never a developer's config
    return env


def init_db(dsn: str, env: Mapping[str, str]) -> None:
    """Apply pmail's migrations to a scratch database."""
    done = subprocess.run(
        [pmail_executable(), "--dsn", dsn, "-q", "init-db"],
        capture_output=True,
        text=True,
        env=dict(env),
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"pmail init-db failed:\n{tail(done.stderr)}")


def import_command(dsn: str, account: ImapAccount, *extra: str) -> list[str]:
    """The `pmail import-imap` command line for the benchmark account."""
    return [
        pmail_executable(), "--dsn", dsn, "-q", "import-imap",
        "--host", account.host, "--port", str(account.port),
        "--security", "none", "--user", account.login, *extra,
    ]  # fmt: skip


def count_rows(dsn: str, table: str) -> int:
    """Rows in a pmail table, all tenants."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET pmail.all_tenants = 'on'")
        row = conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        ).fetchone()
    return int(row[0]) if row else 0


# --- mailbox ---------------------------------------------------------------------


def load_mailbox(
    dovecot: DovecotServer, work: Path, *, messages: int, seed: int
) -> Mailbox:
    """Create a login whose INBOX holds the generated corpus; describe the corpus."""
    started = time.perf_counter()
    corpus = gen_corpus.generate(work / "corpus", messages=messages, seed=seed)
    generated = time.perf_counter() - started
    account = dovecot.add_user()
    started = time.perf_counter()
    dovecot.append_many(
        account.login, "INBOX", (path.read_bytes() for path in corpus.paths)
    )
    appended = time.perf_counter() - started
    served = dovecot.status(account.login, "INBOX")["MESSAGES"]
    if served != messages:
        raise BenchError(f"INBOX holds {served} messages, expected {messages}")
    shutil.rmtree(work / "corpus", ignore_errors=True)
    facts = {
        "messages": messages,
        "seed": seed,
        "megabytes": corpus.total_bytes / 1e6,
        "kinds": corpus.counts,
        "with_attachments": corpus.with_attachments,
        "generate_seconds": generated,
        "append_seconds": appended,
    }
    distinct = distinct_bodies(account)
    facts["distinct"] = distinct
    return Mailbox(GENERATED, account, facts, served, distinct)


def messages_under(dirs: Sequence[str]) -> Iterator[bytes]:
    """Every message under the directories, as `pmail ingest` finds them."""
    from pmail_cli.sources import WorkItem
    from pmail_cli.sources.files import read_paths

    for event in read_paths(list(dirs)):
        if isinstance(event, WorkItem) and event.raw:
            yield bytes(event.raw)


def load_mailbox_from(dovecot: DovecotServer, dirs: Sequence[str]) -> Mailbox:
    """Create a login whose INBOX holds every message found under `dirs`.

    Messages the server refuses to APPEND are counted and left out.
    """
    account = dovecot.add_user()
    started = time.perf_counter()
    found = refused = size = 0
    with dovecot.session(account.login) as client:
        for raw in messages_under(dirs):
            found += 1
            try:
                dovecot.append_raw(client, "INBOX", raw)
            except DovecotError:
                refused += 1
                continue
            size += len(raw)
    appended = time.perf_counter() - started
    served = dovecot.status(account.login, "INBOX")["MESSAGES"]
    if served == 0:
        raise BenchError(f"no message found under {', '.join(dirs)}")
    facts = {
        "messages": served,
        "dirs": list(dirs),
        "found": found,
        "refused_by_server": refused,
        "megabytes": size / 1e6,
        "append_seconds": appended,
    }
    return Mailbox(
        "from " + " ".join(dirs), account, facts, served, distinct_bodies(account)
    )


# --- the three full copies ------------------------------------------------------


def time_pmail(admin_dsn: str, work: Path, box: Mailbox, *, run: int) -> ImportRun:
    """Time one `pmail import-imap` of INBOX into a fresh database."""
    account, expected = box.account, box.distinct
    env = _pmail_env(work, account)
    with scratch_db(admin_dsn, f"pmail_imapbench_{os.getpid()}_{run}") as dsn:
        init_db(dsn, env)
        started = time.perf_counter()
        done = subprocess.run(
            import_command(dsn, account),
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise BenchError(f"pmail import-imap failed:\n{tail(done.stderr)}")
        stored = count_rows(dsn, "email_messages")
    if stored != expected:
        raise BenchError(f"pmail stored {stored} messages, expected {expected}")
    return ImportRun("pmail", run, seconds, box.served, corpus=box.name)


def time_mbsync(work: Path, box: Mailbox, *, run: int, version: str) -> ImportRun:
    """Time one `mbsync` pull of INBOX into a fresh Maildir."""
    account, expected = box.account, box.served
    target = work / f"mbsync-{run}"
    shutil.rmtree(target, ignore_errors=True)
    (target / "mail").mkdir(parents=True)  # mbsync creates folders, not the store
    rc = work / f"mbsyncrc-{run}"
    rc.write_text(
        mbsyncrc(
            version=version_tuple(version), account=account, maildir=target / "mail"
        )
    )
    rc.chmod(0o600)
    started = time.perf_counter()
    done = subprocess.run(
        ["mbsync", "-c", str(rc), "-q", "-a"],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise BenchError(f"mbsync failed:\n{tail(done.stderr + done.stdout)}")
    inbox = target / "mail" / "INBOX"
    stored = sum(1 for sub in ("cur", "new") for _ in (inbox / sub).iterdir())
    shutil.rmtree(target, ignore_errors=True)
    if stored != expected:
        # mbsync skips what it cannot parse ("message N from far side has
        # incomplete header; skipping", e.g. CR-only line ends): count, don't fail.
        skipped = expected - stored
        if stored == 0 or skipped < 0:
            raise BenchError(f"mbsync stored {stored} messages, expected {expected}")
        box.facts["mbsync_skipped"] = skipped
    return ImportRun("mbsync", run, seconds, stored, corpus=box.name)


def _uid_fetch(client: imaplib.IMAP4, uid_set: str, items: str) -> list[Any]:
    typ, data = client.uid("FETCH", uid_set, items)
    if typ != "OK":
        raise BenchError(f"fetch-only: UID FETCH failed: {data!r}")
    return list(data)


def _each_body(account: ImapAccount) -> Iterator[bytes]:
    """Every body of INBOX, fetched with imaplib in pmail's batch size."""
    client = imaplib.IMAP4(account.host, account.port, timeout=60)
    try:
        client.login(account.login, account.password)
        client.select("INBOX", readonly=True)
        listed = _uid_fetch(client, "1:*", "(UID)")
        uids = [
            int(m[1]) for d in listed if isinstance(d, bytes) and (m := _UID.search(d))
        ]
        for start in range(0, len(uids), FETCH_BATCH):
            chunk = ",".join(map(str, uids[start : start + FETCH_BATCH]))
            for item in _uid_fetch(client, chunk, "(UID BODY.PEEK[])"):
                if isinstance(item, tuple):
                    yield item[1]
    finally:
        close_client(client)


def distinct_bodies(account: ImapAccount) -> int:
    """How many different bodies INBOX serves (pmail stores one row for each)."""
    return len({hashlib.sha256(body).digest() for body in _each_body(account)})


def time_fetch_only(box: Mailbox, *, run: int) -> ImportRun:
    """Time fetching every body with imaplib in pmail's batch size, storing nothing."""
    started = time.perf_counter()
    got = sum(1 for _ in _each_body(box.account))
    seconds = time.perf_counter() - started
    if got != box.served:
        raise BenchError(f"fetch-only got {got} messages, expected {box.served}")
    return ImportRun("fetch-only", run, seconds, got, corpus=box.name)


# --- latency under --watch -------------------------------------------------------


def _scalar(
    conn: psycopg.Connection[Any], query: sql.Composable | str, *args: Any
) -> Any:
    row = conn.execute(query, args or None).fetchone()  # type: ignore[arg-type]
    return None if row is None else row[0]


def wait_caught_up(
    conn: psycopg.Connection[Any], proc: subprocess.Popen[bytes], *, last_uid: int
) -> float:
    """Wait until the watcher committed the folder up to `last_uid`; return seconds."""
    started = time.perf_counter()
    query = "SELECT coalesce(max(last_uid), 0) FROM imap_folders"
    while time.perf_counter() - started < CATCH_UP_TIMEOUT:
        if proc.poll() is not None:
            raise BenchError(
                f"pmail --watch exited early with status {proc.returncode}"
            )
        if _scalar(conn, query) >= last_uid:
            return time.perf_counter() - started
        time.sleep(0.1)
    raise BenchError("pmail --watch did not catch up in time")


def sample_latency(
    dovecot: DovecotServer,
    account: ImapAccount,
    conn: psycopg.Connection[Any],
    *,
    index: int,
    tenant_id: Any,
) -> tuple[float, float | None]:
    """Append one message; return (APPEND seconds, APPEND OK -> row visible seconds).

    The second figure is None when the row did not appear within SAMPLE_TIMEOUT.
    """
    message_id, raw = latency_message(index, to=account.login, when=datetime.now(UTC))
    # md5(message_id) with the tenant matches pmail's index, so each poll is cheap.
    query = (
        "SELECT 1 FROM email_messages WHERE tenant_id = %s"
        " AND md5(message_id) = md5(%s) AND message_id = %s"
    )
    started = time.perf_counter()
    dovecot.append(account.login, "INBOX", raw)
    delivered = time.perf_counter()
    while time.perf_counter() - delivered < SAMPLE_TIMEOUT:
        if conn.execute(query, (tenant_id, message_id, message_id)).fetchone():
            return delivered - started, time.perf_counter() - delivered
        time.sleep(POLL_SECONDS)
    return delivered - started, None


def measure_latency(
    admin_dsn: str,
    work: Path,
    dovecot: DovecotServer,
    account: ImapAccount,
    *,
    samples: int,
    report: Report,
) -> None:
    """Run `import-imap --watch`, let it catch up, then time single deliveries."""
    env = _pmail_env(work, account)
    gaps = random.Random(f"imapbench/{samples}")  # arrivals at varied moments
    last_uid = dovecot.status(account.login, "INBOX")["UIDNEXT"] - 1
    watch = ("--watch", "--watch-for", str(WATCH_FOR))
    with scratch_db(admin_dsn, f"pmail_imapbench_{os.getpid()}_watch") as dsn:
        init_db(dsn, env)
        log = work / "watch.log"
        with open(log, "wb") as err:
            proc = subprocess.Popen(
                import_command(dsn, account, *watch),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=env,
            )
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("SET pmail.all_tenants = 'on'")
                report.watch_catch_up_seconds = wait_caught_up(
                    conn, proc, last_uid=last_uid
                )
                tenant_id = _scalar(conn, "SELECT tenant_id FROM imap_folders LIMIT 1")
                for index in range(samples):
                    time.sleep(gaps.uniform(0.2, 1.0))
                    append, latency = sample_latency(
                        dovecot, account, conn, index=index, tenant_id=tenant_id
                    )
                    report.append_seconds.append(append)
                    if latency is None:
                        report.latency_misses += 1
                    else:
                        report.latency.append(latency)
        except BenchError as exc:
            report.latency_error = f"{exc}\n{tail(log.read_text(errors='replace'))}"
        finally:
            stop_watcher(proc)


def stop_watcher(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT, as a user's Ctrl-C; kill only if it does not stop in time."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- driver ------------------------------------------------------------------------


def run_benchmark(args: argparse.Namespace) -> Report:
    """Set everything up, measure, and tear everything down."""
    began = time.perf_counter()
    mbsync = mbsync_version()
    dovecot = DovecotServer()
    dovecot.start()
    work = Path(tempfile.mkdtemp(prefix="pmail-imapbench-"))
    try:
        boxes: list[Mailbox] = []
        if args.messages > 0:
            boxes.append(
                load_mailbox(dovecot, work, messages=args.messages, seed=args.seed)
            )
        if args.from_dirs:
            boxes.append(load_mailbox_from(dovecot, args.from_dirs))
        report = Report(
            command=shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]),
            date=datetime.now(UTC).isoformat(timespec="seconds"),
            machine=machine_facts(args.dsn, dovecot, mbsync),
            corpora={box.name: box.facts for box in boxes},  # mbsync adds to them
        )
        report.machine["dsn"] = safe_dsn(args.dsn)
        for run in range(1, args.runs + 1):
            for box in boxes:  # the corpora alternate within each run
                _progress(f"run {run}/{args.runs}, {box.name}")
                report.runs.append(time_pmail(args.dsn, work, box, run=run))
                report.runs.append(time_mbsync(work, box, run=run, version=mbsync))
                report.runs.append(time_fetch_only(box, run=run))
                _progress(
                    "  "
                    + ", ".join(f"{r.tool} {r.seconds:.2f} s" for r in report.runs[-3:])
                )
        generated = next((b for b in boxes if b.name == GENERATED), None)
        if args.latency_samples > 0 and generated is not None:
            _progress(f"latency: {args.latency_samples} samples under --watch")
            measure_latency(
                args.dsn, work, dovecot, generated.account,
                samples=args.latency_samples, report=report,
            )  # fmt: skip
    finally:
        dovecot.stop()
        shutil.rmtree(work, ignore_errors=True)
    report.total_seconds = time.perf_counter() - began
    return report


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _corpus_line(name: str, facts: Mapping[str, Any]) -> str:
    line = f"{facts['messages']:,} messages, {facts['megabytes']:.1f} MB"
    if name == GENERATED:
        return f"{line}, seed {facts['seed']}"
    distinct = facts.get("distinct", facts["messages"])
    refused = facts.get("refused_by_server", 0)
    skipped = facts.get("mbsync_skipped", 0)
    return (
        f"{line} ({distinct:,} distinct bodies; {refused} of {facts['found']:,} found"
        f" refused by the server; mbsync skipped {skipped} it could not parse)"
    )


def render(report: Report) -> str:
    """The human-readable report: facts, per-run times, headline figures."""
    s = report.summary()
    m = report.machine
    facts = [
        ("command", report.command),
        ("date", report.date),
        ("machine", f"{m['cpus']} CPUs ({m['cpu_model']}), {m['platform']}"),
        ("postgresql", f"{m['postgresql']} ({m['dsn']})"),
        ("dovecot", m["dovecot"]),
        ("mbsync", m["mbsync"]),
        ("python", m["python"]),
        *((f"corpus: {n}", _corpus_line(n, c)) for n, c in report.corpora.items()),
        ("total time", f"{_fmt(report.total_seconds, '.0f')} s"),
    ]
    runs = [
        [
            r.corpus,
            r.tool,
            r.run,
            f"{r.seconds:.2f}",
            f"{r.messages / r.seconds:,.0f}",
            f"{r.load:.2f}",
        ]
        for r in report.runs
    ]
    lat_note = (
        f"{len(report.latency)} samples, {report.latency_misses} not stored within"
        f" {SAMPLE_TIMEOUT:.0f} s; APPEND itself median"
        f" {_fmt(median(report.append_seconds), '.3f')} s"
    )
    headline: list[list[str]] = []
    for name, c in s["corpora"].items():
        headline += [
            [f"{name}: pmail import-imap", _fmt(c["pmail_seconds"], ".2f"), _fmt(c["pmail_msgs_per_s"], ",.0f"), ""],
            [f"{name}: mbsync", _fmt(c["mbsync_seconds"], ".2f"), _fmt(c["mbsync_msgs_per_s"], ",.0f"), ""],
            [f"{name}: fetch-only (imaplib)", _fmt(c["fetch_only_seconds"], ".2f"), _fmt(c["fetch_only_msgs_per_s"], ",.0f"), "reference"],
            [f"{name}: pmail time / mbsync time", "", _fmt(c["time_ratio_pmail_mbsync"], ".2f") + "x", f"{c['import_verdict']} (target <= 1.00x)"],
        ]  # fmt: skip
    headline += [
        ["--watch latency median", _fmt(s["latency_median_s"], ".3f"), "", lat_note],
        ["--watch latency p95", _fmt(s["latency_p95_s"], ".3f"), "", f"{s['latency_verdict']} (target < {LATENCY_TARGET:.1f} s)"],
        ["--watch latency max", _fmt(s["latency_max_s"], ".3f"), "", ""],
        ["--watch catch-up", _fmt(report.watch_catch_up_seconds, ".2f"), "", "generated INBOX, before sampling"],
    ]  # fmt: skip
    problems = [f"latency phase failed: {report.latency_error}"]
    return "\n\n".join(
        [
            tabulate(facts, tablefmt="plain"),
            tabulate(
                runs,
                headers=["corpus", "tool", "run", "seconds", "msg/s", "load avg"],
                tablefmt="simple",
            ),
            tabulate(
                headline,
                headers=[
                    "figure (median of runs)",
                    "seconds",
                    "msg/s",
                    "verdict / note",
                ],
                tablefmt="simple",
            ),
            *(problems if report.latency_error else []),
        ]
    )


def to_json(report: Report) -> str:
    """The report as JSON, summary included."""
    data = asdict(report)
    data["summary"] = report.summary()
    return json.dumps(data, indent=2)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse and check the command line."""
    parser = argparse.ArgumentParser(
        description="Benchmark pmail import-imap against mbsync on a private Dovecot."
    )
    add = parser.add_argument
    add(
        "--messages",
        type=int,
        default=10_000,
        help="generated INBOX size (default 10000; 0: only the --from corpus)",
    )
    add(
        "--from",
        dest="from_dirs",
        action="append",
        default=[],
        metavar="DIR",
        help="also measure a second INBOX holding every message under DIR "
        "(files, mbox, Maildir; several allowed)",
    )
    add("--runs", type=int, default=3, help="timed runs per tool; medians are shown")
    add("--seed", type=int, default=1, help="corpus seed (default 1)")
    add(
        "--dsn",
        default=os.environ.get("PMAIL_BENCH_DSN") or DEFAULT_DSN,
        help="PostgreSQL to create scratch databases on (PMAIL_BENCH_DSN)",
    )
    add(
        "--latency-samples", type=int, default=20, help="deliveries timed under --watch"
    )
    add("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args(argv)
    if args.messages < 0 or args.runs < 1 or args.latency_samples < 0:
        parser.error("--runs must be >= 1, --messages and --latency-samples >= 0")
    if args.messages == 0 and not args.from_dirs:
        parser.error("nothing to measure: give --messages N, --from DIR, or both")
    missing = [d for d in args.from_dirs if not Path(d).is_dir()]
    if missing:
        parser.error(f"--from: not a directory: {missing[0]}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the report; return the exit status."""
    args = parse_args(argv)
    try:
        report = run_benchmark(args)
    except (BenchError, psycopg.Error) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(to_json(report) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
