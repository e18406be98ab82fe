"""`import-imap --watch`: keep accounts in sync (IDLE, else polling), reconnecting."""

from __future__ import annotations

import imaplib
import logging
import threading
from dataclasses import dataclass

from pmail_cli.config import MAX_MESSAGE_BYTES
from pmail_cli.errors import ImapLoginRefused, PmailError
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
) -> ImapLoginRefused | None:
    """Keep one account in sync until `stop`, reconnecting after a dropped
    connection; a refused login ends it (returned)."""
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
        except ImapLoginRefused as exc:
            # not a dropped connection: the same password is refused again, so the
            # account ends here with the error a one-time import gives
            report.fail(account, exc)
            return exc
        except (PmailError, imaplib.IMAP4.abort, OSError) as exc:
            if stop.is_set():
                return None
            logger.warning("%s: %s; reconnecting in %.0f s", account.name, exc, backoff)
            error = (
                exc
                if isinstance(exc, PmailError)
                else PmailError(f"connection lost: {exc}")
            )
            report.fail(account, error)
            stop.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)
    return None


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
    watched = [len(accounts)]  # accounts still watched; none left ends the watch

    def watch(account: AccountConfig, password: str) -> None:
        refused = None
        try:
            refused = _watch_one(connect, account, password, report, options, stop)
        finally:
            with report.lock:
                watched[0] -= 1
                left = watched[0]
            if not left:
                stop.set()
            elif refused is not None:  # the others go on: say now why this one ended
                logger.warning(
                    "%s; %s is no longer watched (the other accounts are)",
                    refused,
                    account.name,
                )

    threads = [
        threading.Thread(target=watch, args=(a, p), name=f"watch {a.name}", daemon=True)
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
    unknown host: a watch that only ever retried did not work) or had its login
    refused (a wrong password: not retried); as a one-time import's, by failure()."""
    synced = {f.account for f in report.folders}
    last = {
        name: error
        for name, error in report.failed
        if name not in synced or isinstance(error, ImapLoginRefused)
    }
    if not last:
        return None
    return failure(ImportReport(failed=list(last.items())), accounts=accounts)
