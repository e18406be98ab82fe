"""Waiting, in a test, until another session of the database blocks on a lock."""

from __future__ import annotations

import time

import psycopg
import pytest


def wait_for_a_waiter(
    conn: psycopg.Connection[tuple[object, ...]], what: str, *, seconds: float = 60
) -> None:
    """Return once a session of this database waits on a lock; fail the test
    (saying `what` never waited) if none does within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        waiting = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()"
        ).fetchone()
        conn.commit()
        if waiting and waiting[0]:
            return
        time.sleep(0.1)
    pytest.fail(f"{what} never waited")
