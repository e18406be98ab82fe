"""Tenants: the default one, named ones, their mailboxes, and scoped transactions."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pmail_cli import vocab
from pmail_cli.db import Connection
from pmail_cli.errors import NotFound, PermissionDenied, UsageError
from pmail_cli.repository import tenants as repo
from pmail_cli.repository.tenants import Tenant, TenantSummary
from pmail_cli.services import audit

DEFAULT_TENANT = "default"


@contextmanager
def scoped(conn: Connection, tenant: Tenant) -> Iterator[None]:
    """A transaction that sees only the tenant's rows (row-level security).

    The scope is set inside the transaction and ends with it, so a connection that
    serves tenant A and then tenant B never carries A's scope into B's work.
    """
    with conn.transaction():
        repo.scope_transaction(conn, tenant_id=tenant.tenant_id)
        yield


@contextmanager
def every_tenant(conn: Connection) -> Iterator[None]:
    """A transaction that sees every tenant's rows (cross-tenant commands)."""
    with conn.transaction():
        repo.scope_all_tenants(conn)
        yield


def use_tenant(conn: Connection, name: str | None) -> Tenant:
    """Return the tenant called name; 'default' is created on first use."""
    wanted = name or DEFAULT_TENANT
    with conn.transaction():
        tenant = _find_named(conn, wanted)
        if tenant is None and wanted == DEFAULT_TENANT:
            tenant = repo.insert_tenant(conn, name=wanted)
    if tenant is None:
        _refuse_untrusted(conn)
        raise NotFound(
            f"tenant {wanted!r} does not exist",
            hint=f"create it with `pmail tenant add {wanted}` (see `pmail tenant list`)",
        )
    return tenant


def _find_named(conn: Connection, name: str) -> Tenant | None:
    """The tenant called name; else, for a name with spaces around it (a pasted
    `--tenant ' acme '`), the one called the name stripped, as `tenant add` stores
    it. A tenant whose name has the spaces (stored before names were stripped) is
    still found first."""
    tenant = repo.find_tenant(conn, name=name)
    if tenant is None and name.strip() != name:
        tenant = repo.find_tenant(conn, name=name.strip())
    return tenant


def rewrites_stored_bytes(conn: Connection) -> bool:
    """Whether this session may rewrite stored mail (recompress it, repair a file):
    a trusted one (the owner, a member of pmail_admin), not a tenant's login
    (migrations 0033, 0037)."""
    with conn.transaction():
        return repo.session_binding(conn) is None


def _refuse_untrusted(conn: Connection) -> None:
    """A role that sees no tenant at all is told why, not that the tenant is missing."""
    with conn.transaction():
        untrusted = repo.session_binding(conn) == repo.UNTRUSTED
    if untrusted:
        raise PermissionDenied(
            "this database role is neither bound to a tenant nor an administrator, "
            "so it sees no tenant",
            hint="connect as the owner of pmail's tables, a member of pmail_admin or "
            "pmail_analyst, or a tenant's login (docs/security.md)",
        )


def keys_by_tenant(
    conn: Connection, rows: list[tuple[uuid.UUID, str]]
) -> list[tuple[Tenant, list[str]]]:
    """(tenant, key) rows grouped by tenant, in their order; the keys of a tenant
    that no longer exists are left out (a backfill batch read across tenants)."""
    grouped: dict[uuid.UUID, list[str]] = {}
    for tenant_id, key in rows:
        grouped.setdefault(tenant_id, []).append(key)
    known = {t.tenant_id: t for t in repo.all_tenants(conn)}
    return [(known[t], keys) for t, keys in grouped.items() if t in known]


def find_tenant(conn: Connection, name: str | None) -> Tenant:
    """Return the tenant called name (None: the default tenant, not named by the user);
    never creates one (read commands use this)."""
    with conn.transaction():
        tenant = _find_named(conn, name or DEFAULT_TENANT)
    if tenant is None:
        _refuse_untrusted(conn)
        if name is None:
            raise NotFound(
                f"no --tenant given, and this database has no tenant {DEFAULT_TENANT!r}",
                hint=_name_one(conn),
            )
        raise NotFound(
            f"tenant {name!r} does not exist",
            hint="see `pmail tenant list` for the tenants there are",
        )
    return tenant


def _name_one(conn: Connection) -> str:
    """The hint for a read command run without --tenant where 'default' is missing."""
    with every_tenant(conn):
        names = sorted(t.name for t in repo.all_tenants(conn))
    if not names:
        return "this database holds no mail yet: store some with `pmail ingest PATH`"
    shown = ", ".join(names[:5]) + (
        f" and {len(names) - 5} more" if len(names) > 5 else ""
    )
    return f"name one with --tenant NAME (this database has {shown})"


