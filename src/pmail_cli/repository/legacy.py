"""The legacy content tables (read only) and the migration's own bookkeeping."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from psycopg import sql
from psycopg.rows import class_row, dict_row

from pmail_cli.db import Connection, as_bytes
from pmail_cli.sqlfiles import compose_sql, load_sql


@dataclass(frozen=True, slots=True)
class LegacyTables:
    """Where the legacy tables are (schema-qualified identifiers for SQL)."""

    schema: str
    refs: str = "content_inbox_message_refs"
    content: str = "content_objects"
    attachments: str = "attachments"

    def identifiers(self) -> dict[str, sql.Composable]:
        """{refs}, {content}, {attachments} for compose_sql."""
        return {
            "refs": sql.Identifier(self.schema, self.refs),
            "content": sql.Identifier(self.schema, self.content),
            "attachments": sql.Identifier(self.schema, self.attachments),
        }

    @property
    def qualified_attachments(self) -> str:
        """The attachments table as text, for regclass."""
        return sql.Identifier(self.schema, self.attachments).as_string(None)


@dataclass(frozen=True, slots=True)
class TableShape:
    """A table of the schema, and what tells legacy attachments from pmail's."""

    name: str
    has_tenant_id: bool
    has_content: bool


@dataclass(frozen=True, slots=True)
class Totals:
    """What the legacy tables hold, and the dirt in them."""

    refs: int
    content: int
    attachments: int
    attachment_bytes: int
    tenants: int
    refs_without_content: int
    content_without_refs: int
    attachments_without_content: int
    attachment_size_mismatches: int


@dataclass(frozen=True, slots=True)
class Step:
    """Where one migration step stands."""

    step: str
    last_key: str | None
    rows_done: int
    started: datetime
    updated: datetime
    finished: datetime | None


@dataclass(frozen=True, slots=True)
class Rename:
    """A table the migration renamed."""

    schema_name: str
    from_name: str
    to_name: str
    reason: str
    renamed_at: datetime


@dataclass(frozen=True, slots=True)
class AnomalyRow:
    """One migration_anomalies row to record."""

    kind: str
    legacy_table: str
    legacy_key: str
    tenant_id: str | None = None
    detail: str | None = None
    sha256: bytes | None = None
    data: bytes | None = None


def table_shapes(conn: Connection, *, schema: str) -> dict[str, TableShape]:
    """The tables of a schema by name."""
    with conn.cursor(row_factory=class_row(TableShape)) as cur:
        cur.execute(load_sql("legacy/find_tables"), {"schema": schema})
        return {t.name: t for t in cur.fetchall()}


def current_schema(conn: Connection) -> str:
    """The schema new tables go to."""
    row = conn.execute(load_sql("legacy/current_schema")).fetchone()
    assert row is not None
    return str(row[0])


def rename_table(conn: Connection, *, schema: str, name: str, new_name: str) -> None:
    """Rename schema.name to new_name."""
    conn.execute(
        compose_sql(
            "legacy/rename_table",
            table=sql.Identifier(schema, name),
            new_name=sql.Identifier(new_name),
        )
    )


def record_rename(
    conn: Connection, *, schema: str, from_name: str, to_name: str, reason: str
) -> None:
    """Remember a rename (idempotent)."""
    conn.execute(
        load_sql("legacy/record_rename"),
        {
            "schema_name": schema,
            "from_name": from_name,
            "to_name": to_name,
            "reason": reason,
        },
    )


def list_renames(conn: Connection) -> list[Rename]:
    """The renames made, oldest first."""
    with conn.cursor(row_factory=class_row(Rename)) as cur:
        cur.execute(load_sql("legacy/list_renames"))
        return cur.fetchall()


def totals(conn: Connection, *, tables: LegacyTables) -> Totals:
    """Counts and dirt of the legacy tables."""
    with conn.cursor(row_factory=class_row(Totals)) as cur:
        cur.execute(compose_sql("legacy/totals", **tables.identifiers()))
        row = cur.fetchone()
        assert row is not None
        return row


def count_rows(conn: Connection, *, tables: LegacyTables) -> int:
    """Legacy message rows plus content rows without a message row."""
    row = conn.execute(
        compose_sql("legacy/count_rows", **tables.identifiers())
    ).fetchone()
    assert row is not None
    return int(str(row[0]))


def value_counts(
    conn: Connection, *, tables: LegacyTables, column: str
) -> list[tuple[str | None, int]]:
    """How often each value of a column of the legacy refs occurs."""
    rows = conn.execute(
        compose_sql(
            "legacy/value_counts", column=sql.Identifier(column), **tables.identifiers()
        )
    ).fetchall()
    return [(None if v is None else str(v), int(str(n))) for v, n in rows]


