"""Files and directories pmail writes to, checked before any work is done.

A path that names a directory where a file is wanted (or the other way round), whose
parent is missing, or that cannot be written is refused up front with an error/hint
pair, so a report's table is never printed, nor an export begun, for output that
cannot be written.
"""

from __future__ import annotations

import os
from pathlib import Path

from pmail_cli.errors import PmailError, UsageError


def cannot_write(path: Path, exc: OSError, *, option: str) -> PmailError:
    """The error for an OSError met while writing what `option` names."""
    return PmailError(
        f"cannot write {option} {path}: {exc.strerror or exc}",
        hint=f"give {option} a path in a directory you can write to",
    )


def check_file(path: Path, *, option: str) -> None:
    """Refuse a file target that is a directory, or that cannot be created; a probe
    file created here is removed again, an existing file is left as it is."""
    if path.is_dir():
        raise UsageError(
            f"{option} {path} is a directory", hint=f"give {option} a file name"
        )
    existed = path.exists()
    try:
        with path.open("ab"):
            pass
    except OSError as exc:
        raise cannot_write(path, exc, option=option) from None
    if not existed:
        path.unlink(missing_ok=True)


def check_directory(path: Path, *, option: str) -> None:
    """Refuse a directory target that is a file, or under a file, or inside a
    directory that cannot be written. Nothing is created here; what the check cannot
    foresee (a full disk, a special file system) the writer reports the same way."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(
            f"{option} {path}: {existing} is a file, not a directory",
            hint=f"give {option} a new or existing directory",
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise cannot_write(
            path, PermissionError(13, "Permission denied"), option=option
        )
