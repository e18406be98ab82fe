"""`import-imap --watch`: keep accounts in sync (IDLE, else polling), reconnecting."""

from __future__ import annotations

import imaplib
import logging
import threading
from dataclasses import dataclass

from pmail_cli.config import MAX_MESSAGE_BYTES
from pmail_cli.errors import PmailError
from pmail_cli.services.imap_import import (
    ConnectFn,
    ImportReport,
    failure,
    sync_account,
)
from pmail_cli.services.pipeline import Pipeline
from pmail_cli.sources.imap import IDLE_SLICE, wait_for_mail
from pmail_cli.sources.imap_session import AccountConfig, session

logger = logging.getLogger(__name__)

MAX_BACKOFF = 60.0


@dataclass(frozen=True, slots=True)
class WatchOptions:
    """How long and how to keep watching."""

    watch_for: float | None = None  # seconds; None = until stopped
    poll_interval: float = 30.0
    max_bytes: int = MAX_MESSAGE_BYTES  # larger messages are refused, not fetched


def _watch_one(
    connect: ConnectFn,
    account: AccountConfig,
    password: str,
    report: ImportReport,
    options: WatchOptions,
    stop: threading.Event,
) -> None:
    backoff = 1.0
    while not stop.is_set():
        try:
            with (
                connect() as conn,
                Pipeline(conn) as pipeline,
                session(account, password) as box,
            ):
                backoff = 1.0
                while not stop.is_set():
                    results = sync_account(
                        pipeline, box, account, max_bytes=options.max_bytes
                    )
                    report.add(results)
                    seen = {r.folder: r.uidnext for r in results}
                    wait_for_mail(
                        box,
                        account,
                        poll_interval=options.poll_interval,
                        stop=stop,
                        seen=seen,
                    )
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
    options: WatchOptions,
    stop: threading.Event | None = None,
) -> ImportReport:
    """Keep every account in sync until `stop` is set, watch_for runs out or Ctrl-C."""
    stop = stop or threading.Event()
    report = ImportReport()
    threads = [
        threading.Thread(
            target=_watch_one,
            args=(connect, a, p, report, options, stop),
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


def never_synced(report: ImportReport, *, accounts: int) -> PmailError | None:
    """The error a watch ends with when some account never synced at all (an
    unknown host, a wrong password): a watch that only ever retried did not work."""
    synced = {f.account for f in report.folders}
    last = {name: error for name, error in report.failed if name not in synced}
    if not last:
        return None
    return failure(ImportReport(failed=list(last.items())), accounts=accounts)
