"""A tenant login cannot count another tenant's rows through EXPLAIN ANALYZE
(migration 0031, docs/security.md "A session bending the policy path").

Row-level security was a filter applied after an index scan had applied the query's
own leakproof conditions, and `EXPLAIN ANALYZE` prints how many rows that filter
removed: tenant a's login learned, exactly, whether b holds a file of a given
sha256, a given Message-ID, or how many suppressed addresses of b fall in a range.
Now a tenant login's policy is an equality on tenant_id that the index scan applies
itself: b's id contradicts it, no row of b is read, nothing is removed."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import psycopg.conninfo
import pytest

from tests import mailgen
from tests.support.tenancy import Conn, pmail, tenant_ids

pytestmark = pytest.mark.db


def _removed(plan: dict[str, Any]) -> int:
    """Rows any node of the plan read and then removed (by a filter or a recheck)."""
    own = int(plan.get("Rows Removed by Filter", 0)) + int(
        plan.get("Rows Removed by Index Recheck", 0)
    )
    return own + sum(_removed(child) for child in plan.get("Plans", []))


def _analyzed(
    session: psycopg.Connection[Any], query: str, params: tuple[object, ...]
) -> dict[str, Any]:
    """The top node of EXPLAIN ANALYZE's plan of the query, planned with index and
    bitmap scans (as an attacker sets it)."""
    session.execute("SET enable_seqscan = off")
    row = session.execute(
        "EXPLAIN (ANALYZE, FORMAT JSON, TIMING OFF, COSTS OFF) " + query, params
    ).fetchone()
    assert row is not None
    (top,) = row[0] if isinstance(row[0], list) else json.loads(row[0])
    plan: dict[str, Any] = top["Plan"]
    return plan


def _probe(
    session: psycopg.Connection[Any], query: str, params: tuple[object, ...]
) -> tuple[int, int]:
    """(rows returned, rows read and removed) of the query."""
    plan = _analyzed(session, query, params)
    return int(plan["Actual Rows"]), _removed(plan)


def test_explain_analyze_counts_no_row_of_another_tenant(
    login_a: str, conn: Conn
) -> None:
    """As a's login, with b's tenant id (which it can still find in the estimates of
    tenant_id, docs/security.md; before 0040 pmail_role_tenant told it) and facts about
    b's mail the owner reads here: a file's sha256, a Message-ID, a storage key, an
    address range, a day. Before 0031 each probe read b's matching rows and the
    filter removed them (the count leaked); now none is read. The same probes on a's
    own mail find its rows, so the probes are real."""
    a, b = tenant_ids(conn)
    facts = {}
    for tenant in (a, b):
        blob = conn.execute(
            "SELECT sha256 FROM attachment_blobs WHERE tenant_id = %s LIMIT 1",
            (tenant,),
        ).fetchone()
        message = conn.execute(
            "SELECT message_id, storage_key FROM email_messages "
            "WHERE tenant_id = %s AND message_id IS NOT NULL LIMIT 1",
            (tenant,),
        ).fetchone()
        assert blob is not None and message is not None
        facts[tenant] = (blob[0], message[0], message[1])
    conn.commit()
    probes: list[tuple[str, Callable[[str], tuple[object, ...]]]] = [
        (
            "SELECT 1 FROM attachment_blobs WHERE tenant_id = %s AND sha256 = %s",
            lambda t: (t, facts[t][0]),
        ),
        (
            "SELECT 1 FROM email_messages WHERE tenant_id = %s "
            "AND md5(message_id) = md5(%s) AND message_id IS NOT NULL",
            lambda t: (t, facts[t][1]),
        ),
        (
            "SELECT 1 FROM email_content WHERE tenant_id = %s AND storage_key = %s",
            lambda t: (t, facts[t][2]),
        ),
        (
            "SELECT 1 FROM email_messages WHERE tenant_id = %s "
            "AND storage_key >= '0' AND storage_key < 'g'",
            lambda t: (t,),
        ),
        (
            "SELECT 1 FROM delivery_facts WHERE tenant_id = %s AND storage_key >= ''",
            lambda t: (t,),
        ),
        (
            "SELECT 1 FROM tenants WHERE tenant_id = %s",
            lambda t: (t,),
        ),
    ]
    with psycopg.connect(login_a) as session:
        for query, params in probes:
            returned, removed = _probe(session, query, params(b))
            assert (returned, removed) == (0, 0), (query, returned, removed)
            found, _ = _probe(session, query, params(a))
            assert found > 0, query


def _trace(plan: dict[str, Any]) -> list[tuple[object, ...]]:
    """What EXPLAIN ANALYZE says each node read: its type, index, rows, the rows
    it removed and the heap blocks it visited."""
    own = (
        plan.get("Node Type"),
        plan.get("Index Name"),
        plan.get("Actual Rows"),
        plan.get("Rows Removed by Filter", 0),
        plan.get("Rows Removed by Index Recheck", 0),
        plan.get("Exact Heap Blocks", 0),
        plan.get("Lossy Heap Blocks", 0),
    )
    return [own] + [t for child in plan.get("Plans", []) for t in _trace(child)]


def _read(
    session: psycopg.Connection[Any], query: str, params: tuple[object, ...]
) -> list[tuple[object, ...]]:
    """The trace of the query as an attacker plans it: index and bitmap scans
    only, so the indexes that do not begin with tenant_id are tried too."""
    return _trace(_analyzed(session, query, params))


def _returned(trace: list[tuple[object, ...]]) -> int:
    return int(float(str(trace[0][2])))  # PostgreSQL 18 prints rows as 1.00


def _bulk(conn: Conn, tenant: str, count: int) -> None:
    """count plain rows of mail for the tenant, written as the owner, so that a
    scan of the tenant's own rows is the costly path, as it is at real scale
    (on a few test rows the planner would read the tenant's rows and filter them,
    and no index below would be tried)."""
    conn.execute(
        "INSERT INTO email_messages (tenant_id, storage_key, direction, status, "
        "from_email, to_email, link_keys) "
        "SELECT %s, md5('bulk' || i), 'inbound', 'received', "
        "'bulk' || i || '@bulk.test', 'sdr1@acme.test', ARRAY[md5('link' || i)] "
        "FROM generate_series(1, %s) AS i",
        (tenant, count),
    )
    conn.execute(
        "INSERT INTO email_content (tenant_id, storage_key, raw_size_bytes, "
        "compressed_size_bytes, raw_form, compression) "
        "SELECT %s, md5('bulk' || i), 0, 0, 'none', 'none' "
        "FROM generate_series(1, %s) AS i",
        (tenant, count),
    )
    conn.execute(
        "INSERT INTO search_documents (tenant_id, storage_key, date, message_type, "
        "direction, document) SELECT %s, md5('bulk' || i), now(), 'email', "
        "'inbound', to_tsvector('simple', 'bulk ' || i) "
        "FROM generate_series(1, %s) AS i",
        (tenant, count),
    )
    conn.execute(
        "INSERT INTO migration_anomalies (kind, legacy_table, legacy_key, tenant_id) "
        "SELECT 'orphan', 'emails', 'bulk' || i, %s FROM generate_series(1, %s) AS i",
        (tenant, count),
    )
    tables = ("email_messages", "email_content", "search_documents")
    for table in (*tables, "migration_anomalies"):
        conn.execute(f"ANALYZE {table}")


def test_no_index_tells_whether_another_tenant_holds_a_value(
    two_tenants: str, login_a: str, conn: Conn, tmp_path: Path
) -> None:
    """The indexes that do not begin with tenant_id (tenant names, the address and
    link GINs, the search index, the audit log's time, the migration anomalies'
    legacy keys) as a's login, with a value only b holds, one nobody holds and one
    only a holds. What EXPLAIN ANALYZE says the plan read must be the same for b's
    value as for nobody's: before migration 0038 the GIN and btree scans read b's
    entries and the tenant filter removed them after, so the counts told that b
    holds the address, the word, the Message-ID, the legacy key or the name. a's
    own value is found, so each probe is real."""
    a, b = tenant_ids(conn)
    b_acts = conn.execute(
        "SELECT min(at), max(at) FROM admin_audit_log WHERE tenant_id = %s", (b,)
    ).fetchone()
    assert b_acts is not None and b_acts[0] is not None
    for name, word in (("a", "alphaquartz"), ("b", "bravoquartz")):
        folder = tmp_path / f"extra-{name}"
        folder.mkdir()
        (folder / "1.eml").write_bytes(
            mailgen.simple(
                900,
                sender=f"only-{name}@{name}-lead.test",
                to="sdr1@acme.test",
                subject=f"about {word}",
                message_id=f"<only-{name}@{name}-lead.test>",
                extra=f"In-Reply-To: <gone-{name}@acme.test>",
                body=f"The {word} plan.",
            )
        )
        code, _, err = pmail(two_tenants, "ingest", str(folder), "-t", name)
        assert code == 0, err
    _bulk(conn, a, 5000)
    for tenant, key in ((a, "k-a"), (b, "k-b")):
        conn.execute(
            "INSERT INTO migration_anomalies (kind, legacy_table, legacy_key, "
            "tenant_id) VALUES ('orphan', 'emails', %s, %s)",
            (key, tenant),
        )
    links = {}
    for tenant in (a, b):
        row = conn.execute(
            "SELECT link_keys[1] FROM email_messages WHERE tenant_id = %s "
            "AND parent_storage_key IS NULL AND link_keys IS NOT NULL LIMIT 1",
            (tenant,),
        ).fetchone()
        assert row is not None
        links[tenant] = row[0]
    conn.commit()
    probes: list[tuple[str, Callable[[str], tuple[object, ...]]]] = [
        ("SELECT 1 FROM tenants WHERE name = %s", lambda v: (v,)),
        (
            "SELECT 1 FROM email_messages WHERE "
            "pmail_address_tokens(from_email, to_email, cc_email) @> ARRAY[%s]",
            lambda v: (f"from:only-{v}@{v}-lead.test",),
        ),
        (
            "SELECT 1 FROM email_messages WHERE link_keys && ARRAY[%s]::text[] "
            "AND parent_storage_key IS NULL AND link_keys IS NOT NULL",
            lambda v: (links.get({"a": a, "b": b}.get(v, ""), "0" * 32),),
        ),
        (
            "SELECT 1 FROM search_documents WHERE document @@ to_tsquery('simple', %s)",
            lambda v: ({"a": "alphaquartz", "b": "bravoquartz"}.get(v, "zuluquartz"),),
        ),
        (
            "SELECT 1 FROM migration_anomalies WHERE kind = 'orphan' "
            "AND legacy_table = 'emails' AND legacy_key = %s",
            lambda v: (f"k-{v}",),
        ),
    ]
    told = []
    with psycopg.connect(login_a) as session:
        for query, params in probes:
            theirs = _read(session, query, params("b"))
            nobodys = _read(session, query, params("nobody"))
            if theirs != nobodys:
                told.append((query, theirs, nobodys))
            assert _returned(_read(session, query, params("a"))) > 0, query
        # the audit log: b's acts happened in that span, and nobody's in 1990
        span = "SELECT 1 FROM admin_audit_log WHERE at >= %s AND at <= %s"
        theirs = _read(session, span, (b_acts[0], b_acts[1]))
        nobodys = _read(session, span, ("1990-01-01", "1990-01-02"))
        if theirs != nobodys:
            told.append((span, theirs, nobodys))
        # the unique keys' own expressions are not the login's to write
        for query in (
            "SELECT 1 FROM tenants WHERE pmail_unmatchable(name) = 'b'",
            "SELECT 1 FROM migration_anomalies WHERE pmail_unmatchable(kind) = 'orphan' "
            "AND pmail_unmatchable(legacy_table) = 'emails' "
            "AND pmail_unmatchable(legacy_key) = 'k-b'",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                _read(session, query, ())
            session.rollback()
    assert told == []


def _estimate(session: psycopg.Connection[Any], query: str, value: str) -> float:
    """The rows plain EXPLAIN estimates for the query's top node."""
    row = session.execute("EXPLAIN (FORMAT JSON) " + query, (value,)).fetchone()
    assert row is not None
    (top,) = row[0] if isinstance(row[0], list) else json.loads(row[0])
    return float(top["Plan"]["Plan Rows"])


