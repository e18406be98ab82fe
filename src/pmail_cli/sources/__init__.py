"""Sources: where messages come from. Each yields work items and owns its checkpoint.

A source never writes the message tables; a service hands its items to the one
pipeline (services/pipeline.py), which prepares them and gives whole batches to
the batch writer (services/writer.py). What a source must remember after a commit
(an IMAP UID, a legacy key, a stream entry id) it records in a hook that the
writer runs inside the batch's transaction. See docs/architecture.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from pmail_cli.batch import FLUSH, WorkItem

__all__ = [
    "FLUSH",
    "EmptyInput",
    "ReadEvent",
    "ReadFailure",
    "Skipped",
    "TooLarge",
    "WorkItem",
]


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


@dataclass(frozen=True, slots=True)
class TooLarge:
    """A message over the maximum message size: refused, never stored, always named
    and counted (docs/ingest.md, "The maximum message size"). `cut`: the input (a
    pipe or a device) was still going at the limit and was not read further."""

    origin: str  # the input, "path#N" for an mbox entry
    size: int  # its bytes (for a cut input: the bytes read when it was cut)
    limit: int
    cut: bool = False
    offset: int | None = None  # where an mbox entry's From_ line starts

    def describe(self) -> str:
        """What was refused, for the error line (the origin is printed before it)."""
        where = f" (its From line at byte {self.offset:,})" if self.offset else ""
        if self.cut:
            return (
                f"input cut after {self.size:,} bytes{where}: a message may be at "
                f"most {self.limit:,} bytes (the maximum message size); not stored"
            )
        return (
            f"message of {self.size:,} bytes{where} is over the maximum message "
            f"size ({self.limit:,} bytes); not stored"
        )


# Why a walk leaves a file out; the summary counts each reason.
NOT_MAIL = "not a message"
MAILDIR_TMP = "in a Maildir's tmp/ (still being delivered)"
DOVECOT_FILE = "a Dovecot index or list file"
LINKED_DIR = "a symbolic link to a directory (not followed)"
NOT_A_FILE = "not a regular file (a device, pipe or socket)"


ReadEvent = WorkItem | ReadFailure | EmptyInput | Skipped | TooLarge
