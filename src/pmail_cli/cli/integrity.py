"""Commands that prove and prune what is stored: validate, purge, hold, audit."""

from __future__ import annotations

import dataclasses
import shlex
from typing import TYPE_CHECKING, Annotated

import typer

from pmail_cli import output
from pmail_cli.cli import (
    EveryTenantOption,
    FormatOption,
    JobsOption,
    TenantOption,
    app,
    connected,
    escape,
    get_settings,
    reported_errors,
    say,
    tenant_option,
)
from pmail_cli.errors import IntegrityProblems, PmailError, UsageError
from pmail_cli.output import OutputFormat, counted

if TYPE_CHECKING:
    from pmail_cli.services.validate import Outcome

hold_app = typer.Typer(
    help="Legal holds: mail they cover is never purged.", no_args_is_help=True
)
app.add_typer(hold_app, name="hold")


def _mb(nbytes: int) -> str:
    return f"{nbytes / 1e6:,.1f} MB"


@app.command("validate")
def validate_cmd(
    ctx: typer.Context,
    tenant: EveryTenantOption = None,
    deep: Annotated[
        bool,
        typer.Option(
            "--deep",
            help="Also rebuild every stored message and file and re-check its sha256.",
        ),
    ] = False,
    sample: Annotated[
        int | None,
        typer.Option(
            "--sample", min=1, help="With --deep: check N random messages and files."
        ),
    ] = None,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair", help="Run the provably safe repairs, each listed before/after."
        ),
    ] = False,
    jobs: JobsOption = 0,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Check every invariant; read-only unless --repair. Exit 0 clean, 3 problems.

    Without --tenant every tenant is checked (an administrator's connection).

    Example: pmail validate --tenant acme --format json
    """
    from pmail_cli.progress import byte_task
    from pmail_cli.services import tenants, validate

    settings = get_settings(ctx)
    if sample is not None and not deep:
        with reported_errors(settings):
            raise UsageError(
                "--sample goes with --deep", hint="pmail validate --deep --sample 10000"
            )
    with connected(settings) as conn:
        scope = tenants.find_tenant(conn, tenant) if tenant else None
        with byte_task("Verifying", enabled=not settings.quiet) as bar:
            report = validate.validate(
                conn,
                scope,
                deep=deep,
                sample=sample,
                repair=repair,
                jobs=jobs,
                on_progress=bar.advance,
                on_total=bar.set_total,
            )
        if fmt is OutputFormat.json:
            output.render(list(validate.outcomes_of(report)), fmt)
        else:
            rows = [_row(o) for o in report.outcomes]
            if any("repaired" in r for r in rows):
                for r in rows:
                    r.setdefault("repaired", "")
            output.render(rows, fmt)
        t = report.totals
        say(
            f"{counted(t.messages, 'message')}, {t.content_rows:,} with content"
            f" ({t.purged:,} purged), {counted(t.attachments, 'attachment')},"
            f" {counted(t.files, 'stored file')}"
        )
        if t.legacy_without_content or t.legacy_files_aside:
            say(
                "as the legacy migration recorded them (docs/migrate-legacy.md), not "
                f"damage: {counted(t.legacy_without_content, 'message')} whose legacy "
                f"row never had content, {counted(t.legacy_files_aside, 'legacy file')} "
                "without a message "
                "kept in migration_anomalies"
            )
        if report.deep:
            d = report.deep
            rate = d.messages / d.seconds if d.seconds else 0.0
            say(
                f"--deep: rebuilt {counted(d.messages, 'message')} and "
                f"{counted(d.files, 'file')},"
                f" {_mb(d.nbytes)} in {d.seconds:.1f} s ({rate:,.0f} messages/s,"
                f" {d.nbytes / 1e6 / d.seconds if d.seconds else 0:,.1f} MB/s,"
                f" {counted(d.workers, 'worker')})"
            )
        if report.problems:
            raise IntegrityProblems(
                f"{counted(report.problems, 'check')} found problems",
                hint="the rows are named above (--format json for all checks);"
                + (
                    " `pmail validate --repair` does the safe repairs"
                    if not repair
                    else " what is left needs a person: see docs/validate.md"
                ),
            )
        say("validate: clean")


def _row(o: Outcome) -> dict[str, object]:
    """A check as a table row: its first few rows named, then how many more."""
    first = "\n".join(o.sample[:3])
    if o.count > 3:
        first += f"\n(+{o.count - 3:,} more)"
    row: dict[str, object] = {
        "check": o.name,
        "status": o.status,
        "count": o.count,
        "first": first,
    }
    if o.repaired:
        row["repaired"] = o.repaired
    return row


@app.command("purge")
def purge_cmd(
    ctx: typer.Context,
    tenant: EveryTenantOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count what would be deleted.")
    ] = False,
    fmt: FormatOption = OutputFormat.table,
    lock_wait: Annotated[
        float,
        typer.Option(
            "--lock-wait",
            min=0.1,
            help="Without --tenant: seconds to wait for one tenant's writes in "
            "flight before skipping it (the others are purged; the exit code is 1 "
            "and the error names the sessions that held it).",
        ),
    ] = 60.0,
) -> None:
    """Delete expired content (never what a legal hold covers), keep tombstones.

    A message expires at its content's `expires`, else at arrival plus its
    retention_days, the tenant's (`pmail tenant set --retention-days`), or 2555 days.
    Without --tenant every tenant is purged; a tenant whose writes stay locked longer
    than --lock-wait is skipped and named.

    Example: pmail purge --dry-run
    """
    from pmail_cli.progress import task
    from pmail_cli.services import retention, tenants

    settings = get_settings(ctx)
    with connected(settings) as conn:
        scope = tenants.find_tenant(conn, tenant) if tenant else None
        with task(
            "Purging", total=None, enabled=not settings.quiet and not dry_run
        ) as advance:
            result = retention.purge(
                conn, scope, dry_run=dry_run, lock_wait=lock_wait, on_progress=advance
            )
    rows = [
        {
            "tenant": t.tenant,
            "messages": t.messages,
            "raw_bytes": t.raw_bytes,
            "stored_bytes": t.stored_bytes,
            **({} if dry_run else {"files": t.files, "bytes_freed": t.bytes_freed}),
            "held": t.held,
        }
        for t in result.tenants
    ]
    output.render(rows, fmt)
    messages = sum(t.messages for t in result.tenants)
    held = sum(t.held for t in result.tenants)
    if dry_run:
        stored = sum(t.stored_bytes for t in result.tenants)
        say(
            f"would purge {counted(messages, 'message')} ({_mb(stored)} of stored "
            "content, plus "
            f"attachment files no other message uses); {held:,} kept by legal holds"
        )
    else:
        freed = sum(t.bytes_freed for t in result.tenants)
        say(
            f"purged {counted(messages, 'message')}, freed {_mb(freed)}; {held:,} kept "
            "by legal holds"
        )
    skipped = [t for t in result.tenants if t.skipped]
    if skipped:
        with reported_errors(settings):
            raise PmailError(
                "the purge skipped "
                + "; ".join(f"tenant {t.tenant!r} ({t.skipped})" for t in skipped),
                hint="the other tenants are purged. An open transaction keeps that "
                "tenant's writes locked: once it ends (SELECT pg_terminate_backend(pid) "
                f"rolls it back), run `pmail purge --tenant {shlex.quote(skipped[0].tenant)}`",
            )


@hold_app.command("add")
def hold_add(
    ctx: typer.Context,
    reason: Annotated[str, typer.Option("--reason", help="Why (e.g. a case number).")],
    tenant: TenantOption = None,
    lead: Annotated[
        str | None, typer.Option("--lead", help="Hold a lead's mail (lead id).")
    ] = None,
    campaign: Annotated[
        str | None,
        typer.Option("--campaign", help="Hold a campaign's mail (campaign id)."),
    ] = None,
    account: Annotated[
        str | None,
        typer.Option(
            "--account", help="Hold a mailbox's mail (account id or address)."
        ),
    ] = None,
    storage_key: Annotated[
        str | None, typer.Option("--storage-key", help="Hold one message.")
    ] = None,
    by: Annotated[
        str | None,
        typer.Option("--by", help="Who sets the hold (default: the OS user)."),
    ] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Put a legal hold on mail: the whole tenant, a lead, campaign, account or message.

    Held mail is never purged, by pmail or by any SQL delete (a trigger refuses it).

    Example: pmail hold add --tenant acme --lead 6f1c... --reason "case 2026-114"
    """
    from pmail_cli.services import holds, tenants

    settings = get_settings(ctx)
    given = {
        k: v
        for k, v in {
            "lead": lead,
            "campaign": campaign,
            "account": account,
            "message": storage_key,
        }.items()
        if v is not None
    }
    with connected(settings) as conn:
        if len(given) > 1:
            raise UsageError(
                "a hold covers one thing: give at most one of --lead, --campaign, "
                "--account, --storage-key",
                hint="add one hold for each (without any, the whole tenant is held)",
            )
        scope_name, value = next(iter(given.items()), ("tenant", None))
        scope = tenants.find_tenant(conn, tenant)
        hold = holds.add_hold(
            conn, scope, scope=scope_name, value=value, reason=reason, by=by
        )
    output.render([hold], fmt)
    say(
        f"hold {hold.hold_id} covers {counted(hold.messages or 0, 'message')} now, and new "
        "ones that match"
    )


@hold_app.command("list")
def hold_list(
    ctx: typer.Context,
    tenant: EveryTenantOption = None,
    include_released: Annotated[
        bool, typer.Option("--all", help="Released holds too.")
    ] = False,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """List legal holds (active ones; --all for released too).

    Example: pmail hold list --tenant acme --all
    """
    from pmail_cli.services import holds, tenants

    with connected(get_settings(ctx)) as conn:
        scope = tenants.find_tenant(conn, tenant) if tenant else None
        rows = holds.list_holds(conn, scope, include_released=include_released)
    output.render(
        rows, fmt, columns=["hold_id", "tenant_id", "scope", "value", "reason"]
    )


@hold_app.command("release")
def hold_release(
    ctx: typer.Context,
    hold_id: Annotated[
        int, typer.Argument(help="The hold's id (see `pmail hold list`).")
    ],
    tenant: EveryTenantOption = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Who releases it (default: the OS user).")
    ] = None,
) -> None:
    """Release a legal hold; its record (who, when, why) is kept.

    Example: pmail hold release 3
    """
    from pmail_cli.services import holds, tenants

    with connected(get_settings(ctx)) as conn:
        scope = tenants.find_tenant(conn, tenant) if tenant else None
        released = holds.release_hold(conn, scope, hold_id, by=by)
    say(
        f"hold {released.hold_id} released by {escape(released.released_by or '')}; "
        "its record stays (`pmail hold list --all`)"
    )


@app.command("audit")
def audit_cmd(
    ctx: typer.Context,
    tenant: Annotated[
        str | None, tenant_option("One tenant's acts (default: every tenant's).")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="From this date (2026-11-01) or age (30d, 12h).")
    ] = None,
    action: Annotated[
        str | None,
        typer.Option(help="One action ('hold release') or its first word ('hold')."),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, max=1_000_000, help="Rows at most.")
    ] = 1000,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Show the administrators' audit log (append-only), oldest first.

    Holds, purges, tenant changes and logins, repairs, archives, dead-letter
    retries, rollup rebuilds and dictionary training, each with when, the database
    role, the OS user, the tenant, what was asked and what it did.

    Example: pmail audit --tenant acme --since 30d --action hold
    """
    from pmail_cli.query import parse_when
    from pmail_cli.services import audit, tenants

    settings = get_settings(ctx)
    with reported_errors(settings):
        action = audit.check_action(action) if action else None
    with connected(settings) as conn:
        scope = tenants.find_tenant(conn, tenant) if tenant else None
        rows = audit.entries(
            conn,
            scope,
            since=parse_when(since) if since else None,
            action=action,
            limit=limit,
        )
    if fmt is OutputFormat.table:  # a purge's result names every key: json has it
        rows = [dataclasses.replace(r, result=_brief(r.result)) for r in rows]
    output.render(
        rows,
        fmt,
        columns=[
            "audit_id",
            "at",
            "db_role",
            "acting_as",
            "os_user",
            "tenant",
            "action",
            "params",
            "result",
        ],
    )


def _brief(result: dict[str, object]) -> dict[str, object]:
    """A result for the table: lists longer than three items shown by their length."""
    return {
        k: f"[{len(v)} items]" if isinstance(v, list) and len(v) > 3 else v
        for k, v in result.items()
    }
