"""IMAP folders as work items, with their checkpoint: resumable at any point.

Per account and folder the last committed UID and the UIDVALIDITY are stored by a
hook in the same transaction as each batch, so a crash or a dropped connection
loses nothing and duplicates nothing. Folders are opened read-only (EXAMINE) and
fetched with BODY.PEEK[], so the mailbox is never changed and the stored bytes are
exactly what the server returned.
"""

from __future__ import annotations

import imaplib
import re
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from imap_tools.errors import MailboxFolderSelectError
from imap_tools.imap_utf7 import utf7_encode

from pmail_cli.batch import BatchHook, Written
from pmail_cli.config import MAX_MESSAGE_BYTES
from pmail_cli.db import Connection
from pmail_cli.errors import ImapError
from pmail_cli.repository import imap as repo
from pmail_cli.repository.tenants import Tenant
from pmail_cli.sources import TooLarge, WorkItem
from pmail_cli.sources.imap_session import AccountConfig, Mailbox

FETCH_MESSAGES = 50
FETCH_BYTES = 8 * 1024 * 1024
IDLE_SLICE = 5.0  # seconds per IDLE round, so a stop request is seen quickly
_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_STATUS = re.compile(rb"(UIDVALIDITY|UIDNEXT|HIGHESTMODSEQ|MESSAGES) (\d+)")
LostConnection = (imaplib.IMAP4.abort, imaplib.IMAP4.error, OSError)


def list_folders(box: Mailbox) -> list[tuple[str, tuple[str, ...]]]:
    """Return (name, flags) of every selectable folder."""
    return [
        (f.name, tuple(f.flags))
        for f in box.folder.list()
        if "\\Noselect" not in f.flags and "\\NonExistent" not in f.flags
    ]


def quote_mailbox(name: str) -> str:
    """Quote a folder name for a raw IMAP command (modified UTF-7 for non-ASCII)."""
    encoded = utf7_encode(name).decode("ascii")
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


def folder_status(box: Mailbox, folder: str, *, condstore: bool) -> dict[str, int]:
    """Return UIDVALIDITY, UIDNEXT, MESSAGES (and HIGHESTMODSEQ) of a folder."""
    items = "(UIDVALIDITY UIDNEXT MESSAGES" + (" HIGHESTMODSEQ)" if condstore else ")")
    typ, data = box.client.status(quote_mailbox(folder), items)
    if typ != "OK":
        raise MailboxFolderSelectError((typ, data), "OK")
    text = b" ".join(d for d in data if isinstance(d, bytes))
    return {k.decode(): int(v) for k, v in _STATUS.findall(text)}


def has_capability(box: Mailbox, name: str) -> bool:
    """True when the server announced the capability."""
    return name.upper() in {c.upper() for c in box.client.capabilities}


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
    # n:* always includes the highest UID, even when it is not above n
    return [(u, n) for u, n in _uid_sizes(box, f"{after + 1}:*") if u > after]


def _uid_sizes(box: Mailbox, uid_set: str) -> list[tuple[int, int]]:
    """Return (uid, size) of the folder's messages in an IMAP UID set, ascending."""
    typ, data = box.client.uid("FETCH", uid_set, "(UID RFC822.SIZE)")
    if typ != "OK":
        raise ImapError(f"UID FETCH failed: {data!r}")
    found: dict[int, int] = {}
    for line in data:
        text = line[0] if isinstance(line, tuple) else line
        if not isinstance(text, bytes):
            continue
        uid, size = _UID.search(text), _SIZE.search(text)
        if uid:
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


