"""Discover, check and apply the ordered SQL migrations in sql/migrations."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import LiteralString

import psycopg

from pmail_cli.errors import MigrationError
from pmail_cli.sqlfiles import load_sql, sql_root

logger = logging.getLogger(__name__)

ADVISORY_LOCK_KEY = 0x706D61696C  # "pmail"
NO_TRANSACTION_MARK = "-- pmail: no-transaction"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration file."""

    version: int
    name: str
    path: Path
    checksum: str

    @property
    def sql(self) -> str:
        """The file's text."""
        return self.path.read_text(encoding="utf-8")

    @property
    def no_transaction(self) -> bool:
        """True when the file must run in autocommit."""
        return self.sql.startswith(NO_TRANSACTION_MARK)


def kept_statistics(conn: psycopg.Connection[tuple[object, ...]]) -> list[str]:
    """Columns ("table.column") that collect no planner statistics since migration
    0039 but keep some from before it, which only a superuser can delete."""
    rows = conn.execute(load_sql("migrations/kept_statistics")).fetchall()
    return [str(r[0]) for r in rows]


def discover(directory: Path | None = None) -> list[Migration]:
    """Return the migrations in order; refuse duplicates and gaps."""
    folder = directory or sql_root() / "migrations"
    found: dict[int, Migration] = {}
    for path in sorted(folder.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(
                f"migration file {path.name} is not named NNNN_description.sql"
            )
        version = int(match.group(1))
        if version in found:
            raise MigrationError(
                f"duplicate migration version {version}: "
                f"{found[version].path.name} and {path.name}"
            )
        checksum = hashlib.sha256(path.read_bytes()).hexdigest()
        found[version] = Migration(version, match.group(2), path, checksum)
    ordered = [found[v] for v in sorted(found)]
    for expected, migration in enumerate(ordered, start=1):
        if migration.version != expected:
            raise MigrationError(
                f"migration {migration.path.name} leaves a gap: expected version "
                f"{expected:04d}"
            )
    return ordered


def _applied(conn: psycopg.Connection) -> dict[int, str]:
    rows = conn.execute(load_sql("migrations/list_applied")).fetchall()
    return {int(v): str(c) for v, c in rows}


def _history_exists(conn: psycopg.Connection) -> bool:
    row = conn.execute(load_sql("migrations/history_exists")).fetchone()
    return bool(row and row[0])


def _check(migrations: list[Migration], applied: dict[int, str]) -> list[Migration]:
    known = {m.version: m for m in migrations}
    for version, checksum in applied.items():
        migration = known.get(version)
        if migration is None:
            raise MigrationError(
                f"the database has migration {version:04d} applied, which this "
                "version of pmail does not know",
                hint="upgrade pmail",
            )
        if migration.checksum != checksum:
            raise MigrationError(
                f"migration {migration.path.name} was changed after it was applied "
                "(checksum mismatch)",
                hint="never edit an applied migration; add a new one",
            )
    return [m for m in migrations if m.version not in applied]


def pending(conn: psycopg.Connection) -> list[Migration]:
    """Return the migrations not yet applied; changes nothing."""
    applied = _applied(conn) if _history_exists(conn) else {}
    return _check(discover(), applied)


def apply_pending(
    conn: psycopg.Connection,
    *,
    before_first: Callable[[psycopg.Connection], None] | None = None,
    on_backfill: Callable[[int], None] | None = None,
    handlers: Mapping[str, BackfillBatch] | None = None,
) -> list[Migration]:
    """Apply every pending migration, each in its own transaction, under a lock,
    then the backfills they left (`on_backfill(rows)` after each batch).

    `before_first` runs inside the first pending migration's transaction (a legacy
    table in the way is renamed together with the migration that needs its name).
    """
    if not conn.autocommit:
        conn.commit()
        conn.autocommit = True
    _lock(conn)
    try:
        conn.execute(load_sql("migrations/create_history"))
        todo = _check(discover(), _applied(conn))
        for n, migration in enumerate(todo):
            _apply_one(conn, migration, before_first if n == 0 else None)
        run_backfills(conn, on_progress=on_backfill, handlers=handlers)
        return todo
    finally:
        conn.execute(load_sql("migrations/unlock"), {"key": ADVISORY_LOCK_KEY})


def _lock(conn: psycopg.Connection) -> None:
    """Take the migration lock; when another session holds it, say who before
    waiting (a silent wait looks like a hung init-db)."""
    key = {"key": ADVISORY_LOCK_KEY}
    row = conn.execute(load_sql("migrations/try_lock"), key).fetchone()
    if row is not None and row[0]:
        return
    holders = conn.execute(load_sql("migrations/lock_holders"), key).fetchall()
    named = "; ".join(
        f"pid {pid}, role {role or '?'}, application {app or '-'!r}"
        + (f", connected {started:%Y-%m-%d %H:%M:%S %Z}" if started else "")
        for pid, role, app, started in holders
    )
    ending = (
        f"SELECT pg_terminate_backend({holders[0][0]})"
        if holders
        else "pg_terminate_backend"
    )
    logger.warning(
        "waiting for the migration lock, held by another session (%s); it is "
        "released when that session's migration ends or the session closes "
        "(end it with %s)",
        named or "it has just let go",
        ending,
    )
    conn.execute(load_sql("migrations/lock"), key)


BACKFILL_BATCH = 2000
# One batch of a backfill done in Python, in the caller's transaction: (connection,
# the backfill's name, batch size) -> rows looked at.
BackfillBatch = Callable[[psycopg.Connection, str, int], int]


def run_backfills(
    conn: psycopg.Connection,
    *,
    batch: int = BACKFILL_BATCH,
    on_progress: Callable[[int], None] | None = None,
    handlers: Mapping[str, BackfillBatch] | None = None,
) -> int:
    """Run the data backfills migrations left (pmail_backfills) to their end, one
    committed batch at a time: a killed run goes on where it stopped. Returns the rows
    looked at (0 when there was nothing to do).

    A backfill named `<kind>:<detail>` whose kind is in `handlers` runs in Python (it
    reads what only pmail can decode); any other runs
    sql/queries/migrations/backfill_<name>.sql.
    """
    if not _history_exists(conn):
        return 0
    names = [str(r[0]) for r in conn.execute(load_sql("migrations/pending_backfills"))]
    done = 0
    for name in names:
        kind = name.split(":", 1)[0]
        if kind != name and (handlers is None or kind not in handlers):
            logger.warning("backfill %s needs `pmail init-db` to run", name)
            continue
        done += run_backfill(conn, name, batch, on_progress, (handlers or {}).get(kind))
    return done


def run_backfill(
    conn: psycopg.Connection,
    name: str,
    batch: int,
    on_progress: Callable[[int], None] | None,
    handler: BackfillBatch | None = None,
) -> int:
    """Run backfill `name` (`handler`, else sql/queries/migrations/backfill_<name>.sql;
    one committed batch a call, every tenant in scope) until a batch comes back short.
    Returns the rows looked at."""
    done = 0
    while True:
        with conn.transaction():
            conn.execute(load_sql("tenants/scope_all_tenants"))
            if handler is not None:
                seen = handler(conn, name, batch)
            else:
                row = conn.execute(
                    load_sql(f"migrations/backfill_{name}"), {"batch": batch}
                ).fetchone()
                seen = int(str(row[0])) if row else 0
        done += seen
        if seen:
            logger.info("backfill %s: %d rows looked at", name, done)
            if on_progress is not None:
                on_progress(seen)
        if seen < batch:
            return done


def _apply_one(
    conn: psycopg.Connection,
    migration: Migration,
    before: Callable[[psycopg.Connection], None] | None,
) -> None:
    logger.info("applying migration %s", migration.path.name)
    text: LiteralString = migration.sql  # trusted file from sql/migrations
    record = load_sql("migrations/record_applied")
    params = {
        "version": migration.version,
        "name": migration.name,
        "checksum": migration.checksum,
    }
    if migration.no_transaction:
        if before is not None:
            with conn.transaction():
                before(conn)
        conn.execute(text)
        conn.execute(record, params)
        return
    try:
        with conn.transaction():
            if before is not None:
                before(conn)
            conn.execute(text, prepare=False)
            conn.execute(record, params)
    except psycopg.errors.Error as exc:
        if isinstance(exc, psycopg.OperationalError):
            raise  # a lost connection is reported as such by the caller
        raise MigrationError(
            f"migration {migration.path.name} failed and was rolled back: "
            f"{exc.diag.message_primary or exc}",
            hint="nothing of it was applied; fix the cause (often an object in the "
            "way) and run `pmail init-db` again",
        ) from None
