"""The PmailError hierarchy: expected failures shown to the user without a traceback."""

from __future__ import annotations


class PmailError(Exception):
    """An expected failure, shown to the user without a traceback."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint
        self.detail: str | None = None


class DatabaseUnavailable(PmailError):
    """The database server cannot be reached or refused the connection."""


class SchemaMissing(PmailError):
    """The database has no pmail schema (or an outdated one)."""


class MigrationError(PmailError):
    """The migration files and the recorded history disagree."""


class UsageError(PmailError):
    """The command line asked for something impossible."""

    exit_code = 2


class NotFound(PmailError):
    """A named thing (tenant, message, file) does not exist."""


class PermissionDenied(PmailError):
    """The database role may not do or see what was asked (docs/security.md)."""


class IntegrityProblems(PmailError):
    """`validate` ran and found problems."""

    exit_code = 3


class IngestError(PmailError):
    """A batch could not be stored; nothing of it was committed."""


class ImapError(PmailError):
    """An IMAP server could not be reached, refused us, or dropped the connection."""


class ImapLoginRefused(ImapError):
    """The IMAP server refused the login (a wrong user or password): trying again
    with the same credentials cannot succeed, so `--watch` does not retry it."""
