"""Links between inbound messages and the messages they answer."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from pmail_cli.db import Connection
from pmail_cli.sqlfiles import load_sql


def link_staged(conn: Connection, *, tenant_id: uuid.UUID) -> set[str]:
    """Link the staged batch's inbound messages to their parents before insertion."""
    rows = conn.execute(load_sql("linking/link_staged"), {"tenant_id": tenant_id})
    return {str(r[0]) for r in rows}


def link_waiting(
    conn: Connection, *, tenant_id: uuid.UUID, keys: Sequence[str]
) -> list[tuple[str, str]]:
    """Link stored children whose parent is among `keys`; return the links."""
    rows = conn.execute(
        load_sql("linking/link_waiting"), {"tenant_id": tenant_id, "keys": list(keys)}
    ).fetchall()
    return [(str(child), str(parent)) for child, parent in rows]


def link_all_waiting(
    conn: Connection, *, tenant_id: uuid.UUID
) -> list[tuple[str, str]]:
    """Link every stored child of the tenant whose parent is stored now."""
    rows = conn.execute(
        load_sql("linking/link_all_waiting"), {"tenant_id": tenant_id}
    ).fetchall()
    return [(str(child), str(parent)) for child, parent in rows]


def update_parent_status(
    conn: Connection, *, tenant_id: uuid.UUID, children: Sequence[str]
) -> None:
    """Move the parents of these children up the status ladder."""
    conn.execute(
        load_sql("linking/update_parent_status"),
        {"tenant_id": tenant_id, "children": list(children)},
    )
