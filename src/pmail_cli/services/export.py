"""Write stored messages back out, byte-identical, as .eml files or one mbox.

Every message with a raw form comes back exactly, checked against the sha256 it
arrived with. Messages migrated from the legacy tables never had a raw message:
they are rebuilt from their legacy columns and counted apart; a legacy message
without content has nothing to write and is counted too. In an mbox, body lines that
start with `From ` are quoted `>From ` (mboxrd), as every mbox writer must, so those
messages are exact only as .eml files (`--out`).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from pmail_cli import targets
from pmail_cli.db import Connection
from pmail_cli.errors import IntegrityProblems, UsageError
from pmail_cli.repository import messages as repo
from pmail_cli.repository.tenants import Tenant
from pmail_cli.services.rawstore import RebuiltMessage, rebuild_messages
from pmail_cli.services.tenants import scoped


@dataclass(slots=True)
class ExportResult:
    """What was written, and what could not be."""

    written: int = 0
    bytes_written: int = 0
    verified: int = 0  # byte-exact, sha256 checked
    rebuilt: int = 0  # made from legacy columns (no raw message was kept)
    quoted: int = 0  # mbox entries changed: `From ` lines quoted, a newline added
    without_content: int = 0  # legacy messages with nothing to write
    problems: list[tuple[str, str]] = field(default_factory=list)


_FROM_LINE = re.compile(rb"^(>*From )", re.M)
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._@+=-]")
MAX_NAME = 200


def file_name(key: str) -> str:
    """A file name for a message that stays inside the export folder: the storage
    key, with anything but letters, digits and ._@+=- percent-encoded, shortened
    with a hash when long (legacy keys hold <, >, spaces, / and up to 500 characters)."""
    name = _SAFE_NAME.sub(
        lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), key
    )
    if name.startswith("."):
        name = "%2E" + name[1:]
    if len(name) > MAX_NAME:
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        name = f"{name[: MAX_NAME - 17]}~{digest}"
    return f"{name}.eml"


def _mbox_from_line(message: RebuiltMessage) -> bytes:
    sender = (message.parts.from_email or "MAILER-DAEMON").split(",")[
        0
    ].strip() or "MAILER-DAEMON"
    stamp = time.strftime("%a %b %d %H:%M:%S %Y", message.parts.at.utctimetuple())
    return f"From {sender.replace(' ', '_')} {stamp}\n".encode("ascii", "replace")


def _write_mbox_entry(
    out: BinaryIO, message: RebuiltMessage, raw: bytes, result: ExportResult
) -> int:
    quoted = _FROM_LINE.sub(rb">\1", raw)
    if quoted != raw or not raw.endswith(b"\n"):
        result.quoted += 1  # the mbox holds other bytes than the message
    out.write(_mbox_from_line(message))
    out.write(quoted)
    tail = b"" if quoted.endswith(b"\n") else b"\n"
    out.write(tail + b"\n")
    return len(quoted)


def check_target(out_dir: Path | None, mbox: Path | None) -> None:
    """Refuse a missing, doubled or unwritable destination before anything connects
    (--out must be a directory, or creatable as one; --mbox a writable file)."""
    if (out_dir is None) == (mbox is None):
        raise UsageError("give exactly one of --out DIR or --mbox FILE")
    if out_dir is not None:
        targets.check_directory(out_dir, option="--out")
    if mbox is not None:
        targets.check_file(mbox, option="--mbox")


def export_messages(
    conn: Connection,
    tenant: Tenant,
    *,
    out_dir: Path | None,
    mbox: Path | None,
    since: datetime | None,
    keys: list[str] | None,
    on_progress: Callable[[int], None] | None = None,
) -> ExportResult:
    """Write each selected message exactly as it arrived; unverifiable ones are reported."""
    check_target(out_dir, mbox)
    with scoped(conn, tenant):
        selected = repo.list_export_keys(
            conn, tenant_id=tenant.tenant_id, since=since, keys=keys
        )
    if keys:
        missing = sorted(set(keys) - set(selected))
        if missing:
            raise UsageError(
                f"no message with storage key {missing[0]} in tenant {tenant.name!r}"
            )
    result = ExportResult()
    target = out_dir if out_dir is not None else mbox
    assert target is not None
    seen = 0
    try:
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
        with mbox.open("wb") if mbox is not None else nullcontext() as sink:
            for message in rebuild_messages(conn, tenant, selected):
                seen += 1
                _emit(message, result, out_dir, sink)
                if on_progress:
                    on_progress(1)
    except OSError as exc:
        raise targets.cannot_write(
            target, exc, option="--out" if out_dir is not None else "--mbox"
        ) from None
    result.without_content = len(selected) - seen
    if result.problems:
        key, why = result.problems[0]
        raise IntegrityProblems(
            f"{len(result.problems)} of {len(selected)} messages could not be exported "
            f"exactly (first: {key}: {why}); {result.written} were written",
            hint="the written files are exact; export the others one by one with "
            "--storage-key to see each one's reason",
        )
    return result


def _emit(
    message: RebuiltMessage,
    result: ExportResult,
    out_dir: Path | None,
    sink: BinaryIO | None,
) -> None:
    key = message.parts.storage_key
    if message.raw is None or not (message.verified or message.rebuilt):
        result.problems.append((key, message.problem or "unverified"))
        return
    if sink is not None:
        result.bytes_written += _write_mbox_entry(sink, message, message.raw, result)
    else:
        assert out_dir is not None
        (out_dir / file_name(key)).write_bytes(message.raw)
        result.bytes_written += len(message.raw)
    result.written += 1
    if message.rebuilt:
        result.rebuilt += 1
    else:
        result.verified += 1