def test_explain_estimates_spell_out_no_value_of_another_tenant(
    login_a: str, conn: Conn
) -> None:
    """b sends 500 messages to five recipients, with five subjects, Message-IDs of
    its own shape and an IMAP source, each bounced, and the statistics are refreshed
    (pmail's writer runs ANALYZE itself as tables grow). The same for the index
    expression lower(recipient) of b's bounces (until 0041 it kept its own
    statistics), and for tenant ids, which a binary search on `tenant_id < x`
    estimates read off the histogram of tenants.tenant_id. As a's login, plain EXPLAIN of a
    condition on each column must estimate as many rows for b's values (or their
    first letters) as for values nobody holds: before migration 0039 the most common
    values and the histogram of every tenant fed the estimate (`to_email ^@ 'hiro'`
    50 rows, `^@ 'hirp'` 1), and a search one letter at a time spelled b's values
    out."""
    _, b = tenant_ids(conn)
    conn.execute(
        "INSERT INTO email_messages (tenant_id, storage_key, direction, status, "
        "from_email, to_email, subject, message_id, source) "
        "SELECT %s, md5('b-bulk' || i), 'outbound', 'sent', "
        "'ceo' || i %% 5 || '@globex.test', 'hiro' || i %% 5 || '@bigco.test', "
        "'project falcon ' || i %% 5, '<gx' || i %% 5 || '@globex.test>', "
        "'imap://ceo@imap.globex.test/Sent;UID=' || i "
        "FROM generate_series(1, 500) AS i",
        (b,),
    )
    conn.execute(
        "INSERT INTO delivery_facts (tenant_id, storage_key, recipient_index, "
        "recipient, reason, hard) SELECT %s, md5('b-bulk' || i), 0, "
        "'hiro' || i %% 5 || '@bigco.test', 'userunknown', true "
        "FROM generate_series(1, 500) AS i",
        (b,),
    )
    for table in ("email_messages", "delivery_facts", "tenants"):
        conn.execute(f"ANALYZE {table}")
    conn.commit()
    columns = {
        "to_email": ("hiro1@bigco.test", "zulu1@nowhere.test"),
        "from_email": ("ceo2@globex.test", "cfo2@nowhere.test"),
        "subject": ("project falcon 3", "project merger 3"),
        "message_id": ("<gx4@globex.test>", "<zz4@nowhere.test>"),
        "source": ("imap://ceo@imap.globex.test/Sent;UID=7", "imap://x@nowhere/;UID=7"),
    }
    told = []
    with psycopg.connect(login_a) as session:
        for column, (theirs, nobodys) in columns.items():
            for query, cut in (
                (f"SELECT 1 FROM email_messages WHERE {column} = %s", len),
                (f"SELECT 1 FROM email_messages WHERE {column} ^@ %s", lambda v: 5),
            ):
                seen = _estimate(session, query, theirs[: cut(theirs)])
                unseen = _estimate(session, query, nobodys[: cut(nobodys)])
                if seen != unseen:
                    told.append((query, theirs[: cut(theirs)], seen, unseen))
        # an index expression's own statistics (0041): lower(recipient)
        for query in (
            "SELECT 1 FROM delivery_facts WHERE lower(recipient) = %s",
            "SELECT 1 FROM delivery_facts WHERE lower(recipient) ^@ %s",
        ):
            seen = _estimate(session, query, "hiro1@bigco.test")
            unseen = _estimate(session, query, "zulu1@nowhere.test")
            if seen != unseen:
                told.append((query, "hiro1@bigco.test", seen, unseen))
        # b's id, by where the estimate steps (a join keeps it from rounding to 1)
        steps = (
            "SELECT 1 FROM tenants AS t, generate_series(1, 1000000) AS g "
            "WHERE t.tenant_id < %s::uuid OR g = -1"
        )
        below = str(uuid.UUID(int=uuid.UUID(b).int - 1))
        above = str(uuid.UUID(int=uuid.UUID(b).int + 1))
        seen, unseen = (
            _estimate(session, steps, above),
            _estimate(session, steps, below),
        )
        if seen != unseen:
            told.append((steps, b, seen, unseen))
    assert told == []


def test_a_login_is_told_the_tenant_of_its_own_roles_only(
    login_a: str, login_b: str, conn: Conn
) -> None:
    """pmail_role_tenant told any role the tenant of any role (the catalog lists
    them all), so a's login had b's id, with which its probes are aimed. Since 0040
    it answers for the login's own roles only: NULL for b's, a's id for its own."""
    a, b = tenant_ids(conn)
    role_b = psycopg.conninfo.conninfo_to_dict(login_b)["user"]
    conn.commit()
    assert conn.execute("SELECT pmail_role_tenant(%s)", (role_b,)).fetchone() == (
        uuid.UUID(b),
    )  # an administrator is still told
    conn.commit()
    with psycopg.connect(login_a) as session:
        theirs = session.execute("SELECT pmail_role_tenant(%s)", (role_b,)).fetchone()
        own = session.execute("SELECT pmail_role_tenant(session_user)").fetchone()
    assert theirs == (None,) and own == (uuid.UUID(a),)
