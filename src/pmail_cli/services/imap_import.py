"""Import IMAP folders incrementally into the ingest pipeline, resumable at any point.

Per account and folder the last committed UID and the UIDVALIDITY are stored in the
same transaction as each batch, so a crash or a dropped connection loses nothing and
duplicates nothing. Folders are opened read-only and fetched with BODY.PEEK[], so the
mailbox is never changed and the stored bytes are exactly what the server returned.
"""

from __future__ import annotations

import imaplib
import logging
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from imap_tools.errors import MailboxFolderSelectError

from pmail_cli.db import Connection
from pmail_cli.mail.readers import RawItem
from pmail_cli.repository import imap as repo
from pmail_cli.repository.tenants import Tenant
from pmail_cli.services import tenants
from pmail_cli.services.imap_conn import (
    AccountConfig,
    ImapError,
    Mailbox,
    folder_status,
    has_capability,
    list_folders,
)
from pmail_cli.services.pipeline import CommitHook, PipelineOptions, run_pipeline

logger = logging.getLogger(__name__)

FETCH_MESSAGES = 50
FETCH_BYTES = 8 * 1024 * 1024
_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
LostConnection = (imaplib.IMAP4.abort, imaplib.IMAP4.error, OSError)


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


@dataclass(frozen=True, slots=True)
class _Folder:
    tenant: Tenant
    account_id: uuid.UUID
    name: str
    direction: str
    uidvalidity: int
    highest_modseq: int | None
    last_uid: int


def folder_direction(name: str, flags: Sequence[str]) -> str:
    """A \\Sent folder (or one named Sent without special-use flags) holds outbound mail."""
    if "\\Sent" in flags:
        return "outbound"
    has_roles = any(
        f in flags for f in ("\\Drafts", "\\Trash", "\\Junk", "\\Archive", "\\All")
    )
    leaf = re.split(r"[./]", name)[-1].lower()
    if not has_roles and leaf in ("sent", "sent items", "sent mail", "sent messages"):
        return "outbound"
    return "auto"


def choose_folders(box: Mailbox, account: AccountConfig) -> list[tuple[str, str]]:
    """Return (folder, direction) for the folders to import; unknown names are errors."""
    available = {name: flags for name, flags in list_folders(box)}
    if account.all_folders:
        return [(n, folder_direction(n, f)) for n, f in available.items()]
    wanted = list(account.folders) or ["INBOX"]
    missing = [w for w in wanted if w not in available]
    if missing:
        raise ImapError(
            f"{account.name} has no folder {missing[0]!r}",
            hint="existing folders: " + ", ".join(sorted(available)[:20]),
        )
    return [(w, folder_direction(w, available[w])) for w in wanted]


def _uids_after(box: Mailbox, after: int) -> list[tuple[int, int]]:
    """Return (uid, size) of the folder's messages with a UID above `after`, ascending."""
    typ, data = box.client.uid("FETCH", f"{after + 1}:*", "(UID RFC822.SIZE)")
    if typ != "OK":
        raise ImapError(f"UID FETCH failed: {data!r}")
    found: dict[int, int] = {}
    for line in data:
        text = line[0] if isinstance(line, tuple) else line
        if not isinstance(text, bytes):
            continue
        uid, size = _UID.search(text), _SIZE.search(text)
        if uid and int(uid.group(1)) > after:  # n:* always includes the highest UID
            found[int(uid.group(1))] = int(size.group(1)) if size else 0
    return sorted(found.items())


def _chunks(uids: list[tuple[int, int]]) -> Iterator[list[int]]:
    chunk: list[int] = []
    total = 0
    for uid, size in uids:
        if chunk and (len(chunk) >= FETCH_MESSAGES or total + size > FETCH_BYTES):
            yield chunk
            chunk, total = [], 0
        chunk.append(uid)
        total += size
    if chunk:
        yield chunk


def _fetch(box: Mailbox, uids: list[int]) -> list[tuple[int, bytes]]:
    typ, data = box.client.uid("FETCH", ",".join(map(str, uids)), "(UID BODY.PEEK[])")
    if typ != "OK":
        raise ImapError(f"UID FETCH failed: {data!r}")
    got: list[tuple[int, bytes]] = []
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            match = _UID.search(item[0])
            if match:
                got.append((int(match.group(1)), bytes(item[1])))
    return sorted(got)


def _items(
    box: Mailbox, folder: _Folder, origin: str, result: FolderResult
) -> Iterator[RawItem]:
    for chunk in _chunks(_uids_after(box, folder.last_uid)):
        for uid, raw in _fetch(box, chunk):
            result.fetched += 1
            yield RawItem(raw, f"{origin};UID={uid}", position=uid)


