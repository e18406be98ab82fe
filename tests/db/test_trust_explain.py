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
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from tests.support.tenancy import Conn, tenant_ids

pytestmark = pytest.mark.db


def _removed(plan: dict[str, Any]) -> int:
    """Rows any node of the plan read and then removed (by a filter or a recheck)."""
    own = int(plan.get("Rows Removed by Filter", 0)) + int(
        plan.get("Rows Removed by Index Recheck", 0)
    )
    return own + sum(_removed(child) for child in plan.get("Plans", []))


def _probe(
    session: psycopg.Connection[Any], query: str, params: tuple[object, ...]
) -> tuple[int, int]:
    """(rows returned, rows read and removed) of the query, planned with index
    scans (as an attacker sets it)."""
    session.execute("SET enable_seqscan = off")
    row = session.execute(
        "EXPLAIN (ANALYZE, FORMAT JSON, TIMING OFF, COSTS OFF) " + query, params
    ).fetchone()
    assert row is not None
    (top,) = row[0] if isinstance(row[0], list) else json.loads(row[0])
    return int(top["Plan"]["Actual Rows"]), _removed(top["Plan"])


def test_explain_analyze_counts_no_row_of_another_tenant(
    login_a: str, conn: Conn
) -> None:
    """As a's login, with b's tenant id (pmail_role_tenant tells it) and facts about
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
