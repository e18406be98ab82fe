"""Write stored messages back out, byte-identical, as .eml files or one mbox."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

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
    problems: list[tuple[str, str]] = field(default_factory=list)


def _mbox_from_line(message: RebuiltMessage) -> bytes:
    sender = (message.parts.from_email or "MAILER-DAEMON").split(",")[
        0
    ].strip() or "MAILER-DAEMON"
    stamp = time.strftime("%a %b %d %H:%M:%S %Y", message.parts.at.utctimetuple())
    return f"From {sender.replace(' ', '_')} {stamp}\n".encode("ascii", "replace")


def _write_mbox_entry(out: BinaryIO, message: RebuiltMessage, raw: bytes) -> int:
    out.write(_mbox_from_line(message))
    out.write(raw)
    tail = b"" if raw.endswith(b"\n") else b"\n"
    out.write(tail + b"\n")
    return len(raw)


def check_target(out_dir: Path | None, mbox: Path | None) -> None:
    """Refuse a missing or doubled destination before anything connects."""
    if (out_dir is None) == (mbox is None):
        raise UsageError("give exactly one of --out DIR or --mbox FILE")


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
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    sink = mbox.open("wb") if mbox is not None else None
    try:
        for message in rebuild_messages(conn, tenant, selected):
            _emit(message, result, out_dir, sink)
            if on_progress:
                on_progress(1)
    finally:
        if sink is not None:
            sink.close()
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
    if message.raw is None or not message.verified:
        result.problems.append((key, message.problem or "unverified"))
        return
    if sink is not None:
        result.bytes_written += _write_mbox_entry(sink, message, message.raw)
    else:
        assert out_dir is not None
        (out_dir / f"{key}.eml").write_bytes(message.raw)
        result.bytes_written += len(message.raw)
    result.written += 1
