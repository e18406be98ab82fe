"""Commands that set pmail up: init-db, tenants, accounts, dictionaries."""

from __future__ import annotations

from typing import Annotated

import typer

from pmail_cli import output
from pmail_cli.cli import (
    FormatOption,
    TenantOption,
    app,
    connected,
    escape,
    get_settings,
    reported_errors,
    say,
    tenant_argument,
    tenant_name,
)
from pmail_cli.output import OutputFormat, counted

tenant_app = typer.Typer(help="Create and list tenants.", no_args_is_help=True)
account_app = typer.Typer(
    help="Register a tenant's own mailboxes.", no_args_is_help=True
)
dict_app = typer.Typer(
    help="Train and list per-tenant zstd dictionaries.", no_args_is_help=True
)
app.add_typer(tenant_app, name="tenant")
app.add_typer(account_app, name="account")
app.add_typer(dict_app, name="dict")


@app.command("init-db")
def init_db(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List pending migrations only.")
    ] = False,
    create: Annotated[
        bool,
        typer.Option(
            "--create", help="First create the database if the server has none."
        ),
    ] = False,
) -> None:
    """Create or upgrade the schema by applying pending migrations.

    Example: pmail init-db --dsn postgresql://localhost/pmail --create
    """
    from pmail_cli.services import schema

    settings = get_settings(ctx)
    if create and not dry_run:
        with reported_errors(settings):
            name, created = schema.create_database(settings)
        say(f"{'created' if created else 'found'} database {escape(name)}")
    from pmail_cli.progress import task

    backfilled = 0

    def backfill_done(rows: int) -> None:
        nonlocal backfilled
        backfilled += rows
        advance(rows)

    with (
        connected(settings, migrate=False) as conn,
        task(
            "Building search documents", total=None, enabled=not settings.quiet
        ) as advance,
    ):
        todo = (
            schema.plan(conn)
            if dry_run
            else schema.upgrade(conn, on_backfill=backfill_done)
        )
    verb = "would apply" if dry_run else "applied"
    if todo.move_aside:
        moved = "would move" if dry_run else "moved"
        say(
            f"{moved} the legacy table {todo.move_aside}.attachments aside to "
            f"{schema.ASIDE} (pmail migrate-legacy reads it there)"
        )
    for migration in todo.pending:
        say(f"{verb} {migration.path.name}")
    say(
        f"{verb} {counted(len(todo.pending), 'migration')}; schema is "
        + ("unchanged" if dry_run or not todo.pending else "up to date")
    )
    if backfilled:
        say(f"brought stored mail up to date ({counted(backfilled, 'message')} read)")


@tenant_app.command("add")
def tenant_add(
    ctx: typer.Context, name: Annotated[str, tenant_argument("Tenant name.")]
) -> None:
    """Create a tenant (nothing happens if it exists).

    A name is 1 to 200 characters, without control or invisible format characters.

    Example: pmail tenant add acme
    """
    from pmail_cli.services import tenants

    with connected(get_settings(ctx)) as conn:
        created = tenants.add_tenant(conn, name)
    say(f"tenant {escape(created.name)} ({created.tenant_id})")