def refs_page(
    conn: Connection, *, tables: LegacyTables, after: str, limit: int
) -> list[dict[str, object]]:
    """The next page of legacy messages (with their content), in key order."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            compose_sql("legacy/refs_page", **tables.identifiers()),
            {"after": after, "limit": limit},
        )
        return cur.fetchall()


def orphan_content_page(
    conn: Connection, *, tables: LegacyTables, after: str, limit: int
) -> list[dict[str, object]]:
    """The next page of content rows no message row refers to, in key order."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            compose_sql("legacy/orphan_content_page", **tables.identifiers()),
            {"after": after, "limit": limit},
        )
        return cur.fetchall()


def attachment_files(
    conn: Connection, *, tables: LegacyTables, keys: Sequence[str]
) -> list[dict[str, object]]:
    """Size, hash, name and type of the legacy attachments of these messages."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            compose_sql("legacy/attachment_files", **tables.identifiers()),
            {"keys": list(keys)},
        )
        return cur.fetchall()


def attachment_bytes(
    conn: Connection, *, tables: LegacyTables, ids: Sequence[int]
) -> dict[int, bytes]:
    """The bytes of these legacy attachment rows."""
    rows = conn.execute(
        compose_sql("legacy/attachment_bytes", **tables.identifiers()),
        {"ids": list(ids)},
    ).fetchall()
    return {int(str(i)): as_bytes(data) for i, data in rows}


def orphan_attachments_page(
    conn: Connection, *, tables: LegacyTables, after: int, limit: int
) -> list[dict[str, object]]:
    """The next page of legacy attachments whose message has no content row."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            compose_sql("legacy/orphan_attachments_page", **tables.identifiers()),
            {"after": after, "limit": limit},
        )
        return cur.fetchall()


def parent_index_exists(conn: Connection, *, tables: LegacyTables) -> bool:
    """Whether the legacy attachments can be looked up by message through an index."""
    row = conn.execute(
        load_sql("legacy/parent_index_exists"), {"table": tables.qualified_attachments}
    ).fetchone()
    return bool(row and row[0])


def create_parent_index(conn: Connection, *, tables: LegacyTables, name: str) -> None:
    """Index the legacy attachments by message (autocommit: CONCURRENTLY); an invalid
    index of that name (an interrupted build) is dropped first."""
    conn.execute(
        compose_sql(
            "legacy/drop_invalid_index", index=sql.Identifier(tables.schema, name)
        )
    )
    conn.execute(
        compose_sql(
            "legacy/create_parent_index",
            index=sql.Identifier(name),
            **tables.identifiers(),
        )
    )


def ensure_tenants(conn: Connection, *, tables: LegacyTables) -> int:
    """Create a pmail tenant for each legacy tenant id; return how many were new."""
    cur = conn.execute(compose_sql("legacy/ensure_tenants", **tables.identifiers()))
    return cur.rowcount


def legacy_accounts(
    conn: Connection, *, tables: LegacyTables
) -> list[tuple[uuid.UUID, uuid.UUID, str | None]]:
    """(tenant, account id, its usual sending address) of accounts pmail lacks."""
    rows = conn.execute(
        compose_sql("legacy/legacy_accounts", **tables.identifiers())
    ).fetchall()
    return [
        (uuid.UUID(str(t)), uuid.UUID(str(a)), None if e is None else str(e))
        for t, a, e in rows
    ]


def insert_account(
    conn: Connection, *, tenant_id: uuid.UUID, email_account_id: uuid.UUID, email: str
) -> bool:
    """Register an account under its legacy id; False when the address is taken."""
    row = conn.execute(
        load_sql("legacy/insert_account"),
        {"tenant_id": tenant_id, "email_account_id": email_account_id, "email": email},
    ).fetchone()
    return row is not None


