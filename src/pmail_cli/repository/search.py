"""`pmail list` / `pmail search`: one query file per order, filter fragments between."""

from __future__ import annotations

import json
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


# the filters search_documents answers from its own columns (sql/queries/search/documents/)
DOCUMENT_FILTERS = ("since", "until", "directions", "types", "after")


def _with_filters(
    name: str,
    filters: Sequence[str],
    *,
    phrase: bool = False,
    documents: bool = False,
    weeks: bool = False,
) -> sql.Composed:
    """sql/queries/search/<name>.sql with the chosen fragments of
    sql/queries/search/filters/ in its {filters}, or in the {filters} of the
    matching.sql it holds as {matching} (trusted files, never user text). With
    `documents` (full text, every document in search_documents), the matching is
    matching_documents.sql, with `weeks` matching_weeks.sql (a few weeks at a time),
    or with `phrase` matching_phrase.sql, which checks the full text itself: the filters search_documents has columns for from
    sql/queries/search/documents/, the others on the message row
    (documents/messages.sql)."""
    unknown = set(filters) - set(FILTERS)
    if unknown:
        raise ValueError(f"no such search filter: {sorted(unknown)}")
    if name == "count" or not documents:
        parts = sql.SQL("\n").join(
            sql.SQL(load_sql(f"search/filters/{f}")) for f in filters
        )
        if name == "count":
            return compose_sql("search/count", filters=parts)
        return compose_sql(
            f"search/{name}", matching=compose_sql("search/matching", filters=parts)
        )
    own: list[sql.Composable] = [
        sql.SQL(load_sql(f"search/documents/{f}"))
        for f in filters
        if f in DOCUMENT_FILTERS
    ]
    rest = [f for f in filters if f not in DOCUMENT_FILTERS and f != "full_text"]
    if rest:
        own.append(
            compose_sql(
                "search/documents/messages",
                filters=sql.SQL("\n").join(
                    sql.SQL(load_sql(f"search/filters/{f}")) for f in rest
                ),
            )
        )
    if phrase:
        matching_name = "search/matching_phrase"
    elif weeks:
        matching_name = "search/matching_weeks"
    else:
        matching_name = "search/matching_documents"
    matching = compose_sql(matching_name, documents=sql.SQL("\n").join(own))
    return compose_sql(f"search/{name}", matching=matching)


# _NEVER_PREPARED: a search's statements are never prepared on the server. psycopg
# prepares a statement at its sixth run on one connection, and PostgreSQL may then
# plan it once for every value (a generic plan): after a dozen rare-word searches on
# one connection, a common word's search took 5.5 s instead of 0.05 s (1M messages,
# docs/performance.md, "Round trips of a search"). The plan of a search, and the
# planner's estimate that chooses it, depend on the words.


def documents_moving(conn: Connection) -> bool:
    """Whether stored documents are still being moved into search_documents
    (search/moving.sql): the search then reads email_content's too."""
    row = conn.execute(load_sql("search/moving")).fetchone()
    return bool(row and row[0])


@dataclass(frozen=True, slots=True)
class Facts:
    """What a search with words knows before its query (search/facts.sql)."""

    moving: bool  # documents still being moved: email_content's are read too
    phrase: bool  # the words hold a phrase, and the statistics can be seen
    least_frequency: float  # share of documents holding the least frequent word
    candidates: float  # documents holding all the words, estimated
    documents: float  # the planner's count of documents (all tenants')
    negated: bool  # the words hold a negation


def search_facts(conn: Connection, params: Mapping[str, object]) -> Facts:
    """The facts of a search with words, in one statement (search/facts.sql), which
    also turns JIT off for the rest of the transaction."""
    row = conn.execute(load_sql("search/facts"), params, prepare=False).fetchone()
    if row is None:
        return Facts(False, False, 0.0, 0.0, 0.0, False)
    return Facts(
        moving=bool(row[0]),
        phrase=bool(row[1]),
        least_frequency=float(str(row[2])),
        candidates=float(str(row[3])),
        documents=float(str(row[4])),
        negated=bool(row[5]),
    )


def estimate_matches(conn: Connection, params: Mapping[str, object]) -> float:
    """The planner's estimate of the documents matching the search's words
    (search/estimate.sql): nothing is searched."""
    row = conn.execute(load_sql("search/estimate"), params, prepare=False).fetchone()
    plan = row[0] if row else None
    if isinstance(plan, str):
        plan = json.loads(plan)
    return float(plan[0]["Plan"]["Plan Rows"]) if isinstance(plan, list) else 0.0


def find_page(
    conn: Connection,
    *,
    ranked: bool,
    filters: Sequence[str],
    params: Mapping[str, object],
    phrase: bool = False,
    documents: bool = False,
    weeks: bool = False,
    jit_off: bool = True,
) -> list[Found]:
    """A page of matches: by relevance among the newest `window` matches
    (search/ranked.sql), or newest first (search/newest.sql); `documents`: the
    matches found in search_documents alone (search/matching_documents.sql, with
    `weeks` search/matching_weeks.sql, or with `phrase` search/matching_phrase.sql:
    params `walk` too). `jit_off`: turn JIT off first (not needed after
    search_facts, which has)."""
    query = _with_filters(
        "ranked" if ranked else "newest",
        filters,
        phrase=phrase,
        documents=documents,
        weeks=weeks,
    )
    if jit_off:
        conn.execute(load_sql("search/jit_off"))  # for this transaction only
    with conn.cursor(row_factory=class_row(Found)) as cur:
        cur.execute(query, params, prepare=False)  # see _NEVER_PREPARED
        return cur.fetchall()


def count_matches(
    conn: Connection, *, filters: Sequence[str], params: Mapping[str, object]
) -> int:
    """How many messages match."""
    row = conn.execute(
        _with_filters("count", filters), params, prepare=False
    ).fetchone()
    return int(str(row[0])) if row else 0