@tenant_app.command("set")
def tenant_set(
    ctx: typer.Context,
    name: Annotated[str, tenant_argument("Tenant name, or its id.")],
    rename: Annotated[
        str | None,
        typer.Option(
            "--rename",
            help="Give the tenant this name (done first).",
            callback=tenant_name,
        ),
    ] = None,
    time_zone: Annotated[
        str | None,
        typer.Option("--time-zone", help="IANA zone its report days are counted in."),
    ] = None,
    retention_days: Annotated[
        int | None,
        typer.Option(
            "--retention-days",
            min=0,
            help="Days its mail is kept before `pmail purge` (0: the default, 2555).",
        ),
    ] = None,
    search: Annotated[
        str | None,
        typer.Option(
            "--search",
            help="on or off: its full-text index (on builds it for stored mail).",
        ),
    ] = None,
    search_language: Annotated[
        str | None,
        typer.Option(
            "--search-language",
            help="The text search configuration of its documents and queries:"
            " simple (the default: no stemming, any language) or a language such as"
            " english (stems words); rebuilds its stored documents.",
        ),
    ] = None,
    sql_bodies: Annotated[
        str | None,
        typer.Option(
            "--sql-bodies",
            help="on or off: the content_html and headers columns (docs/sql.md); on"
            " fills them for stored mail, off clears them (held mail keeps them).",
        ),
    ] = None,
    soft_bounce_limit: Annotated[
        int | None,
        typer.Option(
            "--soft-bounce-limit",
            help="Soft bounces within --soft-bounce-days that suppress an address"
            " (default 5).",
        ),
    ] = None,
    soft_bounce_days: Annotated[
        int | None,
        typer.Option(
            "--soft-bounce-days",
            help="Days the soft bounces must fall within (default 30).",
        ),
    ] = None,
) -> None:
    """Change a tenant's settings (its time zone rebuilds its rollups).

    NAME may also be the tenant's id (as `pmail validate` shows it): a name with
    control characters, from before they were refused, is fixed with --rename. New
    soft-bounce limits recompute its suppression list.

    Example: pmail tenant set acme --time-zone Europe/Berlin --retention-days 365
    """
    from pmail_cli.services import sqlbodies, suppressions, tenants

    filled = None
    rebuilt = None
    changes = (
        time_zone,
        retention_days,
        search,
        search_language,
        sql_bodies,
        soft_bounce_limit,
        soft_bounce_days,
    )
    with connected(get_settings(ctx)) as conn:
        tenant = tenants.find_tenant_to_change(conn, name)
        if rename is not None:
            tenant = tenants.rename_tenant(conn, tenant, rename)
        elif any(c is not None for c in changes):
            tenants.require_plain_name(tenant)
        if time_zone is not None:
            tenant = tenants.set_time_zone(conn, tenant, time_zone)
        if retention_days is not None:
            tenant = tenants.set_retention(conn, tenant, retention_days or None)
        if search is not None:
            tenant = tenants.set_search(conn, tenant, search)
        if search_language is not None:
            tenant, rebuilt = tenants.set_search_language(conn, tenant, search_language)
        if sql_bodies is not None:
            tenant, filled = sqlbodies.set_sql_bodies(conn, tenant, sql_bodies)
        if soft_bounce_limit is not None or soft_bounce_days is not None:
            tenant = suppressions.set_soft_bounces(
                conn, tenant, limit=soft_bounce_limit, days=soft_bounce_days
            )
    days = tenant.retention_days
    say(
        f"tenant {escape(tenant.name)}: time zone {escape(tenant.time_zone)}, "
        f"retention {days if days else '2555 (default)'} days, "
        f"full-text search {'on' if tenant.search_index else 'off'} "
        f"({escape(tenant.search_language)}), "
        f"sql bodies {'on' if tenant.sql_bodies else 'off'}, "
        f"suppressed after {tenant.soft_bounce_limit} soft bounces within "
        f"{tenant.soft_bounce_days} days"
    )
    if rebuilt is not None:
        say(f"search documents rebuilt: {counted(rebuilt, 'message')} looked at")
    if filled is not None:
        say(
            f"stored mail: {filled.filled:,} filled, {filled.cleared:,} cleared "
            f"({counted(filled.looked_at, 'message')} looked at)"
        )


