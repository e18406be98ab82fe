"""Create or upgrade pmail's schema, moving a legacy `attachments` table out of the way.

The platform's old content databases have a table called `attachments` too
(../shared/LEGACY.md). When it sits in the schema pmail creates its tables in, it
is renamed to `legacy_attachments` inside the same transaction as the migration that
creates pmail's `attachments`, so either both happen or neither; the rename is
recorded (legacy_migration_renames) and `pmail migrate-legacy --archive` prints its
undo.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from pmail_cli import db, migrations
from pmail_cli.config import Settings
from pmail_cli.db import Connection
from pmail_cli.errors import MigrationError
from pmail_cli.migrations import Migration
from pmail_cli.repository import legacy as repo
from pmail_cli.services import facts, searchextra, sqlbodies, suppressions, tenants

ASIDE = "legacy_attachments"
CLEAR_STATISTICS = (
    "DELETE FROM pg_statistic WHERE (starelid, staattnum) IN (SELECT a.attrelid, "
    "a.attnum FROM pg_attribute AS a JOIN pg_class AS c ON c.oid = a.attrelid WHERE "
    "c.relnamespace = '{schema}'::regnamespace AND a.attnum > 0 AND "
    "a.attstattarget = 0);"
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Plan:
    """What an upgrade does (or would do)."""

    pending: list[Migration]
    move_aside: str | None  # the schema whose legacy attachments table moves aside


def _is_legacy(shape: repo.TableShape | None) -> bool:
    return shape is not None and shape.has_content and not shape.has_tenant_id


def plan(conn: Connection) -> Plan:
    """The pending migrations and whether a legacy table is in the way; reads only."""
    with conn.transaction():
        schema = repo.current_schema(conn)
        shapes = repo.table_shapes(conn, schema=schema)
        pending = migrations.pending(conn)
    clash = _is_legacy(shapes.get("attachments"))
    if clash and ASIDE in shapes:
        raise MigrationError(
            f"schema {schema} holds both a legacy `attachments` table and a table "
            f"`{ASIDE}`; pmail cannot move the first aside",
            hint="rename one of them, then run the command again",
        )
    return Plan(pending, schema if clash else None)


# The backfills that run in Python (migrations.run_backfills): what they read only pmail
# can decode.
BACKFILLS: dict[str, migrations.BackfillBatch] = {
    sqlbodies.PREFIX: sqlbodies.backfill_batch,
    tenants.SEARCH_REBUILD: tenants.search_rebuild_batch,
    suppressions.UNSUBSCRIBE_BACKFILL: suppressions.unsubscribe_backfill_batch,
    searchextra.PREFIX: searchextra.backfill_batch,
    facts.PREFIX: facts.backfill_batch,
}


def upgrade(
    conn: Connection, *, on_backfill: Callable[[int], None] | None = None
) -> Plan:
    """Apply every pending migration; move a legacy attachments table aside first;
    then run the backfills migrations left (`on_backfill(rows)` after each batch)."""
    todo = plan(conn)
    schema = todo.move_aside

    def move(c: Connection) -> None:
        assert schema is not None
        repo.rename_table(c, schema=schema, name="attachments", new_name=ASIDE)

    autocommit = conn.autocommit
    migrations.apply_pending(
        conn,
        before_first=move if schema else None,
        on_backfill=on_backfill,
        handlers=BACKFILLS,
    )
    conn.autocommit = autocommit
    with conn.transaction():
        here = repo.current_schema(conn)
        if _is_legacy(repo.table_shapes(conn, schema=here).get(ASIDE)):
            repo.record_rename(
                conn,
                schema=here,
                from_name="attachments",
                to_name=ASIDE,
                reason="moved aside for pmail's attachments table",
            )
        kept = migrations.kept_statistics(conn)
    if kept:
        logger.warning(
            "%d columns keep planner statistics from before migration 0039 (%s): a "
            "tenant login's EXPLAIN can read other tenants' values from them. A "
            "superuser removes them with: %s",
            len(kept),
            ", ".join(kept),
            CLEAR_STATISTICS.format(schema=here),
        )
    return todo


def create_database(settings: Settings) -> tuple[str, bool]:
    """Create the database the settings name unless the server has it; return its
    name and whether it was created."""
    return db.create_database(settings)