def set_time_zone(conn: Connection, tenant: Tenant, time_zone: str) -> Tenant:
    """Count the tenant's days in another zone; its rollups are rebuilt to match."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"unknown time zone {time_zone!r}",
            hint="use an IANA name such as Europe/Berlin",
        ) from None
    from pmail_cli.repository import reports as reports_repo

    with scoped(conn, tenant):
        repo.set_time_zone(conn, tenant_id=tenant.tenant_id, time_zone=time_zone)
        audit_set(conn, tenant, time_zone=time_zone)
        reports_repo.clear_rollups(conn, tenant_id=tenant.tenant_id)
        reports_repo.rebuild_message_rollups(conn, tenant_id=tenant.tenant_id)
        reports_repo.rebuild_storage_rollups(conn, tenant_id=tenant.tenant_id)
    return find_tenant(conn, tenant.name)


# Characters a tenant name may not hold: control (Cc), format (Cf: zero-width and
# bidi controls, the soft hyphen), line and paragraph separators (Zl, Zp), and the
# lone surrogates a non-UTF-8 command line leaves. The database's CHECK
# (pmail_plain_name, sql/migrations) refuses the same, for writers other than pmail.
_NOT_IN_NAMES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
MAX_NAME = 200


def check_tenant_name(name: str) -> str:
    """The name, without surrounding spaces, if a tenant may be called that."""
    import unicodedata

    bad = [c for c in name if unicodedata.category(c) in _NOT_IN_NAMES]
    if bad:
        shown = ", ".join(dict.fromkeys(f"U+{ord(c):04X}" for c in bad))
        raise UsageError(
            f"a tenant name may not hold control or invisible format characters "
            f"(this one has {shown})",
            hint="use letters, digits, spaces and punctuation; every table that "
            "lists tenants prints the name",
        )
    if not name.strip() or len(name.strip()) > MAX_NAME:
        raise UsageError(f"a tenant name must be 1 to {MAX_NAME} characters")
    return name.strip()


def add_tenant(conn: Connection, name: str) -> Tenant:
    """Create a tenant (idempotent) and return it."""
    name = check_tenant_name(name)
    with conn.transaction():
        known = repo.find_tenant(conn, name=name.strip())
        tenant = repo.insert_tenant(conn, name=name.strip())
        if known is None:
            repo.scope_transaction(conn, tenant_id=tenant.tenant_id)
            audit.record(
                conn,
                "tenant add",
                tenant_id=tenant.tenant_id,
                params={"name": tenant.name},
                result={"tenant_id": tenant.tenant_id},
            )
        return tenant


def find_tenant_to_change(conn: Connection, name: str) -> Tenant:
    """The tenant called name, or whose id it is (`pmail validate` names a tenant
    whose name cannot be typed by its id)."""
    with conn.transaction():
        tenant = repo.find_tenant(conn, name=name)
        if tenant is None and _is_uuid(name):
            tenant = repo.find_tenant_by_id(conn, tenant_id=uuid.UUID(name.strip()))
    return tenant if tenant is not None else find_tenant(conn, name)


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text.strip())
    except ValueError:
        return False
    return True


def require_plain_name(tenant: Tenant) -> None:
    """Refuse to change a tenant whose name an older pmail let in (control or
    format characters: the database checks every changed row) until it is renamed."""
    try:
        check_tenant_name(tenant.name)
    except UsageError:
        raise UsageError(
            f"tenant {tenant.tenant_id} has a name with control or format characters "
            f"({tenant.name!r}); it must be renamed before anything else changes",
            hint=f"pmail tenant set {tenant.tenant_id} --rename NEW-NAME",
        ) from None


def rename_tenant(conn: Connection, tenant: Tenant, new_name: str) -> Tenant:
    """Give the tenant another name (its id, mail and logins stay)."""
    new_name = check_tenant_name(new_name)
    with scoped(conn, tenant):
        other = repo.find_tenant(conn, name=new_name)
        if other is not None and other.tenant_id != tenant.tenant_id:
            raise UsageError(
                f"a tenant called {new_name!r} exists already",
                hint="pick another name (`pmail tenant list`)",
            )
        repo.rename_tenant(conn, tenant_id=tenant.tenant_id, name=new_name)
        audit_set(conn, tenant, name=new_name)
    return find_tenant(conn, new_name)


def list_tenants(conn: Connection) -> list[TenantSummary]:
    """Return every tenant with its message count."""
    with every_tenant(conn):
        return repo.list_tenants(conn)


def accounts(conn: Connection, tenant: Tenant) -> dict[str, str]:
    """The tenant's own mailboxes: lower-cased address -> account id (their mail is
    outbound, and stored with that account)."""
    with scoped(conn, tenant):
        return repo.list_accounts(conn, tenant_id=tenant.tenant_id)


def add_account(
    conn: Connection, tenant: Tenant, *, email: str, display_name: str | None = None
) -> uuid.UUID:
    """Register one of the tenant's own mailboxes (its mail counts as outbound)."""
    if "@" not in email:
        raise UsageError(f"{email!r} is not an email address")
    with scoped(conn, tenant):
        return repo.insert_email_account(
            conn,
            tenant_id=tenant.tenant_id,
            email=email.strip(),
            display_name=display_name,
        )


