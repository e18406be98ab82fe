"""Reading stored messages back: metadata, attachments, raw parts, blobs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from psycopg.rows import class_row, dict_row

from pmail_cli.db import Connection
from pmail_cli.sqlfiles import load_sql


@dataclass(frozen=True, slots=True)
class StoredRawParts:
    """What email_content holds to rebuild one raw message."""

    storage_key: str
    raw_form: str
    raw_data: bytes | None
    raw_splices: list[list[object]] | None
    compression: str
    dict_id: int | None
    raw_sha256: bytes | None
    raw_size_bytes: int
    from_email: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class AttachmentRow:
    """An attachments row as `show` lists it."""

    part_index: int
    filename: str | None
    mime_type: str | None
    size_bytes: int
    storage_disposition: str | None
    content_id: str | None
    sha256: str


@dataclass(frozen=True, slots=True)
class AttachmentFile:
    """An attachment row as a rebuilt message needs it."""

    parent_storage_key: str
    part_index: int
    filename: str | None
    mime_type: str | None
    storage_disposition: str | None
    sha256: bytes


@dataclass(frozen=True, slots=True)
class Blob:
    """Stored attachment bytes."""

    sha256: bytes
    compression: str
    data: bytes


def find_message(
    conn: Connection, *, tenant_id: uuid.UUID, key: str
) -> list[dict[str, object]]:
    """Return up to six messages whose key is key or starts with it."""
    prefix = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            load_sql("messages/find_message"),
            {
                "tenant_id": tenant_id,
                "key": key,
                "prefix": prefix,
                "low": key,
                "high": prefix_upper_bound(key),
            },
        )
        return cur.fetchall()


def prefix_upper_bound(prefix: str) -> str | None:
    """The least string above every string that starts with `prefix`, in code point
    order: the prefix with its last character's code point plus one. None (no range)
    unless the prefix is printable ASCII, where that is a plain character."""
    if not prefix or not all(" " <= ch <= "~" for ch in prefix):
        return None
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def list_attachments(
    conn: Connection, *, tenant_id: uuid.UUID, storage_key: str
) -> list[AttachmentRow]:
    """Return a message's attachments in part order."""
    with conn.cursor(row_factory=class_row(AttachmentRow)) as cur:
        cur.execute(
            load_sql("messages/list_attachments"),
            {"tenant_id": tenant_id, "storage_key": storage_key},
        )
        return cur.fetchall()


def list_delivery_facts(
    conn: Connection, *, tenant_id: uuid.UUID, storage_key: str
) -> list[dict[str, object]]:
    """Return a DSN's per-recipient facts."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            load_sql("messages/list_delivery_facts"),
            {"tenant_id": tenant_id, "storage_key": storage_key},
        )
        return cur.fetchall()


def list_children(
    conn: Connection, *, tenant_id: uuid.UUID, storage_key: str
) -> list[dict[str, object]]:
    """Return the messages linked to this one as their parent."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            load_sql("messages/list_children"),
            {"tenant_id": tenant_id, "storage_key": storage_key},
        )
        return cur.fetchall()


def list_export_keys(
    conn: Connection,
    *,
    tenant_id: uuid.UUID,
    since: datetime | None,
    keys: list[str] | None,
) -> list[str]:
    """Return the keys of the messages to export, oldest first."""
    rows = conn.execute(
        load_sql("messages/list_export_keys"),
        {"tenant_id": tenant_id, "since": since, "keys": keys},
    )
    return [str(r[0]) for r in rows]


def get_raw_parts(
    conn: Connection, *, tenant_id: uuid.UUID, keys: list[str]
) -> list[StoredRawParts]:
    """Return the stored raw forms of the given messages."""
    with conn.cursor(row_factory=class_row(StoredRawParts)) as cur:
        cur.execute(
            load_sql("messages/get_raw_parts"), {"tenant_id": tenant_id, "keys": keys}
        )
        return cur.fetchall()


def get_blobs(
    conn: Connection, *, tenant_id: uuid.UUID, hashes: list[bytes]
) -> list[Blob]:
    """Return attachment bytes by hash."""
    with conn.cursor(row_factory=class_row(Blob)) as cur:
        cur.execute(
            load_sql("messages/get_blobs"), {"tenant_id": tenant_id, "hashes": hashes}
        )
        return cur.fetchall()


def get_attachment_files(
    conn: Connection, *, tenant_id: uuid.UUID, keys: list[str]
) -> list[AttachmentFile]:
    """The attachment rows of some messages, in part order."""
    with conn.cursor(row_factory=class_row(AttachmentFile)) as cur:
        cur.execute(
            load_sql("messages/get_attachment_files"),
            {"tenant_id": tenant_id, "keys": keys},
        )
        return cur.fetchall()
