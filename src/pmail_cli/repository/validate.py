"""The checks of `pmail validate`: one SQL file each, and the reads of --deep."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from psycopg.rows import class_row
from psycopg.sql import SQL

from pmail_cli.db import Connection, as_bytes
from pmail_cli.mail.verify import StoredFile, StoredMessage
from pmail_cli.sqlfiles import load_sql

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CheckResult:
    """How many rows a check found, and the first few of them."""

    count: int
    sample: list[str]


@dataclass(frozen=True, slots=True)
class Totals:
    """The original plan's totals."""

    messages: int
    content_rows: int
    messages_with_content: int
    purged: int
    attachments: int
    files: int
    legacy_without_content: int  # migrated as the legacy row was: without content
    legacy_files_aside: int  # legacy files without a message, in migration_anomalies


def run_check(
    conn: Connection, name: str, *, tenant_id: uuid.UUID | None, cap: int
) -> CheckResult:
    """Run sql/queries/validate/<name>.sql: count its rows, keep the first `cap`.

    Each check file selects (tenant_id, item) for every row that breaks the rule;
    the sample names the tenant before the item.
    """
    query = SQL(
        "WITH bad AS ({check}) "
        "SELECT count(*), (SELECT coalesce(array_agg(s.label ORDER BY s.label), "
        "'{{}}') FROM (SELECT coalesce(t.name, b.tenant_id::text) || ': ' || b.item "
        "AS label FROM bad AS b LEFT JOIN tenants AS t USING (tenant_id) "
        "ORDER BY 1 LIMIT %(cap)s) AS s) FROM bad"
    ).format(check=SQL(load_sql(f"validate/{name}").rstrip().rstrip(";")))
    row = conn.execute(query, {"tenant_id": tenant_id, "cap": cap}).fetchone()
    assert row is not None
    count, sample = row
    assert isinstance(count, int) and isinstance(sample, list)
    return CheckResult(count, [str(s) for s in sample])


def totals(conn: Connection, *, tenant_id: uuid.UUID | None) -> Totals:
    """Messages, content rows, messages with content, purged, attachments, files."""
    with conn.cursor(row_factory=class_row(Totals)) as cur:
        cur.execute(load_sql("validate/totals"), {"tenant_id": tenant_id})
        found = cur.fetchone()
        assert found is not None
        return found


def deep_totals(
    conn: Connection, *, tenant_id: uuid.UUID | None, sample: int | None
) -> tuple[int, int]:
    """How many content rows and files --deep will read."""
    row = conn.execute(
        load_sql("validate/deep_totals"), {"tenant_id": tenant_id, "sample": sample}
    ).fetchone()
    assert row is not None
    messages, files = row
    assert isinstance(messages, int) and isinstance(files, int)
    return messages, files


def dictionaries(
    conn: Connection, *, tenant_id: uuid.UUID | None
) -> dict[tuple[str, int], bytes]:
    """Every dictionary, by (tenant id, dict id)."""
    rows = conn.execute(load_sql("validate/dictionaries"), {"tenant_id": tenant_id})
    return {(str(t), int(str(d))): as_bytes(data) for t, d, data in rows}


def stored_messages(
    conn: Connection, *, tenant_id: uuid.UUID | None, sample: int | None, chunk: int
) -> Iterator[list[StoredMessage]]:
    """Content rows in chunks, read through a server-side cursor."""
    return _chunks(conn, "stored_messages", StoredMessage, tenant_id, sample, chunk)


def stored_files(
    conn: Connection, *, tenant_id: uuid.UUID | None, sample: int | None, chunk: int
) -> Iterator[list[StoredFile]]:
    """Stored attachment files in chunks, read through a server-side cursor."""
    return _chunks(conn, "stored_files", StoredFile, tenant_id, sample, chunk)


def _chunks(
    conn: Connection,
    name: str,
    row_type: type[T],
    tenant_id: uuid.UUID | None,
    sample: int | None,
    chunk: int,
) -> Iterator[list[T]]:
    with conn.cursor(
        name=f"pmail_validate_{name}", row_factory=class_row(row_type)
    ) as cur:
        cur.itersize = chunk
        cur.execute(
            load_sql(f"validate/{name}"), {"tenant_id": tenant_id, "sample": sample}
        )
        while rows := cur.fetchmany(chunk):
            yield rows


def files_by_hash(
    conn: Connection, *, wanted: Sequence[tuple[str, bytes]]
) -> dict[tuple[str, bytes], tuple[str, bytes]]:
    """Stored files by (tenant id, sha256): their compression and bytes."""
    if not wanted:
        return {}
    rows = conn.execute(
        load_sql("validate/files_by_hash"),
        {"tenant_ids": [t for t, _ in wanted], "hashes": [h for _, h in wanted]},
    )
    return {(str(t), as_bytes(h)): (str(c), as_bytes(d)) for t, h, c, d in rows}


def repair_sizes(
    conn: Connection, *, tenant_id: uuid.UUID | None, message_sizes: bool
) -> int:
    """Recompute the sizes that follow from stored bytes; return rows changed."""
    row = conn.execute(
        load_sql("validate/repair_sizes"),
        {"tenant_id": tenant_id, "message_sizes": message_sizes},
    ).fetchone()
    assert row is not None and isinstance(row[0], int)
    return row[0]


def repair_raw_size(
    conn: Connection, *, tenant_id: uuid.UUID, storage_key: str, raw_size_bytes: int
) -> None:
    """Set one message's raw size to that of its verified bytes."""
    conn.execute(
        load_sql("validate/repair_raw_size"),
        {
            "tenant_id": tenant_id,
            "storage_key": storage_key,
            "raw_size_bytes": raw_size_bytes,
        },
    )