def set_retention(conn: Connection, tenant: Tenant, days: int | None) -> Tenant:
    """Set how many days the tenant keeps mail by default (None: back to 2555)."""
    if days is not None and not 1 <= days <= 100 * 366:
        raise UsageError(
            f"--retention-days {days} is out of range",
            hint="give a number of days from 1 to 36600 (0 puts the default back)",
        )
    with scoped(conn, tenant):
        repo.set_retention(conn, tenant_id=tenant.tenant_id, retention_days=days)
        audit_set(conn, tenant, retention_days=days)
    return find_tenant(conn, tenant.name)


def audit_set(conn: Connection, tenant: Tenant, **changed: object) -> None:
    """Record a `tenant set` in its transaction (which is scoped to the tenant)."""
    audit.record(
        conn,
        "tenant set",
        tenant_id=tenant.tenant_id,
        params={"name": tenant.name, **changed},
        result={},
    )


_PLAIN_ROLE = re.compile(r"[a-z0-9_]{1,57}")
_HASHED = re.compile(r"_[0-9a-f]{8}$")


def login_role_name(tenant: Tenant) -> str:
    """The default name of a tenant's login role, unique per name and stable.

    A name that is already a plain role name (lower-case ASCII letters, digits and
    underscores, at most 57) is kept: `acme` → `pmail_acme`. Any other name gets a
    readable ASCII part (accents dropped) and the first 8 hex digits of the sha256 of
    the whole name: `ténant-ü` → `pmail_tenant_u_` + 8 hex digits, so names that read
    alike in ASCII (`ténant-ü`, `tenant-u`, `Tenant U`) get different roles. A plain name that itself ends like
    a hash (`_` and 8 hex digits) is hashed too, so the two kinds never meet.
    """
    import hashlib
    import unicodedata

    name = tenant.name
    if _PLAIN_ROLE.fullmatch(name) and not _HASHED.search(name):
        return f"pmail_{name}"
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore")
    cleaned = re.sub(r"[^a-z0-9]+", "_", ascii_name.decode().lower()).strip("_")
    cleaned = cleaned[:40].rstrip("_") or "tenant"
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"pmail_{cleaned}_{digest}"


@dataclass(frozen=True, slots=True)
class TenantLogin:
    """A login role bound to a tenant, and whether this call created it."""

    role_name: str
    tenant: Tenant
    created: bool


PMAIL_GROUPS = frozenset({"pmail_app", "pmail_reader", "pmail_admin", "pmail_analyst"})


