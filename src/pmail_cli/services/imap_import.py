"""Import IMAP accounts: each chosen folder's new mail through the one pipeline.

The folder source (sources/imap.py) yields what is above its checkpoint and moves
the checkpoint in each batch's transaction; this module picks the folders, runs
the pipeline per folder, and imports many accounts at once (one failure does not
stop the others). `--watch` lives in services/imap_watch.py.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from threading import Lock

from imap_tools.errors import MailboxFolderSelectError

from pmail_cli.config import MAX_MESSAGE_BYTES
from pmail_cli.db import Connection
from pmail_cli.errors import ImapError, PmailError
from pmail_cli.repository.tenants import Tenant
from pmail_cli.services import tenants
from pmail_cli.services.pipeline import Pipeline, PipelineOptions
from pmail_cli.sources import TooLarge
from pmail_cli.sources.imap import LostConnection, choose_folders, open_folder
from pmail_cli.sources.imap_session import AccountConfig, Mailbox, session

logger = logging.getLogger(__name__)

ConnectFn = Callable[[], AbstractContextManager[Connection]]


@dataclass(slots=True)
class FolderResult:
    """What one folder's import did."""

    account: str
    folder: str
    direction: str
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    flagged: int = 0
    uidvalidity_changed: bool = False
    error: str | None = None
    uidnext: int = 0  # the folder's UIDNEXT when this import looked
    refused: list[TooLarge] = field(default_factory=list)  # over the size limit


@dataclass(slots=True)
class ImportReport:
    """Results of every folder, and the accounts that failed with why."""

    folders: list[FolderResult] = field(default_factory=list)
    failed: list[tuple[str, PmailError]] = field(default_factory=list)
    lock: Lock = field(default_factory=Lock)

    def add(self, results: list[FolderResult]) -> None:
        """Record folder results (thread-safe)."""
        with self.lock:
            self.folders.extend(results)

    def fail(self, account: AccountConfig, error: PmailError) -> None:
        """Record a failed account (thread-safe)."""
        with self.lock:
            self.failed.append((account.name, error))


def import_folder(
    pipeline: Pipeline,
    box: Mailbox,
    account: AccountConfig,
    *,
    tenant: Tenant,
    account_id: uuid.UUID,
    name: str,
    direction: str,
    on_progress: Callable[[int], None] | None = None,
    max_bytes: int = MAX_MESSAGE_BYTES,
) -> FolderResult:
    """Fetch what is new in one folder and store it; the checkpoint moves with each
    batch. A message over max_bytes is refused unfetched (result.refused) and
    remembered (imap_refused), so the checkpoint moves past it; every run tries the
    remembered ones again and reports those still over the limit."""
    conn = pipeline.conn
    result = FolderResult(account.name, name, direction)
    try:
        with tenants.scoped(conn, tenant):
            folder = open_folder(
                conn,
                box,
                account,
                tenant=tenant,
                account_id=account_id,
                name=name,
                direction=direction,
            )
    except MailboxFolderSelectError as exc:
        result.error = f"cannot open folder {name!r}: {exc}"
        return result
    result.uidnext, result.uidvalidity_changed = (
        folder.uidnext,
        folder.uidvalidity_changed,
    )
    folder.max_bytes = max_bytes
    piped = pipeline.run(
        folder.items(),
        tenant=tenant,
        options=PipelineOptions(direction=direction, email_account_id=str(account_id)),
        hooks=[folder.checkpoint()],
        on_progress=on_progress,
    )
    result.fetched = folder.fetched
    result.refused = [why for _, why in folder.refused]
    result.stored, result.duplicates, result.flagged = (
        piped.added,
        piped.duplicates,
        piped.flagged,
    )
    with tenants.scoped(conn, tenant):
        folder.finish(conn)
    return result


def account_scope(conn: Connection, account: AccountConfig) -> tuple[Tenant, uuid.UUID]:
    """Return the account's tenant and its email_accounts id (registered on first use)."""
    tenant = tenants.use_tenant(conn, account.tenant)
    address = account.user if "@" in account.user else f"{account.user}@{account.host}"
    return tenant, tenants.add_account(conn, tenant, email=address)


def sync_account(
    pipeline: Pipeline,
    box: Mailbox,
    account: AccountConfig,
    *,
    on_progress: Callable[[int], None] | None = None,
    max_bytes: int = MAX_MESSAGE_BYTES,
) -> list[FolderResult]:
    """Import every chosen folder of a logged-in account once."""
    tenant, account_id = account_scope(pipeline.conn, account)
    results = []
    for name, direction in choose_folders(box, account):
        try:
            results.append(
                import_folder(
                    pipeline,
                    box,
                    account,
                    tenant=tenant,
                    account_id=account_id,
                    name=name,
                    direction=direction,
                    on_progress=on_progress,
                    max_bytes=max_bytes,
                )
            )
        except LostConnection as exc:
            pipeline.conn.rollback()
            raise ImapError(
                f"connection to {account.name} lost while fetching {name!r}: {exc}",
                hint="committed batches are kept; run the same command again to continue",
            ) from None
    return results


def _one(
    connect: ConnectFn,
    account: AccountConfig,
    password: str,
    report: ImportReport,
    on_progress: Callable[[int], None] | None,
    max_bytes: int = MAX_MESSAGE_BYTES,
) -> None:
    try:
        with (
            connect() as conn,
            Pipeline(conn) as pipeline,
            session(account, password) as box,
        ):
            report.add(
                sync_account(
                    pipeline, box, account, on_progress=on_progress, max_bytes=max_bytes
                )
            )
    except PmailError as exc:
        report.fail(account, exc)


def import_accounts(
    connect: ConnectFn,
    accounts: list[tuple[AccountConfig, str]],
    *,
    parallel: int,
    on_progress: Callable[[int], None] | None = None,
    max_bytes: int = MAX_MESSAGE_BYTES,
) -> ImportReport:
    """Import each account once, `parallel` at a time; one failure does not stop the rest."""
    report = ImportReport()
    if parallel <= 1 or len(accounts) == 1:
        for account, password in accounts:
            _one(connect, account, password, report, on_progress, max_bytes)
        return report
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        for account, password in accounts:
            pool.submit(
                _one, connect, account, password, report, on_progress, max_bytes
            )
    return report


def failure(report: ImportReport, *, accounts: int) -> PmailError | None:
    """The error a one-time import ends with: the account's own when it was the only
    one, a count otherwise (each failure is listed in the summary)."""
    if not report.failed:
        return None
    if accounts == 1:
        return report.failed[0][1]
    return PmailError(
        f"{len(report.failed)} of {accounts} accounts failed",
        hint="the other accounts were imported; fix the failed ones and run again",
    )
