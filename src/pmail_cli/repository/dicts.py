"""Per-tenant zstd dictionaries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from psycopg.rows import class_row

from pmail_cli.db import Connection, as_bytes
from pmail_cli.mail.compress import Dictionary
from pmail_cli.sqlfiles import load_sql


@dataclass(frozen=True, slots=True)
class StoredRaw:
    """A stored raw form as it sits in email_content."""

    raw_data: bytes
    compression: str
    dict_id: int | None


@dataclass(frozen=True, slots=True)
class DictStats:
    """How much of the tenant's mail is dictionary-compressed."""

    with_dict: int
    without_dict: int
    dicts: int


@dataclass(frozen=True, slots=True)
class DictInfo:
    """One dictionary, for `pmail dict list`."""

    dict_id: int
    zstd_dict_id: int
    size_bytes: int
    sample_count: int
    created: datetime
    messages: int


def latest_dict(conn: Connection, *, tenant_id: uuid.UUID) -> Dictionary | None:
    """Return the tenant's newest dictionary, or None."""
    row = conn.execute(
        load_sql("dicts/latest_dict"), {"tenant_id": tenant_id}
    ).fetchone()
    if row is None:
        return None
    return Dictionary(int(str(row[0])), as_bytes(row[1]))


def latest_dict_samples(
    conn: Connection, *, tenant_id: uuid.UUID
) -> tuple[Dictionary, int, int] | None:
    """The tenant's newest dictionary with its sample count and bytes, or None."""
    row = conn.execute(
        load_sql("dicts/latest_dict_samples"), {"tenant_id": tenant_id}
    ).fetchone()
    if row is None:
        return None
    dict_id, data, count, nbytes = row
    return (
        Dictionary(int(str(dict_id)), as_bytes(data)),
        int(str(count)),
        int(str(nbytes)),
    )


def get_dicts(
    conn: Connection, *, tenant_id: uuid.UUID, dict_ids: list[int]
) -> dict[int, bytes]:
    """Return dictionaries by id."""
    rows = conn.execute(
        load_sql("dicts/get_dicts"), {"tenant_id": tenant_id, "dict_ids": dict_ids}
    ).fetchall()
    return {int(str(r[0])): as_bytes(r[1]) for r in rows}


def insert_dict(
    conn: Connection,
    *,
    tenant_id: uuid.UUID,
    zstd_dict_id: int,
    dict_data: bytes,
    sample_count: int,
    sample_bytes: int,
) -> int:
    """Store a trained dictionary under the tenant's next id; return the id."""
    row = conn.execute(
        load_sql("dicts/insert_dict"),
        {
            "tenant_id": tenant_id,
            "zstd_dict_id": zstd_dict_id,
            "dict_data": dict_data,
            "sample_count": sample_count,
            "sample_bytes": sample_bytes,
        },
    ).fetchone()
    assert row is not None
    return int(str(row[0]))


def sample_raw(
    conn: Connection, *, tenant_id: uuid.UUID, limit: int
) -> list[StoredRaw]:
    """Return the stored raw forms of the tenant's latest messages."""
    with conn.cursor(row_factory=class_row(StoredRaw)) as cur:
        cur.execute(
            load_sql("dicts/sample_raw"), {"tenant_id": tenant_id, "limit": limit}
        )
        return cur.fetchall()


def dict_stats(conn: Connection, *, tenant_id: uuid.UUID) -> DictStats:
    """Return counts of messages with and without a dictionary."""
    with conn.cursor(row_factory=class_row(DictStats)) as cur:
        cur.execute(load_sql("dicts/dict_stats"), {"tenant_id": tenant_id})
        row = cur.fetchone()
        assert row is not None
        return row


def list_dicts(conn: Connection, *, tenant_id: uuid.UUID) -> list[DictInfo]:
    """Return the tenant's dictionaries with their usage."""
    with conn.cursor(row_factory=class_row(DictInfo)) as cur:
        cur.execute(load_sql("dicts/list_dicts"), {"tenant_id": tenant_id})
        return cur.fetchall()


@dataclass(frozen=True, slots=True)
class RawToRecompress:
    """One raw form to move to another dictionary."""

    storage_key: str
    raw_data: bytes
    compression: str
    dict_id: int | None


def select_for_recompress(
    conn: Connection,
    *,
    tenant_id: uuid.UUID,
    dict_id: int,
    only_plain: bool,
    limit: int,
) -> list[RawToRecompress]:
    """Return up to `limit` raw forms not compressed with dictionary `dict_id`."""
    with conn.cursor(row_factory=class_row(RawToRecompress)) as cur:
        cur.execute(
            load_sql("dicts/select_for_recompress"),
            {
                "tenant_id": tenant_id,
                "dict_id": dict_id,
                "only_plain": only_plain,
                "limit": limit,
            },
        )
        return cur.fetchall()


def update_compression(
    conn: Connection,
    *,
    tenant_id: uuid.UUID,
    dict_id: int,
    keys: list[str],
    data: list[bytes],
) -> None:
    """Store raw forms recompressed with dictionary `dict_id`."""
    conn.execute(
        load_sql("dicts/update_compression"),
        {"tenant_id": tenant_id, "dict_id": dict_id, "keys": keys, "data": data},
    )
