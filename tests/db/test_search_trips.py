"""The statements a search sends, counted on a real connection (docs/performance.md,
"Round trips of a search"): one statement of facts before the query, the planner's
estimate only when it can change the plan; and the same answers and the same plan
choices as when every estimate is asked for, as the owner and as a tenant login."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import psycopg
import pytest

from pmail_cli.query import parse_query
from pmail_cli.repository import search as repo
from pmail_cli.repository.tenants import Tenant
from pmail_cli.services import search, tenants
from pmail_cli.sqlfiles import load_sql
from tests.support.tenancy import Conn

pytestmark = pytest.mark.db

# the statements a search may send, by their SQL file (the query: anything else)
NAMED = ("tenants/scope_transaction", "search/facts", "search/estimate",
         "search/moving", "search/jit_off")  # fmt: skip


class Counted(psycopg.Cursor[Any]):
    """A cursor that notes the SQL file of each statement it executes."""

    sent: ClassVar[list[str]] = []

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        text = query if isinstance(query, str) else query.as_string(self.connection)
        known = [n for n in NAMED if text.strip() == load_sql(n).strip()]
        Counted.sent.append(known[0].split("/")[1] if known else "query")
        return super().execute(query, params, **kwargs)


@pytest.fixture
def counted() -> Iterator[list[str]]:
    Counted.sent = []
    yield Counted.sent


def _sent(
    conn: Conn, tenant: Tenant, words: str, sort: search.Sort, sent: list[str]
) -> list[str]:
    """The statements of one search, by name."""
    conn.cursor_factory = Counted
    try:
        sent.clear()
        search.find_messages(conn, tenant, parse_query(words), sort=sort, limit=50)
        return list(sent)
    finally:
        conn.cursor_factory = psycopg.Cursor


RANKED, NEWEST = search.Sort.relevance, search.Sort.newest
SHAPES = [
    ("deck", RANKED),  # one message
    ("message", RANKED),  # most
    ("message", NEWEST),
    ("message -deck", RANKED),  # a negation
    ('"quick question"', RANKED),  # a phrase
    ("message after:2024-01-01 before:2024-12-31", NEWEST),  # a date range
    ("message from:sdr1@acme.test", RANKED),  # a field on the message row
    ("message OR deck", RANKED),
]


@pytest.fixture
def owner(two_tenants: str) -> Iterator[tuple[Conn, Tenant]]:
    with psycopg.connect(two_tenants) as conn:
        conn.execute("ANALYZE search_documents")  # statistics: phrases are told
        conn.commit()
        yield conn, tenants.find_tenant(conn, "a")


@pytest.fixture
def login(login_a: str, owner: tuple[Conn, Tenant]) -> Iterator[tuple[Conn, Tenant]]:
    with psycopg.connect(login_a) as conn:
        yield conn, tenants.find_tenant(conn, "a")


@pytest.mark.parametrize(("words", "sort"), SHAPES)
def test_a_search_sends_its_facts_in_one_statement(
    owner: tuple[Conn, Tenant],
    login: tuple[Conn, Tenant],
    counted: list[str],
    monkeypatch: pytest.MonkeyPatch,
    words: str,
    sort: search.Sort,
) -> None:
    """Every shape, as the owner and as a tenant login: the scope, one statement of
    facts (which turns JIT off too), the query. The planner's estimate comes between
    only for words without a phrase or a negation when the documents are enough for
    it to choose the weeks: never at this size, and when there are (WALK_ROWS and
    WEEKS_MIN_ROWS made 1 here, for the same effect), only then. A phrase is told as the owner only
    (pg_stats is hidden from a tenant login): the login asks for the estimate."""
    for who, (conn, tenant) in (("owner", owner), ("login", login)):
        assert _sent(conn, tenant, words, sort, counted) == [
            "scope_transaction", "facts", "query"
        ], who  # fmt: skip
    monkeypatch.setattr(search, "WALK_ROWS", 1)
    monkeypatch.setattr(search, "WEEKS_MIN_ROWS", 1)
    for who, (conn, tenant) in (("owner", owner), ("login", login)):
        negated = any(w.startswith("-") for w in words.split())
        asks = not negated and not ('"' in words and who == "owner")
        assert _sent(conn, tenant, words, sort, counted) == [
            "scope_transaction", "facts", *(["estimate"] if asks else []), "query"
        ], who  # fmt: skip


def test_a_list_and_a_count_send_what_they_did(
    owner: tuple[Conn, Tenant], counted: list[str]
) -> None:
    """Without words: the scope, JIT off, the query. A count with words: the
    scope, whether documents are being moved, the count."""
    conn, tenant = owner
    assert _sent(conn, tenant, "", NEWEST, counted) == [
        "scope_transaction", "jit_off", "query"
    ]  # fmt: skip
    conn.cursor_factory = Counted
    counted.clear()
    assert search.count_messages(conn, tenant, parse_query("message")) == 4
    conn.cursor_factory = psycopg.Cursor
    assert counted == ["scope_transaction", "moving", "query"]


@pytest.mark.parametrize(("words", "sort"), SHAPES)
@pytest.mark.parametrize("small", [False, True])
def test_the_same_answers_and_plans_as_with_every_estimate(
    owner: tuple[Conn, Tenant],
    login: tuple[Conn, Tenant],
    monkeypatch: pytest.MonkeyPatch,
    words: str,
    sort: search.Sort,
    small: bool,
) -> None:
    """Each shape gives the same rows (keys, order, ranks, snippets) and chooses the
    same way to read the index (phrase, weeks) whether the estimate is skipped when
    it cannot matter or always asked for (as before), as the owner and as a's
    login; and the login finds what the owner finds in tenant a. `small`: the
    thresholds made 1, so that the estimate is asked for and may choose the weeks."""
    if small:
        monkeypatch.setattr(search, "WALK_ROWS", 1)
        monkeypatch.setattr(search, "WEEKS_MIN_ROWS", 1)
    chosen: list[tuple[bool, bool, bool]] = []
    find_page = repo.find_page

    def noted(conn: Conn, **kwargs: Any) -> list[repo.Found]:
        chosen.append((kwargs["phrase"], kwargs["weeks"], kwargs["documents"]))
        return find_page(conn, **kwargs)

    monkeypatch.setattr(repo, "find_page", noted)
    possible = search._weeks_possible
    answers = {}
    for every in (False, True):
        monkeypatch.setattr(
            search, "_weeks_possible", (lambda d, s: True) if every else possible
        )
        for who, (conn, tenant) in (("owner", owner), ("login", login)):
            chosen.clear()
            found = search.find_messages(
                conn, tenant, parse_query(words), sort=sort, limit=50
            )
            answers[(who, every)] = (found.rows, found.more, list(chosen))
    for who in ("owner", "login"):
        assert answers[(who, False)] == answers[(who, True)], who
    assert answers[("owner", False)][0] == answers[("login", False)][0]
    assert answers[("owner", False)][0], words  # every shape finds something


@pytest.mark.parametrize("scan", [1, 2, 51, 1000, 1001, 10001])
def test_the_estimate_is_skipped_only_when_no_estimate_could_choose_the_weeks(
    scan: int,
) -> None:
    """Where `_weeks_possible` says no, `_by_weeks` is false for every estimate,
    at the edges too; where it says yes, some estimate makes it true."""
    for documents in (0.0, 36.0, 24_999.0, 25_000.0, 25_001.0, 490_196.0, 490_197.0,
                      1e6, 1e6 + 1, 3.3e7, 1e9):  # fmt: skip
        edge = max(search.WEEKS_MIN * documents, search.WEEKS_MIN_ROWS)
        top = scan * documents / search.WALK_ROWS
        estimates = [0.0, 1.0, edge, edge + 1e-6, edge * (1 + 1e-12), edge + 1,
                     top - 1, top, top + 1, documents, 1e12]  # fmt: skip
        if not search._weeks_possible(documents, scan):
            chosen = [m for m in estimates if search._by_weeks(m, documents, scan)]
            assert chosen == [], (documents, scan)
        else:
            middle = (edge + top) / 2
            assert search._by_weeks(middle, documents, scan), (documents, scan)


def test_a_connection_that_searches_again_and_again_prepares_nothing(
    owner: tuple[Conn, Tenant], login: tuple[Conn, Tenant]
) -> None:
    """psycopg prepares a statement at its sixth run on a connection, and PostgreSQL
    may then plan it once for every value: a common word then took the rare word's
    plan (5.5 s instead of 0.05 s at 1M messages). A search's statements are never
    prepared, however often one connection searches (repository/search.py); the
    scope statement may be, its plan is the same for every tenant."""
    for conn, tenant in (owner, login):
        for _ in range(3):
            for words, sort in SHAPES:
                search.find_messages(
                    conn, tenant, parse_query(words), sort=sort, limit=50
                )
            search.count_messages(conn, tenant, parse_query("message"))
        prepared = conn.execute(
            "SELECT statement FROM pg_prepared_statements"
            " WHERE statement NOT LIKE '%%pmail_scope_tenant(%%'"  # one plan for all
        ).fetchall()
        assert prepared == []
