"""The administrators' audit log: each act that changes what is kept or who may see
it appends one entry in the act's own transaction, so the entry exists exactly when
the act committed (docs/security.md). The table refuses UPDATE, DELETE and TRUNCATE.
"""

from __future__ import annotations

import getpass
import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pmail_cli import vocab
from pmail_cli.db import Connection
from pmail_cli.repository import audit as repo
from pmail_cli.repository.audit import AuditEntry
from pmail_cli.repository.tenants import Tenant

# What is recorded (docs/security.md lists them with their parameters and results).
ACTIONS = (
    "hold add",
    "hold release",
    "purge",
    "tenant add",
    "tenant set",
    "tenant login",
    "validate repair",
    "migrate-legacy archive",
    "queue dead retry",
    "analytics rebuild",
    "dict train",
)


def check_action(action: str) -> str:
    """An audited action, or the first word of some (`hold`: every hold act); any
    other value is refused with the list (vocab.one_of)."""
    firsts = dict.fromkeys(a.split(" ", 1)[0] for a in ACTIONS if " " in a)
    return vocab.one_of("--action", " ".join(action.split()), (*ACTIONS, *firsts))


def who() -> str:
    """The OS user running pmail (as the client machine says; not proven)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _plain(values: Mapping[str, object]) -> dict[str, Any]:
    """JSON-ready: ids, dates and paths as text; a NUL, which jsonb refuses (and
    which a job's fields in Redis may hold), written as the four characters \\x00."""
    loaded = _no_nul(json.loads(json.dumps(dict(values), default=str)))
    assert isinstance(loaded, dict)
    return loaded


def _no_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\\x00")
    if isinstance(value, list):
        return [_no_nul(v) for v in value]
    if isinstance(value, dict):
        return {str(k).replace("\x00", "\\x00"): _no_nul(v) for k, v in value.items()}
    return value


def record(
    conn: Connection,
    action: str,
    *,
    tenant_id: uuid.UUID | None,
    params: Mapping[str, object],
    result: Mapping[str, object],
) -> None:
    """Append one entry (tenant_id None: the act covered every tenant); call it
    inside the act's transaction (scoped to that tenant, or to every tenant, so the
    row passes row-level security): it commits or rolls back with the act."""
    assert action in ACTIONS, action
    repo.append_entry(
        conn,
        os_user=who(),
        tenant_id=tenant_id,
        action=action,
        params=_plain(params),
        result=_plain(result),
    )


def entries(
    conn: Connection,
    tenant: Tenant | None,
    *,
    since: datetime | None,
    action: str | None,
    limit: int,
) -> list[AuditEntry]:
    """The entries of a tenant, or of every tenant (acts across every tenant
    included), oldest first."""
    from pmail_cli.services.tenants import every_tenant, scoped

    if action is not None:
        action = check_action(action)
    with scoped(conn, tenant) if tenant else every_tenant(conn):
        return repo.list_entries(
            conn,
            tenant_id=tenant.tenant_id if tenant else None,
            since=since,
            action=action,
            limit=limit,
        )
