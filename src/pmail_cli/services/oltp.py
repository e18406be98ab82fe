"""Campaign and mailbox names from the platform's operational database.

With `--oltp-dsn` (or `oltp_dsn` in the config file, or PMAIL_OLTP_DSN) the reports
name campaigns and sending accounts from that database's tables, on a read-only
connection, by id; the join happens in pmail, never across databases. Table and
column names come from the config file's `[oltp]` table (docs/config.md). An id the
operational database does not know is shown as it is and flagged; a database that
cannot be read is a clear error.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import psycopg
from psycopg import sql

from pmail_cli.errors import DatabaseUnavailable, UsageError
from pmail_cli.services.reports import Names
from pmail_cli.sqlfiles import compose_sql, load_sql

DEFAULTS = {
    "campaigns_table": "campaigns",
    "campaigns_id": "id",
    "campaigns_name": "name",
    "accounts_table": "email_accounts",
    "accounts_id": "id",
    "accounts_name": "email",
}


def _identifier(name: str) -> sql.Identifier:
    """`schema.table` or `table`."""
    return sql.Identifier(*name.split(".", 1))


def oltp_names(dsn: str, tables: Mapping[str, str]) -> Names:
    """A name lookup that asks the operational database (read-only)."""
    unknown = set(tables) - set(DEFAULTS)
    if unknown:
        raise UsageError(
            f"unknown [oltp] keys: {', '.join(sorted(unknown))}",
            hint="known: " + ", ".join(DEFAULTS),
        )
    names = {**DEFAULTS, **tables}

    def lookup(kind: str, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
        if not ids:
            return {}
        query = compose_sql(
            "oltp/names",
            table=_identifier(names[f"{kind}_table"]),
            id=sql.Identifier(names[f"{kind}_id"]),
            name=sql.Identifier(names[f"{kind}_name"]),
        )
        try:
            with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
                conn.execute(load_sql("oltp/read_only"))
                rows = conn.execute(query, {"ids": [str(i) for i in ids]}).fetchall()
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailable(
                f"cannot read the operational database: {str(exc).strip().splitlines()[-1]}",
                hint="check --oltp-dsn (or oltp_dsn in the config file)",
            ) from None
        except psycopg.errors.UndefinedTable as exc:
            raise UsageError(
                f"the operational database has no table {names[f'{kind}_table']}: "
                f"{exc.diag.message_primary}",
                hint="name it in the [oltp] table of the config file (docs/config.md)",
            ) from None
        except psycopg.errors.UndefinedColumn as exc:
            raise UsageError(
                f"the operational database's {names[f'{kind}_table']} lacks a column: "
                f"{exc.diag.message_primary}",
                hint="name the columns in the [oltp] table of the config file",
            ) from None
        return {uuid.UUID(str(i)): str(n) for i, n in rows if n is not None}

    return Names(lookup, missing="not in the operational database", source="oltp")
