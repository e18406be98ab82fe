"""Links between inbound messages and the messages they answer."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from pmail_cli.db import Connection
from pmail_cli.sqlfiles import load_sql


def link_messages(
    conn: Connection, *, tenant_id: uuid.UUID, keys: Sequence[str]
) -> list[tuple[str, str]]:
    """Link the batch's messages (as children or as late parents); return the links."""
    rows = conn.execute(
        load_sql("linking/link_messages"), {"tenant_id": tenant_id, "keys": list(keys)}
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