def _checkpoint(folder: _Folder) -> CommitHook:
    tenant_id = folder.tenant.tenant_id

    def hook(conn: Connection, items: Sequence[RawItem], keys: Sequence[str]) -> None:
        uids = [int(i.position or 0) for i in items]
        repo.save_folder_state(
            conn,
            tenant_id=tenant_id,
            email_account_id=folder.account_id,
            folder=folder.name,
            uidvalidity=folder.uidvalidity,
            last_uid=max(uids, default=folder.last_uid),
            highest_modseq=None,
            direction=folder.direction,
        )
        repo.insert_memberships(
            conn,
            tenant_id=tenant_id,
            email_account_id=folder.account_id,
            folder=folder.name,
            uidvalidity=folder.uidvalidity,
            uids=uids,
            keys=list(keys),
        )

    return hook


def _open_folder(
    conn: Connection,
    box: Mailbox,
    tenant: Tenant,
    account_id: uuid.UUID,
    name: str,
    direction: str,
    result: FolderResult,
) -> _Folder:
    status = folder_status(box, name, condstore=has_capability(box, "CONDSTORE"))
    result.uidnext = status.get("UIDNEXT", 0)
    box.folder.set(name, readonly=True)  # EXAMINE: flags are never changed
    with conn.transaction():
        state = repo.get_folder_state(
            conn, tenant_id=tenant.tenant_id, email_account_id=account_id, folder=name
        )
        uidvalidity = status["UIDVALIDITY"]
        if state is not None and state.uidvalidity != uidvalidity:
            result.uidvalidity_changed = True
            repo.forget_stale_memberships(
                conn,
                tenant_id=tenant.tenant_id,
                email_account_id=account_id,
                folder=name,
                uidvalidity=uidvalidity,
            )
        last = (
            state.last_uid
            if state is not None and not result.uidvalidity_changed
            else 0
        )
        repo.save_folder_state(
            conn,
            tenant_id=tenant.tenant_id,
            email_account_id=account_id,
            folder=name,
            uidvalidity=uidvalidity,
            last_uid=last,
            highest_modseq=None,
            direction=direction,
        )
    return _Folder(
        tenant,
        account_id,
        name,
        direction,
        uidvalidity,
        status.get("HIGHESTMODSEQ"),
        last,
    )


def import_folder(
    conn: Connection,
    box: Mailbox,
    account: AccountConfig,
    *,
    tenant: Tenant,
    account_id: uuid.UUID,
    name: str,
    direction: str,
    jobs: int,
    on_progress: Callable[[int], None] | None = None,
) -> FolderResult:
    """Fetch what is new in one folder and store it; the checkpoint moves with each batch."""
    result = FolderResult(account.name, name, direction)
    try:
        folder = _open_folder(conn, box, tenant, account_id, name, direction, result)
    except MailboxFolderSelectError as exc:
        result.error = f"cannot open folder {name!r}: {exc}"
        return result
    options = PipelineOptions(
        direction=direction, jobs=jobs, email_account_id=str(account_id)
    )
    origin = f"imap://{account.user}@{account.host}/{name}"
    piped = run_pipeline(
        conn,
        _items(box, folder, origin, result),
        tenant=tenant,
        options=options,
        on_commit=_checkpoint(folder),
        on_progress=on_progress,
    )
    result.stored, result.duplicates, result.flagged = (
        piped.added,
        piped.duplicates,
        piped.flagged,
    )
    with conn.transaction():
        repo.save_folder_state(
            conn,
            tenant_id=tenant.tenant_id,
            email_account_id=account_id,
            folder=name,
            uidvalidity=folder.uidvalidity,
            last_uid=folder.last_uid,
            highest_modseq=folder.highest_modseq,
            direction=direction,
        )
    return result


def account_scope(conn: Connection, account: AccountConfig) -> tuple[Tenant, uuid.UUID]:
    """Return the account's tenant and its email_accounts id (registered on first use)."""
    tenant = tenants.use_tenant(conn, account.tenant)
    address = account.user if "@" in account.user else f"{account.user}@{account.host}"
    return tenant, tenants.add_account(conn, tenant, email=address)


def sync_account(
    conn: Connection,
    box: Mailbox,
    account: AccountConfig,
    *,
    jobs: int,
    on_progress: Callable[[int], None] | None = None,
) -> list[FolderResult]:
    """Import every chosen folder of a logged-in account once."""
    tenant, account_id = account_scope(conn, account)
    results = []
    for name, direction in choose_folders(box, account):
        try:
            results.append(
                import_folder(
                    conn,
                    box,
                    account,
                    tenant=tenant,
                    account_id=account_id,
                    name=name,
                    direction=direction,
                    jobs=jobs,
                    on_progress=on_progress,
                )
            )
        except LostConnection as exc:
            conn.rollback()
            raise ImapError(
                f"connection to {account.name} lost while fetching {name!r}: {exc}",
                hint="committed batches are kept; run the same command again to continue",
            ) from None
    return results
