"""Stored rows back to bytes, checked against their recorded hashes and sizes.

Pure functions (no database): `unpack_raw` is how every reader of stored messages
(export, show, validate) turns a content row into its bytes; `check_messages` and
`check_files` are what `validate --deep` runs in worker processes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from pmail_cli.mail.compress import MAX_DECOMPRESSED, decompress
from pmail_cli.mail.rawsplit import Splice, reassemble


def unpack_raw(
    raw_form: str,
    raw_data: bytes,
    raw_splices: Sequence[Sequence[object]] | None,
    compression: str,
    dict_data: bytes | None,
    fetch: Callable[[bytes], bytes],
) -> bytes:
    """A content row's stored raw form, decompressed and (when spliced) reassembled.

    For raw_form 'legacy' this is the bundle of legacy columns, not a message.
    `fetch(sha256)` returns an attachment file's decoded bytes.
    """
    body = decompress(raw_data, compression, dict_data)
    if raw_form == "spliced":
        splices = [Splice.from_json(s) for s in raw_splices or []]
        body = reassemble(body, splices, fetch)
    return body


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """One content row as `validate --deep` reads it."""

    tenant_id: str
    storage_key: str
    raw_form: str
    raw_data: bytes | None
    raw_splices: list[list[object]] | None
    compression: str
    dict_id: int | None
    raw_sha256: bytes | None
    raw_size_bytes: int


@dataclass(frozen=True, slots=True)
class StoredFile:
    """One attachment_blobs row as `validate --deep` reads it."""

    tenant_id: str
    sha256: bytes
    size_bytes: int
    compression: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Finding:
    """A stored row whose bytes disagree with what is recorded about them.

    `actual_size` is set only when the bytes are proven right (their sha256 matches)
    and just the recorded size is wrong: the one thing a repair may rewrite.
    """

    tenant_id: str
    item: str
    problem: str
    actual_size: int | None = None


@dataclass(frozen=True, slots=True)
class Checked:
    """What one chunk's check found, and how many bytes it verified."""

    rows: int
    nbytes: int
    findings: list[Finding]


# (tenant id, dict id) -> dictionary bytes; (tenant id, sha256) -> (compression, data)
Dicts = Mapping[tuple[str, int], bytes]
Files = Mapping[tuple[str, bytes], tuple[str, bytes]]


def check_messages(
    rows: Sequence[StoredMessage], dicts: Dicts, files: Files
) -> Checked:
    """Rebuild each message from its stored form and compare sha256 and size."""
    findings: list[Finding] = []
    nbytes = 0
    for row in rows:
        found = _check_message(row, dicts, files)
        nbytes += row.raw_size_bytes
        if found is not None:
            findings.append(found)
    return Checked(len(rows), nbytes, findings)


def _check_message(row: StoredMessage, dicts: Dicts, files: Files) -> Finding | None:
    if row.raw_form == "none" or row.raw_data is None:
        return None  # nothing stored to check (recorded as such at ingest)

    def fetch(sha256: bytes) -> bytes:
        compression, data = files[(row.tenant_id, sha256)]
        return decompress(data, compression)

    dict_data = dicts.get((row.tenant_id, row.dict_id)) if row.dict_id else None
    try:
        if row.dict_id is not None and dict_data is None:
            raise ValueError(f"dictionary {row.dict_id} is missing")
        body = unpack_raw(
            row.raw_form,
            row.raw_data,
            row.raw_splices,
            row.compression,
            dict_data,
            fetch,
        )
        if row.raw_form == "legacy":
            json.loads(body)  # the legacy columns as migrated: no hash was ever kept
            return None
    except KeyError as exc:
        return Finding(
            row.tenant_id, row.storage_key, f"attachment file {exc} is missing"
        )
    except Exception as exc:  # any failure to rebuild is a finding, not a crash
        return Finding(
            row.tenant_id,
            row.storage_key,
            f"cannot rebuild: {type(exc).__name__}: {exc}",
        )
    if row.raw_sha256 is None or hashlib.sha256(body).digest() != row.raw_sha256:
        return Finding(row.tenant_id, row.storage_key, "sha256 mismatch")
    if len(body) != row.raw_size_bytes:
        return Finding(
            row.tenant_id,
            row.storage_key,
            f"raw_size_bytes {row.raw_size_bytes} but the message has {len(body)} bytes",
            actual_size=len(body),
        )
    return None


def check_files(
    rows: Sequence[StoredFile], *, limit: int = MAX_DECOMPRESSED
) -> Checked:
    """Decompress each stored attachment file and compare sha256 and size; `limit`,
    when the right size is known, bounds what a frame may unpack to."""
    findings: list[Finding] = []
    nbytes = 0
    for row in rows:
        item = row.sha256.hex()
        nbytes += row.size_bytes
        try:
            data = decompress(row.data, row.compression, limit=limit)
        except Exception as exc:  # any failure to decompress is a finding
            findings.append(Finding(row.tenant_id, item, f"cannot decompress: {exc}"))
            continue
        if hashlib.sha256(data).digest() != row.sha256:
            findings.append(Finding(row.tenant_id, item, "sha256 mismatch"))
        elif len(data) != row.size_bytes:
            findings.append(
                Finding(
                    row.tenant_id,
                    item,
                    f"size_bytes {row.size_bytes} but the file has {len(data)} bytes",
                    actual_size=len(data),
                )
            )
    return Checked(len(rows), nbytes, findings)