def dictionary_samples(
    conn: Connection,
    *,
    tables: LegacyTables,
    tenant_ids: Sequence[uuid.UUID],
    per_tenant: int,
) -> list[dict[str, object]]:
    """Recent legacy content of these tenants, to train dictionaries on."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            compose_sql("legacy/dictionary_samples", **tables.identifiers()),
            {"tenant_ids": list(tenant_ids), "per_tenant": per_tenant},
        )
        return cur.fetchall()


def get_steps(conn: Connection) -> list[Step]:
    """Where each step of the migration stands."""
    with conn.cursor(row_factory=class_row(Step)) as cur:
        cur.execute(load_sql("legacy/get_steps"))
        return cur.fetchall()


def save_step(
    conn: Connection, *, step: str, last_key: str | None, rows: int, finished: bool
) -> None:
    """Move a step's position and add its rows (caller's transaction)."""
    conn.execute(
        load_sql("legacy/save_step"),
        {"step": step, "last_key": last_key, "rows": rows, "finished": finished},
    )


def insert_anomalies(conn: Connection, *, anomalies: Sequence[AnomalyRow]) -> None:
    """Record anomalies; those recorded before are kept as they are."""
    if not anomalies:
        return
    conn.execute(
        load_sql("legacy/insert_anomalies"),
        {
            "kinds": [a.kind for a in anomalies],
            "tables": [a.legacy_table for a in anomalies],
            "keys": [a.legacy_key for a in anomalies],
            "tenant_ids": [a.tenant_id for a in anomalies],
            "details": [a.detail for a in anomalies],
            "hashes": [a.sha256 for a in anomalies],
            "data": [a.data for a in anomalies],
        },
    )


def record_duplicate_ids(conn: Connection) -> None:
    """Record migrated messages that share a Message-ID within their tenant."""
    conn.execute(load_sql("legacy/record_duplicate_ids"))


def anomaly_counts(conn: Connection) -> list[tuple[str, int]]:
    """How many anomalies of each kind were recorded."""
    rows = conn.execute(load_sql("legacy/anomaly_counts")).fetchall()
    return [(str(k), int(str(n))) for k, n in rows]


@dataclass(frozen=True, slots=True)
class VerifyCounts:
    """The numbers `--verify` compares, legacy side and migrated side."""

    legacy_refs: int
    legacy_content_without_refs: int
    legacy_content: int
    legacy_refs_with_content: int
    legacy_attachments: int
    legacy_attachment_bytes: int
    legacy_orphan_attachments: int
    migrated_messages: int
    migrated_content: int
    migrated_refs_with_content: int
    migrated_refs_without_content: int
    migrated_content_without_refs: int
    migrated_attachments: int
    migrated_attachment_bytes: int
    migrated_blob_bytes: int
    recorded_orphan_attachments: int


def verify_counts(conn: Connection, *, tables: LegacyTables) -> VerifyCounts:
    """The migration plan's checks, both sides."""
    with conn.cursor(row_factory=class_row(VerifyCounts)) as cur:
        cur.execute(compose_sql("legacy/verify_counts", **tables.identifiers()))
        row = cur.fetchone()
        assert row is not None
        return row


def verify_tenants(
    conn: Connection, *, tables: LegacyTables
) -> list[tuple[uuid.UUID, int, int]]:
    """(tenant, legacy messages, migrated messages) per tenant."""
    rows = conn.execute(
        compose_sql("legacy/verify_tenants", **tables.identifiers())
    ).fetchall()
    return [(uuid.UUID(str(t)), int(str(a)), int(str(b))) for t, a, b in rows]


def read_only(conn: Connection) -> None:
    """Make the current transaction read-only."""
    conn.execute(load_sql("legacy/read_only"))


def _stream(
    conn: Connection, query: sql.Composed, *, chunk: int = 5000
) -> Iterator[dict[str, object]]:
    """The rows of a query through a server-side cursor (caller's transaction)."""
    with conn.cursor(name="pmail_legacy_survey", row_factory=dict_row) as cur:
        cur.itersize = chunk
        cur.execute(query)
        yield from cur


def survey_refs(
    conn: Connection, *, tables: LegacyTables
) -> Iterator[dict[str, object]]:
    """Every legacy message row as refs_page reads it, without the bodies."""
    return _stream(conn, compose_sql("legacy/survey_refs", **tables.identifiers()))


def survey_orphan_content(
    conn: Connection, *, tables: LegacyTables
) -> Iterator[dict[str, object]]:
    """Every content row without a message row, as orphan_content_page reads it,
    without the bodies."""
    return _stream(
        conn, compose_sql("legacy/survey_orphan_content", **tables.identifiers())
    )


def survey_files(
    conn: Connection, *, tables: LegacyTables
) -> list[tuple[int, object, object]]:
    """(id, size_bytes, true size) of the legacy files the run maps."""
    rows = conn.execute(
        compose_sql("legacy/survey_files", **tables.identifiers())
    ).fetchall()
    return [(int(str(i)), size, true) for i, size, true in rows]


def named_accounts(
    conn: Connection, *, tables: LegacyTables
) -> list[tuple[uuid.UUID, uuid.UUID, str | None]]:
    """(tenant, account id, None) of every account the legacy rows name."""
    rows = conn.execute(
        compose_sql("legacy/named_accounts", **tables.identifiers())
    ).fetchall()
    return [(uuid.UUID(str(t)), uuid.UUID(str(a)), None) for t, a, _ in rows]


def stored_message_ids(
    conn: Connection, *, ids: Sequence[str]
) -> list[tuple[str, str, int]]:
    """(tenant, Message-ID, messages) stored other than by the migration, among ids."""
    rows = conn.execute(load_sql("legacy/stored_message_ids"), {"ids": list(ids)})
    return [(str(t), str(m), int(str(n))) for t, m, n in rows.fetchall()]


def anomaly_keys(conn: Connection, *, kind: str) -> set[tuple[str, str]]:
    """(legacy table, legacy key) of the anomalies of one kind recorded so far."""
    rows = conn.execute(load_sql("legacy/anomaly_keys"), {"kind": kind}).fetchall()
    return {(str(t), str(k)) for t, k in rows}