def bind_login(
    conn: Connection, tenant: Tenant, role_name: str | None, *, read_only: bool = False
) -> TenantLogin:
    """Give the tenant a login role that sees its rows and nothing else.

    The role is created (LOGIN, in pmail_app — pmail_reader with read_only — no
    password) unless it exists; an
    existing role is bound only if it is not trusted beyond a tenant (superuser,
    BYPASSRLS, owner of the tables) and not bound to another tenant, and only when
    named with --role: the default name may already belong to another database.
    """
    role = role_name or login_role_name(tenant)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]{0,62}", role):
        raise UsageError(
            f"{role!r} is not a plain role name",
            hint="use letters, digits and underscores, at most 63",
        )
    if role in PMAIL_GROUPS or role.startswith("pg_"):
        # a group's binding and pmail_app grant pass to every member: the read-only
        # logins (pmail_reader) would all write, the analysts write every tenant
        raise UsageError(
            f"role {role} is one of pmail's group roles or PostgreSQL's predefined "
            "roles and cannot be a tenant login: its members would all get the tenant",
            hint="name a role of the tenant's own with --role",
        )
    with every_tenant(conn):
        if not repo.grant_app_rights(conn):
            raise UsageError(
                "the role pmail_app does not exist on this server",
                hint="run `pmail init-db` as a role that may create roles (it creates "
                "pmail_app), or have an administrator run: CREATE ROLE pmail_app "
                "NOLOGIN; then run this again",
            )
        status = repo.role_status(conn, role_name=role)
        if status.tenant_id not in (None, tenant.tenant_id):
            raise UsageError(
                f"role {role} is bound to another tenant",
                hint="a login serves one tenant: pick another --role",
            )
        if role_name is None and status.found and status.tenant_id is None:
            # Roles belong to the whole server, bindings to this database: a role of
            # the default name that is not bound here was made elsewhere (another
            # pmail database's login for its own tenant of this name, or a role made
            # for something else). Binding it silently would let whoever holds its
            # password read this tenant too.
            raise UsageError(
                f"role {role} already exists on this server and is not a login of "
                f"this database's tenant {tenant.name!r} (another pmail database's "
                "login, or a role made for something else)",
                hint=f"its sessions would see this tenant's mail too: name a new role "
                f"with --role NAME, or pass --role {role} to bind that role on purpose",
            )
        if status.trusted:
            raise UsageError(
                f"role {role} is trusted beyond one tenant (superuser, BYPASSRLS or "
                "owner of pmail's tables) and cannot be a tenant login",
                hint="pick another --role",
            )
        group = "pmail_reader" if read_only else "pmail_app"
        if status.found:
            # exactly the rights asked for: a writer made read-only stops writing
            other = "pmail_app" if read_only else "pmail_reader"
            repo.grant_app_role(conn, role_name=role, group=group)
            repo.revoke_app_role(conn, role_name=role, group=other)
            if read_only and repo.role_in_group(conn, role_name=role, group=other):
                raise UsageError(
                    f"role {role} has pmail_app's rights through another role, so it "
                    "would still write",
                    hint="revoke that membership, or name another role for a "
                    "read-only login",
                )
        else:
            repo.create_login_role(conn, role_name=role, group=group)
        repo.bind_role(conn, role_name=role, tenant_id=tenant.tenant_id)
        audit.record(
            conn,
            "tenant login",
            tenant_id=tenant.tenant_id,
            params={"role": role, "read_only": read_only},
            result={"created": not status.found},
        )
    return TenantLogin(role, tenant, created=not status.found)


def list_logins(conn: Connection) -> list[repo.TenantRole]:
    """Every tenant login role."""
    with every_tenant(conn):
        return repo.list_roles(conn)


def set_search(conn: Connection, tenant: Tenant, value: str) -> Tenant:
    """Turn the tenant's full-text index on ('on': every stored message's document is
    built, in one transaction) or off ('off': the documents are dropped)."""
    word = vocab.one_of("--search", value, vocab.ON_OFF)
    with scoped(conn, tenant):
        repo.set_search_index(conn, tenant_id=tenant.tenant_id, on=word == "on")
        changed = repo.sync_search_documents(conn, tenant_id=tenant.tenant_id)
        audit_set(conn, tenant, search=word, documents=changed)
    return find_tenant(conn, tenant.name)


SEARCH_REBUILD = "search_rebuild"
SEARCH_REBUILD_BATCH = 2000


def search_rebuild_batch(conn: Connection, name: str, batch: int) -> int:
    """One batch of a search-document rebuild, in the caller's transaction
    (migrations.run_backfills calls it for `search_rebuild:<tenant_id>`)."""
    return repo.search_rebuild_batch(conn, name=name, batch=batch)


def set_search_language(
    conn: Connection,
    tenant: Tenant,
    value: str,
    *,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[Tenant, int]:
    """Use another text search configuration for the tenant's documents and queries
    (one of the server's built-in ones), then rebuild its stored documents in committed
    batches (pmail_backfills: a killed run goes on at the next `pmail init-db` or
    `tenant set`). Returns the tenant and the messages looked at."""
    with conn.transaction():
        allowed = repo.search_languages(conn)
    language = vocab.one_of("--search-language", value, allowed)
    name = f"{SEARCH_REBUILD}:{tenant.tenant_id}"
    if language != tenant.search_language:
        from pmail_cli.repository import writer as writer_repo

        with scoped(conn, tenant):
            # no batch of this tenant is half-written while the setting changes
            writer_repo.lock_tenant_writes(conn, tenant_id=tenant.tenant_id)
            repo.set_search_language(
                conn, tenant_id=tenant.tenant_id, language=language
            )
            repo.start_search_rebuild(conn, name=name, tenant_id=tenant.tenant_id)
            audit_set(conn, tenant, search_language=language)
    from pmail_cli import migrations  # the runner: only when a rebuild runs

    looked_at = migrations.run_backfill(
        conn, name, SEARCH_REBUILD_BATCH, on_progress, search_rebuild_batch
    )
    return find_tenant(conn, tenant.name), looked_at
