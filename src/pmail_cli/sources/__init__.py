"""Sources: where messages come from. Each yields work items and owns its checkpoint.

A source never writes the message tables; a service hands its items to the one
pipeline (services/pipeline.py), which prepares them and gives whole batches to
the batch writer (services/writer.py). What a source must remember after a commit
(an IMAP UID, a legacy key, a stream entry id) it records in a hook that the
writer runs inside the batch's transaction. See docs/architecture.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only a reference is held; workers never import the database side
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
class ReadFailure:
    """An input that could not be read."""

    origin: str
    reason: str


@dataclass(frozen=True, slots=True)
class EmptyInput:
    """An input that held no message at all (0 bytes, or whitespace)."""

    origin: str


@dataclass(frozen=True, slots=True)
class NotMail:
    """A file found by walking a directory that does not start like a message (no
    header field, no mbox `From ` line): a README, a picture. Not stored; reported.
    A file named on the command line is always taken as mail."""

    origin: str


ReadEvent = WorkItem | ReadFailure | EmptyInput | NotMail
