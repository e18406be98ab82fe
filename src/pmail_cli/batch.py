"""The contract between sources and the batch writer.

A `WorkItem` is one message as a source hands it over (and `mail/` prepares it); a
`Batch` is what the writer commits at once; `Written` is what it did; a `BatchHook`
is work that rides on each batch, inside its transaction and after its commit.
Sources implement hooks for their checkpoints (sources/imap.py); the writer
(services/writer.py) runs them. See docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # references only: this module imports nothing of pmail at run time
    from pmail_cli.db import Connection
    from pmail_cli.mail.prepare import PreparedMessage
    from pmail_cli.repository.tenants import Tenant


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One message to store, as a source hands it over."""

    origin: (
        str  # where it came from: a path, "path#N", "-", an imap:// URL, a legacy key
    )
    raw: bytes | None = None  # the exact message; None for rows that never had one
    key: str | None = None  # storage key; None: derived from the tenant and raw
    position: int | str | None = None  # its place in the source (mbox index, UID, …)
    record: object | None = None  # what a source without raw bytes hands its prepare
    size: int = 0  # bytes it holds when raw is None (read-ahead bounds)
    tenant: Tenant | None = None  # whose it is, when a source serves many tenants

    @property
    def nbytes(self) -> int:
        """The bytes this item keeps in memory, roughly."""
        return len(self.raw) if self.raw is not None else self.size


# Handed over by a source that waits for its next message (a queue): the pipeline
# commits what it holds now instead of waiting for a full batch. Never stored.
FLUSH = WorkItem(origin="(flush)")


@dataclass(frozen=True, slots=True)
class Batch:
    """What the writer commits at once."""

    items: Sequence[WorkItem]  # every item of the batch, in source order
    keys: Sequence[str]  # the storage key of each item
    prepared: Sequence[PreparedMessage]  # the messages the tenant did not have


@dataclass(frozen=True, slots=True)
class Written:
    """What one batch did, as hooks and counters see it."""

    tenant: Tenant
    batch: Batch
    inserted: frozenset[str] = frozenset()  # keys this batch stored
    linked: tuple[str, ...] = ()  # children linked to a parent by this batch
    new_blob_bytes: int = 0  # stored bytes of attachment files new to the tenant


class BatchHook:
    """Work that rides on each batch: inside its transaction, then after its commit.

    Subclasses override what they need; a hook that raises in `in_transaction`
    rolls the whole batch back, checkpoint included.
    """

    def in_transaction(self, conn: Connection, written: Written) -> None:
        """Run inside the batch's transaction, after its rows are inserted."""

    def after_commit(self, written: Written) -> None:
        """Run once the batch has committed (e.g. acknowledge to the source)."""
