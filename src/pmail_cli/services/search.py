"""Find messages: `pmail list` (filters, newest first) and `pmail search` (full text,
ranked). The filters and the query language are in `pmail_cli.query`."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from datetime import datetime

from pmail_cli.db import Connection
from pmail_cli.errors import UsageError
from pmail_cli.query import Filters
from pmail_cli.repository import search as repo
from pmail_cli.repository.search import Found as Found  # for cli/ to name
from pmail_cli.repository.tenants import Tenant
from pmail_cli.services.tenants import scoped

RANK_WINDOW = 1000  # relevance ranks this many of the newest matches (docs/search.md)
# a phrase of common words is checked on this many of the newest messages before the
# index's candidates are (sql/queries/search/matching_phrase.sql, _phrase_walk)
PHRASE_WALK = 5000
# the newest matches are found a few weeks at a time (sql/queries/search/
# matching_weeks.sql) when the index has more candidates than this share and
# WEEKS_MIN_ROWS, and a walk by date would check more than WALK_ROWS documents for
# them (_by_weeks). The planner estimates a word outside its statistics' most common
# ones at 0.5 % of the documents: such a word alone stays below WEEKS_MIN at any size.
WEEKS_MIN = 0.005
WEEKS_MIN_ROWS = 5000
WALK_ROWS = 5000
MAX_LIMIT = 10000


class Sort(enum.StrEnum):
    """Orders of `pmail search`."""

    relevance = "relevance"
    newest = "newest"


@dataclass(frozen=True, slots=True)
class Marks:
    """What goes around a matched word in a snippet."""

    start: str = "**"
    stop: str = "**"


@dataclass(slots=True)
class SearchResult:
    """One page of matches, and what the user should know about the rest."""

    rows: list[Found] = field(default_factory=list)
    more: bool = False  # another page follows (ask with --after the last key)
    ranked_window: int | None = None  # set when relevance saw only this many matches


def find_messages(
    conn: Connection,
    tenant: Tenant,
    filters: Filters,
    *,
    sort: Sort = Sort.relevance,
    limit: int = 50,
    after: str | None = None,
    marks: Marks | None = None,
) -> SearchResult:
    """One page of the tenant's messages that match `filters`: by relevance when
    there is full text to rank by (and `sort` is relevance), else newest first."""
    if not 1 <= limit <= MAX_LIMIT:
        raise UsageError(
            f"--limit {limit} is out of range", hint=f"give 1 to {MAX_LIMIT}"
        )
    marks = marks or Marks()
    ranked = filters.full_text and sort is Sort.relevance
    with scoped(conn, tenant):
        names, params = _prepare(conn, tenant, filters)
        params |= {
            "limit": limit + 1,
            "scan": RANK_WINDOW if ranked else limit + 1,
            "snippets": filters.full_text,
            "mark_start": marks.start,
            "mark_stop": marks.stop,
            "after_key": None,
            "after_date": None,
        }
        if after is not None:
            from pmail_cli.services.show import find_one  # a next page only

            anchor = find_one(conn, tenant, after)
            params["after_key"] = anchor["storage_key"]
            if not ranked:
                params["after_date"] = _date_of(anchor)
                names.append("after")
        # one statement before the query (search/facts.sql), and the planner's
        # estimate only when it can change the plan (docs/performance.md, "Round
        # trips of a search")
        facts = repo.search_facts(conn, params) if filters.full_text else None
        params["moving"] = facts is not None and facts.moving
        phrase = weeks = False
        # every document in search_documents: read there alone (else both places)
        documents = facts is not None and not facts.moving
        if facts is not None and documents:
            scan = int(str(params["scan"]))
            phrase = facts.phrase
            params["walk"] = _phrase_walk(facts.least_frequency, scan)
            params["candidates"] = facts.candidates
            if not phrase and not facts.negated:
                matches = (
                    repo.estimate_matches(conn, params)
                    if _weeks_possible(facts.documents, scan)
                    else 0.0  # _by_weeks is false whatever the estimate
                )
                weeks = _by_weeks(matches, facts.documents, scan)
        rows = repo.find_page(
            conn,
            ranked=ranked,
            filters=names,
            params=params,
            phrase=phrase,
            documents=documents,
            weeks=weeks,
            jit_off=facts is None,  # search_facts has turned it off
        )
    result = SearchResult(rows=rows[:limit], more=len(rows) > limit)
    if ranked and rows and (rows[0].matched or 0) >= RANK_WINDOW:
        result.ranked_window = RANK_WINDOW
    return result


def count_messages(conn: Connection, tenant: Tenant, filters: Filters) -> int:
    """How many of the tenant's messages match `filters`."""
    with scoped(conn, tenant):
        names, params = _prepare(conn, tenant, filters)
        params["moving"] = filters.full_text and repo.documents_moving(conn)
        return repo.count_matches(conn, filters=names, params=params)


