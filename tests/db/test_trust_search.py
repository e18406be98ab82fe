"""What migrations 0021 (search texts), 0022 (the week index) and the backfills'
cursor table add to a tenant login's reach (docs/security.md), attacked as one: it
may not read another tenant's document through a function, move or end a
backfill, or read another tenant's words from the planner's estimates."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from tests import mailgen
from tests.support.tenancy import Conn, login_refusal, pmail, tenant_ids

pytestmark = pytest.mark.db

WORD = "zebracorn"  # in many of b's messages, in none of a's


def _other_key(conn: Conn, tenant: str) -> str:
    row = conn.execute(
        "SELECT storage_key FROM email_content WHERE tenant_id = %s LIMIT 1",
        (tenant,),
    ).fetchone()
    assert row is not None
    return str(row[0])


def test_the_search_functions_give_no_other_tenants_document(
    login_a: str, conn: Conn
) -> None:
    """pmail_stored_search_vector (0021) takes a tenant and a key; as a's login,
    b's key gives nothing, though the owner gets b's document from it."""
    a, b = tenant_ids(conn)
    theirs, mine = _other_key(conn, b), _other_key(conn, a)
    call = "SELECT pmail_stored_search_vector(%s, %s)::text"
    with conn.transaction():
        conn.execute("SELECT pmail_scope_all_tenants()")
        row = conn.execute(call, (b, theirs)).fetchone()
        assert row is not None and row[0]  # the owner: b's document
    with psycopg.connect(login_a, autocommit=True) as session:
        assert session.execute(call, (b, theirs)).fetchone() == (None,)
        own = session.execute(call, (a, mine)).fetchone()
        assert own is not None and own[0]  # and its own, to show the call works
        week = session.execute(
            "SELECT pmail_search_week(now()), pmail_search_weeks_query(1, 2)::text"
        ).fetchone()
        assert week is not None  # pure functions of their arguments
        assert week[1] == "'pmail week 1' | 'pmail week 2'"


def test_a_tenant_login_cannot_move_or_end_a_backfill(login_a: str, conn: Conn) -> None:
    """pmail_backfills has no tenant column: a tenant login may not read it, move a
    cursor (skipping or redoing other tenants' rows), end a backfill or start one,
    nor run a batch of one through its SQL function."""
    conn.execute("INSERT INTO pmail_backfills (name) VALUES ('search_extra:stored')")
    conn.commit()
    before = conn.execute("SELECT * FROM pmail_backfills ORDER BY name").fetchall()
    conn.commit()
    with psycopg.connect(login_a, autocommit=True) as session:
        for attack in (
            "SELECT * FROM pmail_backfills",
            "UPDATE pmail_backfills SET after_tenant = 'ffffffff-ffff-ffff-ffff-"
            "ffffffffffff', after_key = 'zzz'",
            "DELETE FROM pmail_backfills",
            "INSERT INTO pmail_backfills (name) VALUES ('search_rebuild:x')",
            "SELECT pmail_backfill_search_documents(1000)",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                session.execute(attack)
    assert conn.execute("SELECT * FROM pmail_backfills ORDER BY name").fetchall() == (
        before
    )


def _estimate(
    session: psycopg.Connection[tuple[object, ...]], condition: str, value: str
) -> float:
    """The planner's row estimate for the documents that meet `condition` (what
    search/estimate.sql asks, for a word or a week)."""
    plan = session.execute(
        f"EXPLAIN (FORMAT JSON) SELECT 1 FROM search_documents AS d WHERE {condition}",
        (value,),
    ).fetchone()
    assert plan is not None
    loaded = plan[0] if isinstance(plan[0], list) else json.loads(str(plan[0]))
    return float(loaded[0]["Plan"]["Plan Rows"])


WORDS = "d.document @@ to_tsquery('simple', %s)"
WEEKS = "pmail_search_week_vector(d.date) @@ %s::tsquery"


def test_the_planners_estimates_are_shared_and_no_output_of_pmail_shows_them(
    login_a: str, two_tenants: str, conn: Conn, tmp_path: Path
) -> None:
    """The search chooses its plan from the planner's estimates (search/estimate.sql,
    the week index of 0022), which come from statistics over every tenant's
    documents, and PostgreSQL 15 gives them to a tenant login's EXPLAIN as well: a's
    login gets a higher estimate for a word only b uses than for a word nobody has,
    and for the week of b's 300 messages than for an empty week (docs/security.md,
    "What it does not cover": the login can run EXPLAIN itself). pmail never returns
    an estimate: a search as a's login finds and counts a's mail only, and the same
    whichever plan the estimates chose."""
    folder = tmp_path / "many"
    folder.mkdir()
    for n in range(300):
        raw = mailgen.simple(1000 + n, body=f"the {WORD} report, part {n}")
        (folder / f"{n}.eml").write_bytes(raw)
    code, _, err = pmail(two_tenants, "ingest", str(folder), "-t", "b")
    assert code == 0, err
    conn.execute("ANALYZE search_documents")
    row = conn.execute(
        "SELECT pmail_search_week('2024-03-05T10:00:00Z'), "
        "pmail_search_week('1999-01-01T00:00:00Z')"
    ).fetchone()
    assert row is not None
    busy, empty = (f"'pmail week {w}'" for w in row)
    asked = [(WORDS, WORD, "nosuchword"), (WEEKS, busy, empty)]
    conn.commit()
    with psycopg.connect(login_a, autocommit=True) as session:
        assert session.execute(
            "SELECT count(*) FROM search_documents AS d WHERE " + WORDS, (WORD,)
        ).fetchone() == (0,)
        for condition, theirs, nothing in asked:
            told = _estimate(session, condition, theirs)
            assert told > 10 * _estimate(session, condition, nothing), condition
    for args in (["--count"], ["-f", "json"]):
        code, out, err = pmail(login_a, "search", WORD, "-t", "a", *args)
        assert code == 0 and out.strip() in ("0", "[]"), (args, out, err)
    code, out, err = pmail(login_a, "search", WORD, "-t", "b", "--count")
    assert code == 1 and err.startswith("error: tenant 'b' does not exist"), err
    # the week lexeme cannot be asked for: a search's words are parsed, and no
    # parsed word holds a space; b's 300 messages of that week are not a's either
    for words in (busy, busy.strip("'"), f'"{busy.strip(chr(39))}"'):
        code, out, err = pmail(login_a, "search", words, "-t", "a", "--count")
        assert (code, out.strip()) == (0, "0"), (words, err)
    code, out, err = pmail(two_tenants, "search", busy, "-t", "b", "--count")
    assert (code, out.strip()) == (0, "0"), err


def _found(dsn: str, words: str, tenant: str = "a") -> int:
    code, out, err = pmail(dsn, "search", words, "-t", tenant, "--count")
    assert code == 0, err
    return int(out.strip())


def _key_saying(conn: Conn, tenant: str, word: str, message_id: str) -> str:
    """The key of tenant's message `message_id`, whose document holds word. Picked by
    Message-ID: keys hash the tenant's id (new each run), so "the first key" would be
    another message each run."""
    row = conn.execute(
        "SELECT d.storage_key FROM search_documents AS d JOIN email_messages AS m "
        "ON m.tenant_id = d.tenant_id AND m.storage_key = d.storage_key "
        "WHERE d.tenant_id = %s AND m.message_id = %s AND d.document::text LIKE %s",
        (tenant, message_id, f"%'{word}'%"),
    ).fetchone()
    assert row is not None
    return str(row[0])


ATTACKS = (
    "UPDATE email_content SET search_extra = 'planted evidence' WHERE storage_key = %s",
    "UPDATE email_content SET search_enclosed = 'planted' WHERE storage_key = %s",
    "UPDATE email_content SET search_vector = to_tsvector('simple', 'planted') "
    "WHERE storage_key = %s",
    "UPDATE search_documents SET document = document || to_tsvector('simple', "
    "'planted') WHERE storage_key = %s",
    "UPDATE search_documents SET document = ''::tsvector WHERE storage_key = %s",
    "UPDATE search_documents SET date = '1999-01-01' WHERE storage_key = %s",
    "DELETE FROM search_documents WHERE storage_key = %s",
    "INSERT INTO search_documents SELECT tenant_id, storage_key, date, message_type, "
    "direction, to_tsvector('simple', 'planted') FROM search_documents "
    "WHERE storage_key = %s ON CONFLICT (tenant_id, storage_key) DO UPDATE "
    "SET document = excluded.document",
)


def test_a_tenant_login_cannot_bend_held_mails_search_cache(
    login_a: str, two_tenants: str, conn: Conn, tmp_path: Path
) -> None:
    """Under a hold, a's own login may not plant a word in a held message's search
    texts (0021) or document, empty them, move its date, or delete its document to
    insert another (migration 0024): each statement is refused and the search finds
    what the mail says. The same statements on a's mail nobody holds still work
    (a search cache, as before); so does writing a held message's rebuilt document,
    which is what pmail's own repair writes as a tenant login, and its ingest of
    new mail under a hold."""
    a, _ = tenant_ids(conn)
    # held: the bounce, which says "question" only in the message it returns (its
    # search_enclosed), so the attack on that text would plant a word and lose one;
    # free: mail saying it in its own subject. Not the bounce: the attacks below
    # overwrite free's search texts (allowed, it is not held), and a bounce's
    # rebuilt document would then no longer say it
    held = _key_saying(conn, a, "question", "<dsn-2@mx.example.com>")
    free = _key_saying(conn, a, "question", "<out-3@acme.test>")
    code, _, err = pmail(
        two_tenants, "hold", "add", "-t", "a", "--storage-key", held, "--reason", "c"
    )
    assert code == 0, err
    said = _found(login_a, "question")
    assert said >= 2 and _found(login_a, "planted") == 0
    with psycopg.connect(login_a) as session:
        for attack in ATTACKS:
            refusal = login_refusal(attack, held=True)
            assert refusal is not None
            with (
                pytest.raises(psycopg.Error, match=refusal[0]) as info,
                session.transaction(),
            ):
                session.execute(attack, (held,))
            assert info.value.sqlstate == refusal[1], attack
        session.commit()
        assert _found(login_a, "question") == said
        assert _found(login_a, "planted") == 0
        # pmail's own rebuild, as this login: the rebuilt document is accepted
        with session.transaction():
            session.execute(
                "UPDATE search_documents SET document = "
                "pmail_stored_search_vector(tenant_id, storage_key)"
            )
        for attack in ATTACKS[:-2]:  # mail nobody holds: a cache, as before
            with session.transaction():
                session.execute(attack, (free,))
    assert _found(login_a, "question") == said - 1
    code, _, err = pmail(login_a, "validate", "-t", "a", "--repair")
    assert code == 0, err  # as the login: its rebuilt documents are accepted
    # with search off (the owner's act), no document of held mail may come back
    assert pmail(two_tenants, "tenant", "set", "a", "--search", "off")[0] == 0
    refused = pytest.raises(psycopg.Error, match="under legal hold")
    with psycopg.connect(login_a) as session, refused:
        session.execute(
            "INSERT INTO search_documents SELECT tenant_id, storage_key, now(), "
            "'x', 'inbound', to_tsvector('simple', 'planted') FROM email_content "
            "WHERE storage_key = %s",
            (held,),
        )
    assert pmail(two_tenants, "tenant", "set", "a", "--search", "on")[0] == 0
    # rebuilt from the stored rows: the free message's planted texts stay (its own
    # tenant wrote them), its document says "question" again
    assert _found(login_a, "question") == said and _found(login_a, "planted") == 1
    # all of a's mail held: the login's own ingest writes new held mail's documents
    assert pmail(two_tenants, "hold", "add", "-t", "a", "--reason", "all")[0] == 0
    folder = tmp_path / "new"
    folder.mkdir()
    (folder / "1.eml").write_bytes(mailgen.with_attachment(90, b"x" * 100))
    code, _, err = pmail(login_a, "ingest", str(folder), "-t", "a")
    assert code == 0, err
    assert _found(login_a, "deck") >= 1


def test_an_administrator_rebuilds_held_mails_search_cache(
    login_a: str, two_tenants: str, conn: Conn
) -> None:
    """The owner is not limited (the writer, backfills and repairs run as it): it
    may rewrite a held message's texts and document, and re-running the search-text
    backfill (docs/security.md) rebuilds both from the stored messages, so the
    search finds what the mail says again, and not the planted word."""
    assert pmail(two_tenants, "hold", "add", "-t", "a", "--reason", "case")[0] == 0
    said = _found(login_a, "question")
    theirs = _found(two_tenants, "question", "b")
    assert said > 0 and _found(login_a, "planted") == 0
    with conn.transaction():
        conn.execute("SELECT pmail_scope_all_tenants()")
        conn.execute("UPDATE email_content SET search_extra = 'planted evidence'")
        conn.execute(
            "UPDATE search_documents SET document = "
            "pmail_stored_search_vector(tenant_id, storage_key)"
        )
    assert _found(login_a, "planted") == 6
    with conn.transaction():
        conn.execute("SELECT pmail_scope_all_tenants()")
        conn.execute("UPDATE search_documents SET document = ''::tsvector")
    assert _found(login_a, "question") == 0
    refused = pytest.raises(psycopg.Error, match="under legal hold")
    with psycopg.connect(login_a, autocommit=True) as session, refused:
        session.execute("UPDATE email_content SET content_text = 'planted'")
    conn.execute("INSERT INTO pmail_backfills (name) VALUES ('search_extra:stored')")
    conn.commit()
    code, _, err = pmail(two_tenants, "init-db")
    assert code == 0, err
    assert _found(login_a, "question") == said and _found(login_a, "planted") == 0
    assert _found(two_tenants, "question", "b") == theirs
