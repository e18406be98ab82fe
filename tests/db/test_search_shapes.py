"""The search shapes that are slow at a million messages (docs/performance.md,
Search), for their answers: a phrase of two common words that are rarely adjacent, an
OR of two words, words with field filters, and deep keyset pages (newest first and
ranked) that return every match once, in order, whether the anchor is a whole key or
a prefix of one."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from pmail_cli.config import Settings
from pmail_cli.db import connect
from pmail_cli.query import parse_query
from pmail_cli.repository import search as repo
from pmail_cli.repository.tenants import Tenant
from pmail_cli.services import ingest, search, tenants
from pmail_cli.services.pipeline import PipelineOptions

pytestmark = pytest.mark.db
Conn = psycopg.Connection[tuple[object, ...]]
COUNT = 36


def _body(n: int) -> str:
    """Every body has 'size' and 'with', apart; a few have them adjacent."""
    words = ["size", "of", "the", "deck", "goes", "with", "the", "notes"]
    if n % 9 == 4:
        words += ["and", "size", "with", "margins"]  # the phrase: n = 4, 13, 22, 31
    if n % 5 == 0:
        words.append("topic")  # n = 0, 5, 10, ..., 35
    if n % 7 == 3:
        words.append("allow")  # n = 3, 10, 17, 24, 31
    return " ".join(words) + f" ref{n}."


def _raw(n: int) -> bytes:
    inbound = n % 2 == 0
    head = [
        f"From: {f'lead{n}@example.com' if inbound else 'sdr@acme.test'}",
        f"To: {'sdr@acme.test' if inbound else f'lead{n}@example.com'}",
        f"Subject: note {n}",
        f"Date: {1 + n % 28:02d} {('Sep', 'Oct')[n // 28]} 2026 10:{n:02d}:00 +0000",
        f"Message-ID: <shape-{n}@test>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ]
    return ("\r\n".join(head) + "\r\n\r\n" + _body(n) + "\r\n").encode()


@pytest.fixture
def shapes(dsn: str, tmp_path: Path) -> Iterator[tuple[Conn, Tenant, dict[str, int]]]:
    """Tenant shapes with COUNT messages; the map from key to message number."""
    with connect(Settings(dsn=dsn, dsn_source="test")) as conn:
        scope = tenants.add_tenant(conn, "shapes")
        tenants.add_account(conn, scope, email="sdr@acme.test")  # odd n: outbound
        for n in range(COUNT):
            (tmp_path / f"{n}.eml").write_bytes(_raw(n))
        ingest.ingest_paths(
            conn, [str(tmp_path)], tenant=scope, options=PipelineOptions(), jobs=1
        )
        tenant = tenants.find_tenant(conn, "shapes")
        keys = {
            hashlib.sha256(tenant.tenant_id.bytes + _raw(n)).hexdigest()[:32]: n
            for n in range(COUNT)
        }
        yield conn, tenant, keys


def _newest(numbers: set[int]) -> list[int]:
    """Numbers in newest-first order: October after September, then day, then minute."""
    return sorted(numbers, key=lambda n: (n // 28, n % 28, n), reverse=True)


def _pages(
    shapes: tuple[Conn, Tenant, dict[str, int]],
    query: str,
    sort: search.Sort,
    size: int,
    prefix: bool = False,
) -> list[int]:
    """Every page of `size` rows, each asked for after the last key shown."""
    conn, tenant, keys = shapes
    filters = parse_query(query)
    seen: list[int] = []
    after: str | None = None
    while True:
        page = search.find_messages(
            conn, tenant, filters, sort=sort, limit=size, after=after
        )
        seen += [keys[r.storage_key] for r in page.rows]
        if not page.more:
            return seen
        after = page.rows[-1].storage_key[: 12 if prefix else None]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('"size with"', {4, 13, 22, 31}),
        ("topic OR allow", {n for n in range(COUNT) if n % 5 == 0 or n % 7 == 3}),
        ('"size with" OR allow', {3, 4, 10, 13, 17, 22, 24, 31}),
        ("topic direction:inbound", {0, 10, 20, 30}),
        ("topic from:lead10@example.com", {10}),
        ("allow after:2026-10-01", {31}),
        ("size before:2026-09-03 type:email", {0, 1, 2}),  # the bare date: its day too
        ("", set(range(COUNT))),
    ],
)
def test_slow_shapes_give_known_answers_on_every_page(
    shapes: tuple[Conn, Tenant, dict[str, int]], query: str, expected: set[int]
) -> None:
    """Newest first in pages of 1, 3 and 50, and ranked in pages of 2: exactly the
    expected messages, each once, in order; an anchor given as a key prefix pages
    the same."""
    for size in (1, 3, 50):
        assert _pages(shapes, query, search.Sort.newest, size) == _newest(expected)
    assert _pages(shapes, query, search.Sort.newest, 3, prefix=True) == _newest(
        expected
    )
    conn, tenant, keys = shapes
    whole = search.find_messages(conn, tenant, parse_query(query), limit=100)
    ranked = [keys[r.storage_key] for r in whole.rows]
    assert set(ranked) == expected and len(ranked) == len(expected)
    assert _pages(shapes, query, search.Sort.relevance, 2) == ranked
    assert search.count_messages(conn, tenant, parse_query(query)) == len(expected)


@pytest.mark.parametrize("candidates", [0.0, 1e12])
@pytest.mark.parametrize("walk", [0, 1, 2, 3, 5, 5000])
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('"size with"', {4, 13, 22, 31}),
        ('"size with" direction:inbound', {4, 22}),
        ('"size with" OR allow', {3, 4, 10, 13, 17, 22, 24, 31}),
        ('"the notes" before:2026-09-04', {0, 1, 2, 3}),
        ('"notes size"', set()),
    ],
)
def test_a_phrase_gives_the_same_answer_walked_or_from_the_index(
    shapes: tuple[Conn, Tenant, dict[str, int]],
    monkeypatch: pytest.MonkeyPatch,
    walk: int,
    candidates: float,
    query: str,
    expected: set[int],
) -> None:
    """A phrase is checked on the newest `walk` messages first (0: none); when those
    do not give a page, on the index's candidates if there are few (estimated) or by
    walking on if there are many: every page the same every way."""

    facts = repo.search_facts

    def estimated(conn: Conn, params: Mapping[str, object]) -> repo.Facts:
        # every query here has a phrase: the statistics say so (the statement runs)
        real = facts(conn, params)
        return replace(real, phrase=True, least_frequency=0.0, candidates=candidates)

    monkeypatch.setattr(search, "_phrase_walk", lambda least, scan: walk)
    monkeypatch.setattr(repo, "search_facts", estimated)
    _assert_same_every_page(shapes, query, expected)


def _assert_same_every_page(
    shapes: tuple[Conn, Tenant, dict[str, int]], query: str, expected: set[int]
) -> None:
    """`query` finds exactly `expected`, newest first on pages of 1, 2 and 50, and
    ranked on pages of 2 in the order of one ranked page of everything."""
    for size in (1, 2, 50):
        assert _pages(shapes, query, search.Sort.newest, size) == _newest(expected)
    conn, tenant, keys = shapes
    whole = search.find_messages(conn, tenant, parse_query(query), limit=100)
    assert {keys[r.storage_key] for r in whole.rows} == expected
    assert len(whole.rows) == len(expected)
    assert _pages(shapes, query, search.Sort.relevance, 2) == [
        keys[r.storage_key] for r in whole.rows
    ]


def test_search_facts_read_the_planners_statistics(
    shapes: tuple[Conn, Tenant, dict[str, int]],
) -> None:
    """A phrase is told from words, and its words' shares come from pg_stats once
    the documents are analyzed (this test's role bypasses row-level security); a
    negation is told from words, the documents are the planner's count, nothing is
    being moved, and JIT is off for the rest of the transaction."""
    conn, tenant, _ = shapes
    conn.execute("ANALYZE search_documents")
    base = {"language": "simple", "subjects": None, "filenames": None}
    with tenants.scoped(conn, tenant):
        conn.execute("SET LOCAL jit = on")
        phrase = repo.search_facts(conn, base | {"words": '"size with"'})
        row = conn.execute("SELECT current_setting('jit')").fetchone()
        words = repo.search_facts(conn, base | {"words": "size with"})
        negated = repo.search_facts(conn, base | {"words": "size -with"})
    assert row == ("off",)
    assert phrase.phrase and not words.phrase and not negated.phrase
    assert negated.negated and not phrase.negated and not words.negated
    assert phrase.least_frequency > 0.5 and phrase.candidates > 0  # all have both
    assert {phrase.documents, words.documents, negated.documents} == {COUNT}
    assert not (phrase.moving or words.moving or negated.moving)


@pytest.mark.parametrize("weeks", [True, False])
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("topic OR allow", {n for n in range(COUNT) if n % 5 == 0 or n % 7 == 3}),
        ("size -topic", {n for n in range(COUNT) if n % 5 != 0}),
        ('"size with"', {4, 13, 22, 31}),
        ("topic direction:inbound", {0, 10, 20, 30}),
        ("topic from:lead10@example.com", {10}),
        ("allow after:2026-10-01", {31}),
        ("size before:2026-09-03 type:email", {0, 1, 2}),
        ("notes after:2026-09-20 before:2026-10-03", set(range(19, 31))),
        ("pmail OR week", set()),  # the index's week entries match no query word
    ],
)
def test_a_search_gives_the_same_answer_a_few_weeks_at_a_time(
    shapes: tuple[Conn, Tenant, dict[str, int]],
    monkeypatch: pytest.MonkeyPatch,
    weeks: bool,
    query: str,
    expected: set[int],
) -> None:
    """The newest matches found a few weeks at a time (the newest week, then spans
    of 1, 2, 4 ... weeks before it) or as the planner chooses: the same messages in
    the same order on every page, newest first and ranked, a negation too."""

    facts = repo.search_facts

    def never_negated(conn: Conn, params: Mapping[str, object]) -> repo.Facts:
        # never a negation: every query may go by weeks
        return replace(facts(conn, params), negated=False)

    monkeypatch.setattr(repo, "search_facts", never_negated)
    monkeypatch.setattr(search, "_by_weeks", lambda matches, documents, scan: weeks)
    _assert_same_every_page(shapes, query, expected)


def test_ranks_are_the_documents_whichever_way_they_are_found(
    shapes: tuple[Conn, Tenant, dict[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rank the page shows is ts_rank of the message's stored document (the
    matching step carries it), found by weeks or not."""
    conn, tenant, _ = shapes
    filters = parse_query("topic OR allow")
    monkeypatch.setattr(search, "_by_weeks", lambda matches, documents, scan: True)
    by_weeks = search.find_messages(conn, tenant, filters, limit=100).rows
    monkeypatch.setattr(search, "_by_weeks", lambda matches, documents, scan: False)
    planned = search.find_messages(conn, tenant, filters, limit=100).rows
    assert [(r.storage_key, r.rank) for r in by_weeks] == [
        (r.storage_key, r.rank) for r in planned
    ]
    with tenants.scoped(conn, tenant):
        rows = conn.execute(
            "SELECT storage_key, ts_rank(pmail_search_weights(), document,"
            " to_tsquery('simple', 'topic | allow')) FROM search_documents"
            " WHERE tenant_id = %s",
            (tenant.tenant_id,),
        ).fetchall()
    stored = {str(key): float(str(rank)) for key, rank in rows}
    assert len(by_weeks) == 12
    assert all(r.rank == pytest.approx(stored[r.storage_key]) for r in by_weeks)


@pytest.mark.parametrize("year", [2100, 3500, 9999])
def test_a_message_from_the_far_future_breaks_no_search_by_weeks(
    shapes: tuple[Conn, Tenant, dict[str, int]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    year: int,
) -> None:
    """Anyone can send the tenant a message dated up to 9999 (the Date header's
    bound). A search by weeks starts at the newest document's week and widens its
    spans back to the oldest; a span of tens of thousands of weeks as one query of
    the week index fails in PostgreSQL ('value is too big in tsquery', or the stack
    depth). The same answers as by the planner, whichever the newest date."""
    conn, tenant, _ = shapes
    far = tmp_path / "far"
    far.mkdir()
    (far / "far.eml").write_bytes(
        _raw(7)
        .replace(b"2026 10:07", f"{year} 10:07".encode())
        .replace(b"<shape-7@test>", b"<far@test>")
        .replace(b"ref7.", b"ref7 faraway.")
    )
    ingest.ingest_paths(
        conn, [str(far)], tenant=tenant, options=PipelineOptions(), jobs=1
    )

    found = {}
    for weeks in (True, False):
        monkeypatch.setattr(search, "_by_weeks", lambda m, d, s, w=weeks: w)
        for query in ("topic", "faraway", "allow OR faraway"):
            rows = search.find_messages(conn, tenant, parse_query(query), limit=50)
            found[(weeks, query)] = [r.storage_key for r in rows.rows]
    for query in ("topic", "faraway", "allow OR faraway"):
        assert found[(True, query)] == found[(False, query)], query
    assert len(found[(True, "topic")]) == 8 and len(found[(True, "faraway")]) == 1
