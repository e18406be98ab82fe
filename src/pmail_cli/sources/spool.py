"""The spool directory: messages too large for Redis, named by their store jobs.

A job names a file; the file is only ever looked up inside the worker's own spool
directory (docs/queue.md, "The spool"). The name is a bare file name (no
directory, no `..`), opened relative to the directory's descriptor with
O_NOFOLLOW, and checked on the descriptor it was opened as (fstat): a regular file
with no other hard link, at most max_message_bytes. Checking what was opened, not
the path, leaves no gap between the check and the read for a swap to slip in.
After the commit the same file (device and inode compared again) is removed, and
only it: a refused job's file stays where it is.

Each tenant's files are in a directory of their own inside the spool (named from the
tenant's name, `tenant_folder`), and a job's file is looked up only in the directory
of the job's tenant: a job naming another tenant's file (a name read from the stream)
finds nothing, so no message is stored into a tenant it was not enqueued for.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pmail_cli.queue_job import SPOOL_NAME

READ_CHUNK = 1 << 20


class SpoolRefused(Exception):
    """The job's spool file is not one the worker may read; the message says why."""


@dataclass(frozen=True, slots=True)
class Spooled:
    """A spooled message as read: its name and which file it was."""

    name: str
    folder: str  # the tenant's directory inside the spool
    device: int
    inode: int
    raw: bytes


def tenant_folder(tenant: str) -> str:
    """The directory, inside the spool, of a tenant's spooled messages."""
    return "t-" + hashlib.sha256(tenant.encode("utf-8")).hexdigest()[:32]


def spool_name(folder: Path, value: str) -> str:
    """The file name a job's spool value stands for: a bare name, or (jobs of
    producers before names) an absolute path directly inside `folder`."""
    name = value
    if "/" in value:
        parent, _, name = value.rpartition("/")
        if parent not in (str(folder), os.path.realpath(folder)):
            raise SpoolRefused(f"spool {value!r} is not a file of the spool directory")
    if not SPOOL_NAME.fullmatch(name) or name.endswith(".part"):
        raise SpoolRefused(
            f"spool {value!r} is not a file name of the spool directory "
            "(letters, digits, '.', '_', '-'; not starting with '.', not a .part "
            "file still being written)"
        )
    return name


def _open_folder(folder: Path, tenant: str) -> int:
    """A descriptor of the tenant's directory inside the spool (not followed if it
    is a symbolic link); OSError if there is none."""
    top = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        return os.open(
            tenant_folder(tenant),
            os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
            dir_fd=top,
        )
    finally:
        os.close(top)


def read_spooled(
    folder: Path,
    value: str,
    *,
    tenant: str,
    max_bytes: int,
    sha256: str | None = None,
) -> Spooled:
    """The message a store job of `tenant` names, read only if it is a regular file
    directly inside the tenant's directory of `folder`, not a symbolic link, not
    linked elsewhere, at most max_bytes, and (when the job carries one) of the
    SHA-256 the job names; SpoolRefused otherwise."""
    name = spool_name(folder, value)
    where = f"{folder}/{tenant_folder(tenant)} (tenant {tenant!r})"
    try:
        folder_fd = _open_folder(folder, tenant)
    except OSError as exc:
        if exc.errno == errno.ENOENT and os.path.lexists(folder / name):
            raise SpoolRefused(
                f"spool {name!r} is not in the spool directory of tenant {tenant!r} "
                f"({where}): a file of another tenant, or written by a pmail enqueue "
                "before spool files were kept per tenant (move it there, then `pmail "
                "queue dead retry`)"
            ) from None
        raise SpoolRefused(
            f"spool {name!r}: no such file in {where}: {exc.strerror}"
        ) from None
    try:
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            fd = os.open(name, flags, dir_fd=folder_fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise SpoolRefused(
                    f"spool {name!r} is a symbolic link; a spooled message must be "
                    "a file of the spool directory itself"
                ) from None
            if exc.errno == errno.ENOENT:
                raise SpoolRefused(f"spool {name!r}: no such file in {where}") from None
            raise SpoolRefused(f"cannot open spool {name!r}: {exc.strerror}") from None
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            _check(name, info, max_bytes)
            raw = _read(handle, name, max_bytes)
        if sha256 is not None and hashlib.sha256(raw).hexdigest() != sha256:
            raise SpoolRefused(
                f"spool {name!r} is not the file its job was enqueued with (its "
                "SHA-256 differs from the job's sha256): replaced or changed in "
                "the spool after pmail enqueue wrote it"
            )
        return Spooled(name, tenant_folder(tenant), info.st_dev, info.st_ino, raw)
    finally:
        os.close(folder_fd)


def _check(name: str, info: os.stat_result, max_bytes: int) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise SpoolRefused(f"spool {name!r} is not a regular file")
    if info.st_nlink != 1:
        raise SpoolRefused(
            f"spool {name!r} has {info.st_nlink} hard links; a spooled message is "
            "written by pmail enqueue and linked nowhere else"
        )
    if info.st_size > max_bytes:
        raise SpoolRefused(
            f"spool {name!r} holds {info.st_size:,} bytes, over max_message_bytes "
            f"({max_bytes:,})"
        )


def _read(handle: BinaryIO, name: str, max_bytes: int) -> bytes:
    """The file's bytes, refusing one that grew past max_bytes since fstat."""
    raw = handle.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise SpoolRefused(
            f"spool {name!r} grew over max_message_bytes ({max_bytes:,})"
        )
    if not raw:
        raise SpoolRefused(f"spool {name!r} is empty")
    return raw


def remove_spooled(folder: Path, spooled: Spooled) -> str | None:
    """Remove the file a committed job was stored from, if the name still is that
    file; the reason it was left, else None."""
    try:
        top = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            folder_fd = os.open(
                spooled.folder,
                os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                dir_fd=top,
            )
        finally:
            os.close(top)
    except OSError as exc:
        return f"cannot open the spool directory: {exc.strerror}"
    try:
        info = os.stat(spooled.name, dir_fd=folder_fd, follow_symlinks=False)
        if (info.st_dev, info.st_ino) != (spooled.device, spooled.inode):
            return "the name now is another file; left as it is"
        os.unlink(spooled.name, dir_fd=folder_fd)  # never follows a link
    except OSError as exc:
        return str(exc.strerror)
    finally:
        os.close(folder_fd)
    return None


def write_spooled(folder: Path, name: str, raw: bytes, *, tenant: str) -> str:
    """Write a message of `tenant` into its directory of the spool as `name` (a
    .part file, fsynced, renamed, so a worker never sees half a file); return the
    name a job carries."""
    if not SPOOL_NAME.fullmatch(name) or name.endswith(".part"):
        raise ValueError(f"not a spool file name: {name!r}")
    mine = folder / tenant_folder(tenant)
    mine.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = mine / name
    part = mine / f"{name}.part"
    with part.open("wb") as handle:
        handle.write(raw)
        handle.flush()
        os.fsync(handle.fileno())
    part.rename(path)
    return name