@tenant_app.command("login")
def tenant_login(
    ctx: typer.Context,
    name: Annotated[str, tenant_argument("Tenant name.")],
    role: Annotated[
        str | None,
        typer.Option(
            "--role",
            help="Login role to create or bind (default: pmail_<name> for a plain "
            "lower-case ASCII name, else pmail_<ascii part>_<8 hex of its sha256>).",
        ),
    ] = None,
    read_only: Annotated[
        bool,
        typer.Option(
            "--read-only", help="Reading only (pmail_reader instead of pmail_app)."
        ),
    ] = False,
) -> None:
    """Give a tenant a PostgreSQL login that sees its rows and nothing else.

    The role is a member of pmail_app (read and write; pmail_reader with --read-only),
    with no ownership and no BYPASSRLS. Whatever its sessions set, row-level security
    binds them to this tenant (docs/security.md). Set its password yourself:
    ALTER ROLE <role> PASSWORD '...'.

    Example: pmail tenant login acme --role acme_app
    """
    from pmail_cli.services import tenants

    with connected(get_settings(ctx)) as conn:
        tenant = tenants.find_tenant(conn, name)
        login = tenants.bind_login(conn, tenant, role, read_only=read_only)
    verb = "created" if login.created else "bound"
    say(
        f"{verb} login role {login.role_name} for tenant {escape(tenant.name)}: its "
        "sessions see this tenant only; set a password with ALTER ROLE "
        f"{login.role_name} PASSWORD '...' (or allow it in pg_hba.conf)"
    )


@tenant_app.command("logins")
def tenant_logins(ctx: typer.Context, fmt: FormatOption = OutputFormat.table) -> None:
    """List the login roles bound to tenants.

    Example: pmail tenant logins
    """
    from pmail_cli.services import tenants

    with connected(get_settings(ctx)) as conn:
        rows = tenants.list_logins(conn)
    output.render(rows, fmt, columns=["role_name", "tenant", "created"])


@tenant_app.command("list")
def tenant_list(ctx: typer.Context, fmt: FormatOption = OutputFormat.table) -> None:
    """List tenants with their message counts.

    Example: pmail tenant list --format csv
    """
    from pmail_cli.services import tenants

    with connected(get_settings(ctx)) as conn:
        rows = tenants.list_tenants(conn)
    output.render(rows, fmt)


@account_app.command("add")
def account_add(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The mailbox address.")],
    tenant: TenantOption = None,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
) -> None:
    """Register a mailbox of the tenant; mail it sends counts as outbound.

    Example: pmail account add sdr1@acme.com --tenant acme
    """
    from pmail_cli.services import tenants

    with connected(get_settings(ctx)) as conn:
        scope = tenants.use_tenant(conn, tenant)
        account_id = tenants.add_account(conn, scope, email=email, display_name=name)
    say(f"account {escape(email)} ({account_id})")


@dict_app.command("train")
def dict_train(
    ctx: typer.Context,
    tenant: TenantOption = None,
    recompress: Annotated[
        bool,
        typer.Option(
            help="Also move every stored message to the new dictionary (the owner "
            "or pmail_admin only: a tenant's login does not rewrite stored mail)."
        ),
    ] = False,
) -> None:
    """Train a new zstd dictionary on the tenant's mail.

    Example: pmail dict train --tenant acme --recompress
    """
    from pmail_cli.services import dicts, tenants

    with connected(get_settings(ctx)) as conn:
        scope = tenants.use_tenant(conn, tenant)
        if recompress:
            dicts.check_may_recompress(conn)
        trained = dicts.train_dictionary(conn, scope)
        moved = 0
        if recompress:
            moved = dicts.recompress(conn, scope, trained.dictionary, only_plain=False)
    if trained.unchanged:
        say(
            f"dictionary {trained.dict_id} was trained on these same "
            f"{counted(trained.sample_count, 'message')}: no new dictionary"
            + (
                f"; {counted(moved, 'stored message')} moved to it"
                if recompress
                else ""
            )
        )
        return
    say(
        f"trained dictionary {trained.dict_id} ({counted(trained.size_bytes, 'byte')})"
        f" on {counted(trained.sample_count, 'message')}; new mail uses it, "
        + (
            f"{counted(moved, 'stored message')} moved to it"
            if recompress
            else "older rows stay readable"
        )
    )


@dict_app.command("list")
def dict_list(
    ctx: typer.Context,
    tenant: TenantOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """List the tenant's dictionaries and how many messages use each.

    Example: pmail dict list --tenant acme
    """
    from pmail_cli.services import dicts, tenants

    with connected(get_settings(ctx)) as conn:
        scope = tenants.find_tenant(conn, tenant)
        rows = dicts.list_dictionaries(conn, scope)
    output.render(rows, fmt)
