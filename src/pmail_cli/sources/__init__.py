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
class Skipped:
    """A file met in a directory walk and left out on purpose: not stored, but always
    counted in the summary and named with -v (docs/ingest.md, "What a walk leaves
    out"). A file named on the command line is never skipped."""

    origin: str
    reason: str  # one of the reasons below


# Why a walk leaves a file out; the summary counts each reason.
NOT_MAIL = "not a message"
MAILDIR_TMP = "in a Maildir's tmp/ (still being delivered)"
DOVECOT_FILE = "a Dovecot index or list file"
LINKED_DIR = "a symbolic link to a directory (not followed)"
NOT_A_FILE = "not a regular file (a device, pipe or socket)"


ReadEvent = WorkItem | ReadFailure | EmptyInput | Skipped
