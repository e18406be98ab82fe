"""Legal holds: what they cover, who set them, releasing them (the record stays).

A hold is enforced by the database itself (a trigger refuses any delete of a held
message's rows, docs/security.md); purge also leaves held messages out.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import psycopg

from pmail_cli.db import Connection
from pmail_cli.errors import NotFound, PmailError, UsageError
from pmail_cli.repository import holds as repo
from pmail_cli.repository import tenants as tenants_repo
from pmail_cli.repository.holds import Hold
from pmail_cli.repository.tenants import Tenant
from pmail_cli.services import audit
from pmail_cli.services.audit import who
from pmail_cli.services.show import find_one
from pmail_cli.services.tenants import every_tenant, scoped

SCOPES = ("tenant", "lead", "campaign", "account", "message")


def _uuid(kind: str, value: str) -> str:
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        raise UsageError(
            f"--{kind} {value!r} is not a uuid",
            hint=f"give the {kind}'s id as stored in campaign_id / lead_id / email_account_id",
        ) from None


def add_hold(
    conn: Connection,
    tenant: Tenant,
    *,
    scope: str,
    value: str | None,
    reason: str,
    by: str | None,
) -> Hold:
    """Put a hold on the tenant's mail: all of it, or one lead, campaign, account
    (its id or address) or message (its storage key or a unique prefix)."""
    if scope not in SCOPES:
        raise UsageError(f"unknown hold scope {scope!r}")
    if not reason.strip():
        raise UsageError(
            "a hold needs a --reason", hint='e.g. --reason "case 2026-114"'
        )
    author = (by or who()).strip() or who()
    try:
        return _add(
            conn, tenant, scope=scope, value=value, reason=reason, author=author
        )
    except psycopg.errors.LockNotAvailable:
        # the tenant's guarded writes in flight kept the hold waiting (0030); the
        # transaction is rolled back already
        pass
    named = lock_holders(conn, seconds=repo.HOLD_LOCK_TIMEOUT)
    raise PmailError(
        f"the hold on tenant {tenant.name!r} waited {repo.HOLD_LOCK_TIMEOUT:.0f} s for "
        "transactions that are changing its mail, and was not added"
        + (f": {named}" if named else ""),
        hint="an open transaction changing the tenant's mail keeps holds waiting: end it (SELECT "
        "pg_terminate_backend(pid)), which rolls its changes back, then add the hold "
        "again",
    )


def lock_holders(conn: Connection, *, seconds: float) -> str:
    """The other sessions with a transaction open longer than `seconds`, named for
    an error after a lock wait ran out ("" when none is left); ends the (failed)
    transaction."""
    waiting = repo.long_transactions(conn, seconds=seconds)
    conn.rollback()
    return "; ".join(
        f"pid {pid} ({role}, {app or 'no application name'}, open since {began})"
        for pid, role, app, began in waiting
    )


def _add(
    conn: Connection,
    tenant: Tenant,
    *,
    scope: str,
    value: str | None,
    reason: str,
    author: str,
) -> Hold:
    with scoped(conn, tenant):
        if scope in ("lead", "campaign"):
            assert value is not None
            value = _uuid(scope, value)
        elif scope == "account":
            assert value is not None
            value = _account(conn, tenant, value)
        elif scope == "message":
            assert value is not None
            value = str(find_one(conn, tenant, value)["storage_key"])
        hold = repo.insert_hold(
            conn,
            tenant_id=tenant.tenant_id,
            scope=scope,
            value=value,
            reason=reason.strip(),
            created_by=author,
        )
        audit.record(
            conn,
            "hold add",
            tenant_id=tenant.tenant_id,
            params={
                "scope": scope,
                "value": value,
                "reason": hold.reason,
                "by": author,
            },
            result={"hold_id": hold.hold_id, "messages": hold.messages},
        )
        return hold


def _account(conn: Connection, tenant: Tenant, value: str) -> str:
    if "@" not in value:
        return _uuid("account", value)
    found = tenants_repo.list_accounts(conn, tenant_id=tenant.tenant_id).get(
        value.strip().lower()
    )
    if found is None:
        raise NotFound(
            f"tenant {tenant.name!r} has no account {value!r}",
            hint="register it with `pmail account add`, or give the account's id",
        )
    return found


def list_holds(
    conn: Connection, tenant: Tenant | None, *, include_released: bool
) -> Sequence[Hold]:
    """The holds of a tenant (or of every tenant), newest first."""
    with scoped(conn, tenant) if tenant else every_tenant(conn):
        return repo.list_holds(
            conn,
            tenant_id=tenant.tenant_id if tenant else None,
            include_released=include_released,
        )


def release_hold(
    conn: Connection, tenant: Tenant | None, hold_id: int, *, by: str | None
) -> Hold:
    """Release an active hold; its record (who, when, why) stays."""
    with scoped(conn, tenant) if tenant else every_tenant(conn):
        released = repo.release_hold(
            conn,
            tenant_id=tenant.tenant_id if tenant else None,
            hold_id=hold_id,
            released_by=(by or who()).strip() or who(),
        )
        if released is not None:
            audit.record(
                conn,
                "hold release",
                tenant_id=released.tenant_id,
                params={"hold_id": hold_id, "by": released.released_by},
                result={"scope": released.scope, "value": released.value},
            )
    if released is None:
        raise NotFound(
            f"no active hold {hold_id}"
            + (f" in tenant {tenant.name!r}" if tenant else ""),
            hint="see `pmail hold list --all` (a released hold stays released)",
        )
    return released