def _prepare(
    conn: Connection, tenant: Tenant, filters: Filters
) -> tuple[list[str], dict[str, object]]:
    """The filter fragments a search needs, and their parameters."""
    if filters.full_text and not tenant.search_index:
        raise UsageError(
            f"tenant {tenant.name!r} has no full-text index",
            hint=f"turn it on with `pmail tenant set {tenant.name} --search on`, "
            "or search by fields only (from:, type:, after: …)",
        )
    if filters.since and filters.until and filters.since >= filters.until:
        raise UsageError(
            "the date range is empty: --since is not before --until",
            hint="e.g. --since 2026-11-01 --until 2026-11-30",
        )
    params: dict[str, object] = {
        "tenant_id": tenant.tenant_id,
        "language": tenant.search_language,
        "words": filters.text,
        "subjects": filters.subjects,
        "filenames": filters.filenames,
        "since": filters.since,
        "until": filters.until,
        "directions": filters.directions,
        "types": filters.types,
        "statuses": filters.statuses,
        "addresses": sorted(set(filters.addresses)),
        "campaign": filters.campaign,
        "lead": filters.lead,
        "account": filters.account,
        "mime_type": filters.mime_type,
        "reason": filters.reason,
        "bounce_class": filters.bounce_class,
        "recipient": filters.recipient,
        "thread": None,
        # stored documents still being moved into search_documents (docs/search.md):
        # set by the caller (search_facts, documents_moving)
        "moving": False,
    }
    if filters.thread is not None:
        from pmail_cli.services.show import find_one  # a thread: filter only

        params["thread"] = find_one(conn, tenant, filters.thread)["storage_key"]
    names = [
        name
        for name in repo.FILTERS
        if name not in ("full_text", "has_attachment", "after") and params.get(name)
    ]
    if filters.has_attachment:
        names.append("has_attachment")
    if filters.full_text:
        names.append("full_text")
    return names, params


def _phrase_walk(least_frequency: float, scan: int) -> int:
    """How many of the newest messages a phrase is checked on first (0: none, the
    index's candidates are). The phrase is in at most the share of documents that
    hold its least frequent word: the walk is twice what that share needs for `scan`
    matches, at most PHRASE_WALK; skipped when even PHRASE_WALK could not give them."""
    if least_frequency * PHRASE_WALK < scan:
        return 0
    return min(PHRASE_WALK, math.ceil(2 * scan / least_frequency))


def _weeks_possible(documents: float, scan: int) -> bool:
    """Whether any estimate of the matches could make `_by_weeks` true: the share
    WEEKS_MIN (and WEEKS_MIN_ROWS) must be below what a walk of WALK_ROWS documents finds
    `scan` of. When it is not (fewer than 25,000 documents ranked, about 490,000
    newest first for a page of 50), the planner's estimate is not asked for."""
    return max(WEEKS_MIN * documents, WEEKS_MIN_ROWS) * WALK_ROWS < scan * documents


def _by_weeks(matches: float, documents: float, scan: int) -> bool:
    """Whether the newest `scan` matches are found a few weeks at a time: when the
    index's candidates (`matches` of `documents`, the planner's estimates) are more
    than the share WEEKS_MIN and at least 5,000 (too many to read them all), and too
    rare for a walk by date to find `scan` of them within WALK_ROWS documents. Else
    the planner's own plan (the walk for a common word, the candidates for a rare
    one) is cheaper."""
    return (
        matches > max(WEEKS_MIN * documents, WEEKS_MIN_ROWS)
        and matches * WALK_ROWS < scan * documents
    )


def _date_of(row: dict[str, object]) -> datetime:
    when = row.get("sent_at") or row.get("created")
    assert isinstance(when, datetime)
    return when
