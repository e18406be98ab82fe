"""`pmail list` / `pmail search`: one query file per order, filter fragments between."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from psycopg import sql
from psycopg.rows import class_row

from pmail_cli.db import Connection
from pmail_cli.sqlfiles import compose_sql, load_sql

FILTERS = (
    "since", "until", "directions", "types", "statuses", "addresses", "campaign",
    "lead", "account", "has_attachment", "mime_type", "reason", "bounce_class",
    "recipient", "thread", "full_text", "after",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Found:
    """One message in a list or search result."""

    storage_key: str
    date: datetime
    direction: str
    message_type: str
    status: str
    from_email: str | None
    to_email: str | None
    subject: str | None
    bounce_reason: str | None
    rank: float | None
    snippet: str | None
    matched: int | None  # ranked: matches the ranking saw (at most the window)


def _with_filters(name: str, filters: Sequence[str]) -> sql.Composed:
    """sql/queries/search/<name>.sql with the chosen fragments of
    sql/queries/search/filters/ in its {filters}, or in the {filters} of the
    matching.sql it holds as {matching} (trusted files, never user text)."""
    unknown = set(filters) - set(FILTERS)
    if unknown:
        raise ValueError(f"no such search filter: {sorted(unknown)}")
    parts = sql.SQL("\n").join(
        sql.SQL(load_sql(f"search/filters/{f}")) for f in filters
    )
    if name == "count":
        return compose_sql("search/count", filters=parts)
    matching = compose_sql("search/matching", filters=parts)
    return compose_sql(f"search/{name}", matching=matching)


def find_page(
    conn: Connection,
    *,
    ranked: bool,
    filters: Sequence[str],
    params: Mapping[str, object],
) -> list[Found]:
    """A page of matches: by relevance among the newest `window` matches
    (search/ranked.sql), or newest first (search/newest.sql)."""
    with conn.cursor(row_factory=class_row(Found)) as cur:
        cur.execute(_with_filters("ranked" if ranked else "newest", filters), params)
        return cur.fetchall()


def count_matches(
    conn: Connection, *, filters: Sequence[str], params: Mapping[str, object]
) -> int:
    """How many messages match."""
    row = conn.execute(_with_filters("count", filters), params).fetchone()
    return int(str(row[0])) if row else 0