@dataclass(slots=True)
class FolderSource:
    """One opened folder: what is new in it, and the hook that checkpoints it."""

    box: Mailbox
    tenant: Tenant
    account_id: uuid.UUID
    name: str
    direction: str
    origin: str  # imap://user@host/folder
    uidvalidity: int
    highest_modseq: int | None
    last_uid: int  # the checkpoint this import started from
    uidnext: int = 0  # the folder's UIDNEXT when it was opened
    uidvalidity_changed: bool = False
    fetched: int = 0
    max_bytes: int = MAX_MESSAGE_BYTES  # larger messages are refused, not fetched
    refused: list[tuple[int, TooLarge]] = field(default_factory=list)  # (UID, why)
    waiting: list[int] = field(default_factory=list)  # refused by earlier runs
    gone: list[int] = field(default_factory=list)  # of those, no longer in the folder
    recorded: set[int] = field(default_factory=set)  # refusals saved this run

    def items(self) -> Iterator[WorkItem]:
        """The messages refused by earlier runs, then those above the checkpoint, in
        UID order (UID as position). One the server announces (RFC822.SIZE) over
        max_bytes is refused without being downloaded and remembered in imap_refused
        in the same transaction as the checkpoint that passes it; every run tries the
        remembered ones again."""
        again: list[tuple[int, int]] = []
        if self.waiting:
            again = _uid_sizes(self.box, ",".join(map(str, self.waiting)))
            self.gone = sorted(set(self.waiting) - {uid for uid, _ in again})
        todo = again + _uids_after(self.box, self.last_uid)
        for chunk in _chunks(self._fetchable(todo)):
            for uid, raw in _fetch(self.box, chunk):
                self.fetched += 1
                if len(raw) > self.max_bytes:  # the server announced less
                    self._refuse(uid, len(raw))
                    continue
                yield WorkItem(f"{self.origin};UID={uid}", raw, position=uid)

    def _fetchable(self, uids: list[tuple[int, int]]) -> list[tuple[int, int]]:
        for uid, size in uids:
            if size > self.max_bytes:
                self._refuse(uid, size)
        return [(uid, size) for uid, size in uids if size <= self.max_bytes]

    def _refuse(self, uid: int, size: int) -> None:
        origin = f"{self.origin};UID={uid}"
        self.refused.append((uid, TooLarge(origin, size, self.max_bytes)))

    def checkpoint(self) -> FolderCheckpoint:
        """The hook that moves this folder's checkpoint with each batch."""
        return FolderCheckpoint(self)

    def record_refused(self, conn: Connection) -> None:
        """Remember the refusals not yet saved (inside the caller's transaction)."""
        new = [(uid, why.size) for uid, why in self.refused if uid not in self.recorded]
        if not new:
            return
        repo.save_refused(
            conn,
            tenant_id=self.tenant.tenant_id,
            email_account_id=self.account_id,
            folder=self.name,
            uidvalidity=self.uidvalidity,
            refused=new,
            max_bytes=self.max_bytes,
        )
        self.recorded.update(uid for uid, _ in new)

    def forget_refused(self, conn: Connection, uids: list[int]) -> None:
        """Forget remembered refusals of these UIDs (stored now, or gone)."""
        repo.forget_refused(
            conn,
            tenant_id=self.tenant.tenant_id,
            email_account_id=self.account_id,
            folder=self.name,
            uidvalidity=self.uidvalidity,
            uids=uids,
        )

    def finish(self, conn: Connection) -> None:
        """After the last batch: remember what is still refused, forget what is gone,
        and move the checkpoint past the last refusal (every message below it is
        stored or remembered now)."""
        self.record_refused(conn)
        self.forget_refused(conn, self.gone)
        top = max((uid for uid, _ in self.refused), default=self.last_uid)
        self.save_state(conn, last_uid=max(self.last_uid, top), done=True)

    def save_state(self, conn: Connection, *, last_uid: int, done: bool) -> None:
        """Record the folder's checkpoint (HIGHESTMODSEQ once the folder is done)."""
        repo.save_folder_state(
            conn,
            tenant_id=self.tenant.tenant_id,
            email_account_id=self.account_id,
            folder=self.name,
            uidvalidity=self.uidvalidity,
            last_uid=last_uid,
            highest_modseq=self.highest_modseq if done else None,
            direction=self.direction,
        )


class FolderCheckpoint(BatchHook):
    """Inside each batch's transaction: the last UID and the folder memberships."""

    def __init__(self, folder: FolderSource) -> None:
        self.folder = folder

    def in_transaction(self, conn: Connection, written: Written) -> None:
        """Move the checkpoint to the batch's last UID, remembering the refusals it
        passes; record where each message sits."""
        folder = self.folder
        uids = [int(i.position or 0) for i in written.batch.items]
        folder.record_refused(conn)
        folder.save_state(conn, last_uid=max(uids, default=folder.last_uid), done=False)
        folder.forget_refused(conn, uids)  # refused by an earlier run, stored now
        repo.insert_memberships(
            conn,
            tenant_id=folder.tenant.tenant_id,
            email_account_id=folder.account_id,
            folder=folder.name,
            uidvalidity=folder.uidvalidity,
            uids=uids,
            keys=list(written.batch.keys),
        )


def open_folder(
    conn: Connection,
    box: Mailbox,
    account: AccountConfig,
    *,
    tenant: Tenant,
    account_id: uuid.UUID,
    name: str,
    direction: str,
) -> FolderSource:
    """EXAMINE a folder and read its checkpoint (a new UIDVALIDITY starts over).

    The caller runs this inside the tenant's transaction.
    """
    status = folder_status(box, name, condstore=has_capability(box, "CONDSTORE"))
    box.folder.set(name, readonly=True)  # EXAMINE: flags are never changed
    state = repo.get_folder_state(
        conn, tenant_id=tenant.tenant_id, email_account_id=account_id, folder=name
    )
    uidvalidity = status["UIDVALIDITY"]
    changed = state is not None and state.uidvalidity != uidvalidity
    if changed:
        repo.forget_stale_memberships(
            conn,
            tenant_id=tenant.tenant_id,
            email_account_id=account_id,
            folder=name,
            uidvalidity=uidvalidity,
        )
    source = FolderSource(
        box=box,
        tenant=tenant,
        account_id=account_id,
        name=name,
        direction=direction,
        origin=f"imap://{account.user}@{account.host}/{name}",
        uidvalidity=uidvalidity,
        highest_modseq=status.get("HIGHESTMODSEQ"),
        last_uid=state.last_uid if state is not None and not changed else 0,
        uidnext=status.get("UIDNEXT", 0),
        uidvalidity_changed=changed,
    )
    source.save_state(conn, last_uid=source.last_uid, done=False)
    source.waiting = [
        r.uid
        for r in repo.list_refused(
            conn,
            tenant_id=tenant.tenant_id,
            email_account_id=account_id,
            folder=name,
            uidvalidity=uidvalidity,
        )
    ]
    return source


def wait_for_mail(
    box: Mailbox,
    account: AccountConfig,
    *,
    poll_interval: float,
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
    deadline = time.monotonic() + poll_interval
    while not stop.is_set() and time.monotonic() < deadline:
        if not idle:
            stop.wait(min(1.0, deadline - time.monotonic()))
            continue
        if box.idle.wait(timeout=IDLE_SLICE):
            return
