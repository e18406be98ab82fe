"""Many accounts at once, and --watch: IDLE (or polling), reconnect with backoff."""

from __future__ import annotations

import imaplib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from pmail_cli.db import Connection
from pmail_cli.errors import PmailError
from pmail_cli.services.imap_conn import (
    AccountConfig,
    Mailbox,
    folder_status,
    has_capability,
    session,
)
from pmail_cli.services.imap_import import FolderResult, choose_folders, sync_account

logger = logging.getLogger(__name__)

ConnectFn = Callable[[], AbstractContextManager[Connection]]
IDLE_SLICE = 5.0  # seconds per IDLE round, so a stop request is seen quickly
MAX_BACKOFF = 60.0


@dataclass(slots=True)
class ImportReport:
    """Results of every folder, and the accounts that failed with why."""

    folders: list[FolderResult] = field(default_factory=list)
    failed: list[tuple[str, PmailError]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, results: list[FolderResult]) -> None:
        """Record folder results (thread-safe)."""
        with self.lock:
            self.folders.extend(results)

    def fail(self, account: AccountConfig, error: PmailError) -> None:
        """Record a failed account (thread-safe)."""
        with self.lock:
            self.failed.append((account.name, error))


@dataclass(frozen=True, slots=True)
class WatchOptions:
    """How long and how to keep watching."""

    watch_for: float | None = None  # seconds; None = until stopped
    poll_interval: float = 30.0


def _one(
    connect: ConnectFn,
    account: AccountConfig,
    password: str,
    jobs: int,
    report: ImportReport,
    on_progress: Callable[[int], None] | None,
) -> None:
    try:
        with connect() as conn, session(account, password) as box:
            report.add(
                sync_account(conn, box, account, jobs=jobs, on_progress=on_progress)
            )
    except PmailError as exc:
        report.fail(account, exc)


def import_accounts(
    connect: ConnectFn,
    accounts: list[tuple[AccountConfig, str]],
    *,
    parallel: int,
    jobs: int,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import each account once, `parallel` at a time; one failure does not stop the rest."""
    report = ImportReport()
    if parallel <= 1 or len(accounts) == 1:
        for account, password in accounts:
            _one(connect, account, password, jobs, report, on_progress)
        return report
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        for account, password in accounts:
            pool.submit(_one, connect, account, password, jobs, report, on_progress)
    return report


def _wait_for_mail(
    box: Mailbox,
    account: AccountConfig,
    options: WatchOptions,
    stop: threading.Event,
    seen: dict[str, int],
) -> None:
    """Return when the watched folder changes, or after the poll interval.

    Mail delivered while the last sync ran shows as a higher UIDNEXT than that sync
    saw, so it is picked up at once instead of waiting for the next IDLE event.
    """
    idle = has_capability(box, "IDLE")
    first = choose_folders(box, account)[0][0]
    box.folder.set(first, readonly=True)
    if folder_status(box, first, condstore=False).get("UIDNEXT", 0) > seen.get(
        first, 0
    ):
        return
    deadline = time.monotonic() + options.poll_interval
    while not stop.is_set() and time.monotonic() < deadline:
        if not idle:
            stop.wait(min(1.0, deadline - time.monotonic()))
            continue
        if box.idle.wait(timeout=IDLE_SLICE):
            return


def _watch_one(
    connect: ConnectFn,
    account: AccountConfig,
    password: str,
    jobs: int,
    report: ImportReport,
    options: WatchOptions,
    stop: threading.Event,
) -> None:
    backoff = 1.0
    while not stop.is_set():
        try:
            with connect() as conn, session(account, password) as box:
                backoff = 1.0
                while not stop.is_set():
                    results = sync_account(conn, box, account, jobs=jobs)
                    report.add(results)
                    seen = {r.folder: r.uidnext for r in results}
                    _wait_for_mail(box, account, options, stop, seen)
        except (PmailError, imaplib.IMAP4.abort, OSError) as exc:
            if stop.is_set():
                return
            logger.warning("%s: %s; reconnecting in %.0f s", account.name, exc, backoff)
            error = (
                exc
                if isinstance(exc, PmailError)
                else PmailError(f"connection lost: {exc}")
            )
            report.fail(account, error)
            stop.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)


def watch_accounts(
    connect: ConnectFn,
    accounts: list[tuple[AccountConfig, str]],
    *,
    jobs: int,
    options: WatchOptions,
    stop: threading.Event,
) -> ImportReport:
    """Keep every account in sync until `stop` is set or watch_for runs out."""
    report = ImportReport()
    threads = [
        threading.Thread(
            target=_watch_one,
            args=(connect, a, p, jobs, report, options, stop),
            name=f"watch {a.name}",
            daemon=True,
        )
        for a, p in accounts
    ]
    for thread in threads:
        thread.start()
    try:
        stop.wait(options.watch_for)  # None: until set (Ctrl-C still interrupts)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=IDLE_SLICE * 3)
    return report
