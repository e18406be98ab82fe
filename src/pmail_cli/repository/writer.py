"""The batch writer's SQL: staging tables built from the table spec, COPY, INSERT … SELECT."""

from __future__ import annotations

import dataclasses
import functools
import uuid
from collections.abc import Sequence
from operator import attrgetter
from typing import TYPE_CHECKING

from psycopg import sql
from psycopg.adapt import PyFormat
from psycopg.rows import class_row

from pmail_cli import rows as spec
from pmail_cli.db import Connection, as_bytes
from pmail_cli.sqlfiles import compose_sql, load_sql

if TYPE_CHECKING:
    from pmail_cli.mail.verify import StoredFile


def _identifiers(names: Sequence[str]) -> sql.Composed:
    return sql.SQL(", ").join(map(sql.Identifier, names))


def create_staging(conn: Connection) -> None:
    """Create this session's staging tables, one per row type (idempotent)."""
    for row_type in spec.ROW_TYPES:
        conn.execute(
            compose_sql(
                "writer/create_stage",
                stage=sql.Identifier(row_type.STAGE),
                table=sql.Identifier(row_type.TABLE),
            )
        )
    conn.execute(load_sql("writer/create_stage_new"))


def copy_rows(
    conn: Connection, *, tenant_id: uuid.UUID, rows: Sequence[spec.Row]
) -> None:
    """COPY rows of one type into their staging table, tenant_id first.

    A `db_default` column that no row sets is left out, so the default applies.
    """
    if not rows:
        return
    row_type = type(rows[0])
    names = [
        name
        for name in spec.columns(row_type)
        if name not in spec.defaulted(row_type)
        or any(getattr(r, name) is not None for r in rows)
    ]
    values = attrgetter(*names)
    stage, columns = sql.Identifier(row_type.STAGE), _identifiers(["tenant_id", *names])
    sized = [n for n in _bytes_columns(row_type) if n in names]  # type: ignore[arg-type]
    large = [row for row in rows if _large(row, sized)] if sized else []
    with conn.cursor() as cur:
        if len(large) < len(rows):
            statement = compose_sql("writer/copy_stage", stage=stage, columns=columns)
            with cur.copy(statement) as copy:
                for row in rows:
                    if large and _large(row, sized):
                        continue
                    got = values(row)
                    copy.write_row(
                        (tenant_id, *got) if len(names) > 1 else (tenant_id, got)
                    )
        for row in large:
            got = tuple(getattr(row, name) for name in names)
            placeholders = [
                sql.Placeholder(
                    format=PyFormat.BINARY if isinstance(v, bytes) else PyFormat.AUTO
                )
                for v in (tenant_id, *got)
            ]
            cur.execute(
                compose_sql(
                    "writer/insert_stage_row",
                    stage=stage,
                    columns=columns,
                    values=sql.SQL(", ").join(placeholders),
                ),
                (tenant_id, *got),
            )


LARGE_VALUE = 1 << 20  # a row holding bytes this long is not COPYed (see below)


@functools.cache
def _bytes_columns(row_type: type) -> tuple[str, ...]:
    """The fields of a row type that may hold bytes (the only ones `_large` reads)."""
    return tuple(f.name for f in dataclasses.fields(row_type) if "bytes" in str(f.type))


def _large(row: spec.Row, names: Sequence[str]) -> bool:
    """Whether the row holds bytes over LARGE_VALUE: COPY's text form would hex-
    encode them (twice their size) and buffer that again; a binary parameter
    reaches the server as it is."""
    return any(
        isinstance(value := getattr(row, name), bytes) and len(value) > LARGE_VALUE
        for name in names
    )


def _insert(conn: Connection, name: str, row_type: type) -> list[tuple[object, ...]]:
    columns = _identifiers(["tenant_id", *spec.columns(row_type)])
    cursor = conn.execute(compose_sql(name, columns=columns))
    return cursor.fetchall() if cursor.description else []


def insert_staged(conn: Connection) -> tuple[list[str], set[bytes]]:
    """Move the staged batch into the tables, skipping stored messages; return the new
    keys and the hashes of the files inserted (a staged file not among them was
    stored by another session in the meantime)."""
    conn.execute(load_sql("writer/reset_staged_new"))
    conn.execute(load_sql("writer/insert_staged_links"))
    inserted = _insert(conn, "writer/insert_staged_messages", spec.MessageRow)
    keys = [str(r[0]) for r in inserted]
    files: set[bytes] = set()
    if keys:
        _insert(conn, "writer/insert_staged_facts", spec.FactRow)
        conn.execute(load_sql("writer/drop_staged_sql_bodies"))
        _insert(conn, "writer/insert_staged_content", spec.ContentRow)
        blobs = _insert(conn, "writer/insert_staged_blobs", spec.BlobRow)
        files = {as_bytes(r[0]) for r in blobs}
        _insert(conn, "writer/insert_staged_attachments", spec.AttachmentRow)
    return keys, files


def analyze_tables(conn: Connection) -> None:
    """Refresh the planner statistics of the tables the writer looks up."""
    conn.execute(load_sql("writer/analyze_tables"))


def lock_tenant_writes(conn: Connection, *, tenant_id: uuid.UUID) -> None:
    """Hold the tenant's write lock until the transaction ends."""
    conn.execute(load_sql("writer/lock_tenant_writes"), {"tenant_id": tenant_id})


def existing_keys(
    conn: Connection, *, tenant_id: uuid.UUID, keys: Sequence[str]
) -> set[str]:
    """Return the subset of keys the tenant already stores."""
    rows = conn.execute(
        load_sql("writer/existing_keys"), {"tenant_id": tenant_id, "keys": list(keys)}
    )
    return {str(r[0]) for r in rows}


def existing_blobs(
    conn: Connection, *, tenant_id: uuid.UUID, hashes: Sequence[bytes]
) -> dict[bytes, str]:
    """Return the attachment hashes the tenant already stores, each with its row's
    version (a row stored again is another version)."""
    rows = conn.execute(
        load_sql("writer/existing_blobs"),
        {"tenant_id": tenant_id, "hashes": list(hashes)},
    )
    return {as_bytes(r[0]): str(r[1]) for r in rows}


def stored_file(
    conn: Connection, *, tenant_id: uuid.UUID, sha256: bytes, size_bytes: int
) -> StoredFile | None:
    """The tenant's stored file with this hash, as `validate --deep` reads it, locked
    until the transaction ends (bytes too long for a file of `size_bytes` come back
    empty: they cannot be that file)."""
    # imported here: reports and `show` import this module and must not load the
    # mail package and zstandard at start (tests/cli/test_startup_imports.py)
    from pmail_cli.mail.verify import StoredFile

    with conn.cursor(row_factory=class_row(StoredFile)) as cur:
        cur.execute(
            load_sql("writer/stored_file"),
            {"tenant_id": tenant_id, "sha256": sha256, "size_bytes": size_bytes},
        )
        return cur.fetchone()


def repair_stored_file(
    conn: Connection, *, tenant_id: uuid.UUID, blob: spec.BlobRow
) -> int:
    """Write a stored file's right bytes over a row whose bytes are not the file;
    return the rows written (1, or 0 when the row is gone)."""
    cursor = conn.execute(
        load_sql("writer/repair_stored_file"),
        {
            "tenant_id": tenant_id,
            "sha256": blob.sha256,
            "size_bytes": blob.size_bytes,
            "compressed_size_bytes": blob.compressed_size_bytes,
            "compression": blob.compression,
            "data": blob.data,
        },
    )
    return cursor.rowcount
