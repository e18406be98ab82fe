"""`pmail migrate-legacy --verify` and `--archive`: prove the copy, then retire the source.

The checks are the original migration plan's (total messages, total content,
messages with content, orphaned messages), per tenant, and the attachments (rows
and bytes, legacy against migrated, and what deduplication left). Archiving renames
the legacy tables to `*_archived` in one transaction, only when every check passes,
and returns the SQL that undoes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from pmail_cli.db import Connection
from pmail_cli.errors import IntegrityProblems
from pmail_cli.output import counted
from pmail_cli.repository import legacy as repo
from pmail_cli.repository.legacy import LegacyTables
from pmail_cli.services import audit, tenants
from pmail_cli.services.migrate import ARCHIVED, STEPS, find_legacy, locate_legacy


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the verification table."""

    check: str
    legacy: int | None
    migrated: int | None
    passed: bool
    note: str = ""


def _check(name: str, legacy: int, migrated: int, note: str = "") -> Check:
    return Check(name, legacy, migrated, legacy == migrated, note)


def verify(conn: Connection, *, legacy_schema: str | None) -> list[Check]:
    """Every check, legacy side against migrated side (the archived tables after
    --archive); reads only."""
    tables = locate_legacy(conn, legacy_schema).tables
    with tenants.every_tenant(conn):
        c = repo.verify_counts(conn, tables=tables)
        per_tenant = repo.verify_tenants(conn, tables=tables)
        finished = {s.step for s in repo.get_steps(conn) if s.finished is not None}
    checks = [
        _check(
            "total messages",
            c.legacy_refs + c.legacy_content_without_refs,
            c.migrated_messages,
            "message rows, plus content rows without one",
        ),
        _check("total content", c.legacy_content, c.migrated_content),
        _check(
            "messages with content",
            c.legacy_refs_with_content,
            c.migrated_refs_with_content,
        ),
        _check(
            "orphaned messages (no content)",
            c.legacy_refs - c.legacy_refs_with_content,
            c.migrated_refs_without_content,
        ),
        _check(
            "content without a message row",
            c.legacy_content_without_refs,
            c.migrated_content_without_refs,
            "migrated with a message row built from its headers",
        ),
        _check("attachments", c.legacy_attachments, c.migrated_attachments),
        _check(
            "attachment bytes",
            c.legacy_attachment_bytes,
            c.migrated_attachment_bytes,
            f"stored once per tenant: {c.migrated_blob_bytes:,} bytes after "
            "deduplication and compression",
        ),
        _check(
            "attachments without content",
            c.legacy_orphan_attachments,
            c.recorded_orphan_attachments,
            "kept with their bytes in migration_anomalies",
        ),
    ]
    checks += [
        _check(f"messages of tenant {tenant}", legacy, migrated)
        for tenant, legacy, migrated in per_tenant
    ]
    missing = [s for s in STEPS if s not in finished]
    checks.append(
        Check(
            "every step finished",
            None,
            None,
            not missing,
            "unfinished: " + ", ".join(missing) if missing else "",
        )
    )
    return checks


def require_passed(checks: list[Check]) -> None:
    """Raise (exit 3) naming the failed checks, if any."""
    failed = [c.check for c in checks if not c.passed]
    if failed:
        raise IntegrityProblems(
            f"{counted(len(failed), 'check')} of {len(checks)} did not pass: "
            + "; ".join(failed),
            hint="run `pmail migrate-legacy` to finish the copy, then verify again",
        )


@dataclass(frozen=True, slots=True)
class Archived:
    """What --archive renamed, and the SQL that renames it back."""

    renames: list[tuple[str, str]]
    undo_sql: str


def archive(conn: Connection, *, legacy_schema: str | None) -> Archived:
    """Rename the legacy tables to *_archived, in one transaction, after verify passes."""
    require_passed(verify(conn, legacy_schema=legacy_schema))
    tables = find_legacy(conn, legacy_schema)
    names = [tables.refs, tables.content, tables.attachments]
    renames = [(name, f"{name}_archived") for name in names]
    with tenants.every_tenant(conn):
        for old, new in renames:
            repo.rename_table(conn, schema=tables.schema, name=old, new_name=new)
            repo.record_rename(
                conn,
                schema=tables.schema,
                from_name=old,
                to_name=new,
                reason=ARCHIVED,
            )
        moved = [
            r for r in repo.list_renames(conn) if r.reason.startswith("moved aside")
        ]
        audit.record(
            conn,
            "migrate-legacy archive",
            tenant_id=None,
            params={"schema": tables.schema},
            result={"renamed": [f"{old} -> {new}" for old, new in renames]},
        )
    return Archived(renames, _undo(tables, renames, moved))


def _undo(
    tables: LegacyTables,
    renames: list[tuple[str, str]],
    moved: list[repo.Rename],
) -> str:
    lines = ["-- Undo `pmail migrate-legacy --archive`:", "BEGIN;"]
    for old, new in renames:
        lines.append(_rename_sql(tables.schema, new, old))
    lines.append("COMMIT;")
    for r in moved:
        lines += [
            f"-- The legacy attachments table was also moved aside to {r.to_name} so",
            "-- that pmail's own `attachments` could be created; giving it its old",
            "-- name back needs pmail's table renamed or dropped first:",
            "-- " + _rename_sql(r.schema_name, r.to_name, r.from_name),
        ]
    return "\n".join(lines) + "\n"


def _rename_sql(schema: str, name: str, new_name: str) -> str:
    table = sql.Identifier(schema, name).as_string(None)
    return f"ALTER TABLE {table} RENAME TO {sql.Identifier(new_name).as_string(None)};"
