"""`pmail report …` and `pmail analytics rebuild`."""

from __future__ import annotations

import sys
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pmail_cli import output, vocab
from pmail_cli.cli import (
    FormatOption,
    TenantOption,
    app,
    connected,
    get_settings,
    reported_errors,
    say,
    tenant_option,
)
from pmail_cli.output import OutputFormat, counted

if TYPE_CHECKING:
    from pmail_cli.charts import Series
    from pmail_cli.config import Settings
    from pmail_cli.db import Connection
    from pmail_cli.services.reports import Names, Window

report_app = typer.Typer(
    help="Analytics: volume, storage, status, attachments, campaigns, mailboxes, bounces.",
    no_args_is_help=True,
)
analytics_app = typer.Typer(
    help="Keep the rollup tables the reports read.", no_args_is_help=True
)
app.add_typer(report_app, name="report")
app.add_typer(analytics_app, name="analytics")

ReportTenant = Annotated[str | None, tenant_option("Tenant name (or --all-tenants).")]
AllTenants = Annotated[
    bool,
    typer.Option("--all-tenants", help="Every tenant together (each in its own days)."),
]
Days = Annotated[
    int,
    typer.Option(
        help="From now minus N days, as the seed's `created >= now() - N days` (the "
        "first day is partial); with --until, the N whole days up to it."
    ),
]
Since = Annotated[
    datetime | None,
    typer.Option(formats=["%Y-%m-%d"], help="First day, whole (instead of --days)."),
]
Until = Annotated[
    datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Last day (inclusive).")
]
Tz = Annotated[
    str | None,
    typer.Option("--tz", help="Time zone of the days (default: the tenant's)."),
]
NoChart = Annotated[bool, typer.Option("--no-chart", help="No chart under the table.")]
Plot = Annotated[
    Path | None,
    typer.Option("--plot", help="Also draw the chart into FILE.png or .svg."),
]
OltpDsn = Annotated[
    str | None,
    typer.Option(
        "--oltp-dsn", help="Operational database for names (else PMAIL_OLTP_DSN)."
    ),
]


@dataclass(frozen=True, slots=True)
class _Args:
    tenant: str | None
    all_tenants: bool
    days: int
    since: datetime | None
    until: datetime | None
    tz: str | None


def _window(conn: Connection, a: _Args) -> Window:
    from pmail_cli.services import reports

    return reports.window(
        conn,
        tenant=a.tenant,
        all_tenants=a.all_tenants,
        days=a.days,
        since=a.since.date() if a.since else None,
        until=a.until.date() if a.until else None,
        tz=a.tz,
    )


def _show(
    rows: list[object],
    row_type: type,
    fmt: OutputFormat,
    *,
    chart: Series | None = None,
    no_chart: bool = False,
    plot: Path | None = None,
    percent: tuple[str, ...] = (),
) -> None:
    output.render(
        rows, fmt, columns=[f.name for f in fields(row_type)], percent=percent
    )
    if chart is None:
        return
    from pmail_cli import charts

    if plot is not None:
        charts.plot(chart, plot)
        say(f"wrote the chart to {plot}")
    if fmt is OutputFormat.table and not no_chart and sys.stdout.isatty():
        from rich.console import Console

        charts.terminal(chart, Console())


def _check_plot(settings: Settings, plot: Path | None) -> None:
    from pmail_cli import charts

    with reported_errors(settings):
        charts.check_plot_path(plot)


@report_app.command("volume")
def volume(
    ctx: typer.Context,
    tenant: ReportTenant = None,
    all_tenants: AllTenants = False,
    days: Days = 30,
    since: Since = None,
    until: Until = None,
    tz: Tz = None,
    by: Annotated[
        str, typer.Option(help="arrival (when pmail stored it) or sent (its Date).")
    ] = "arrival",
    fmt: FormatOption = OutputFormat.table,
    no_chart: NoChart = False,
    plot: Plot = None,
) -> None:
    """Show messages per day: total, inbound, outbound, delivered, bounced, replied.

    Columns: date; total_emails; inbound_emails; outbound_emails; delivered_emails
    (outbound, not bounced or failed); bounced_emails, replied_emails,
    complained_emails (inbound bounces, replies, complaints that arrived that day).

    Example: pmail report volume --tenant acme --days 30
    """
    from pmail_cli.charts import Series
    from pmail_cli.services import reports

    settings = get_settings(ctx)
    with reported_errors(settings):
        by = vocab.one_of("--by", by, vocab.VOLUME_BY)
    _check_plot(settings, plot)
    with connected(settings) as conn:
        w = _window(conn, _Args(tenant, all_tenants, days, since, until, tz))
        rows = reports.volume(conn, w, by_sent=by == "sent")
    chart = Series(
        "messages per day",
        [r.date.isoformat() for r in rows],
        [r.total_emails for r in rows],
        parts={
            "inbound": [r.inbound_emails for r in rows],
            "outbound": [r.outbound_emails for r in rows],
            "bounced": [r.bounced_emails for r in rows],
        },
        x_label="day",
        y_label="messages",
        whole=True,
        dated=True,
    )
    _show(list(rows), reports.VolumeDay, fmt, chart=chart, no_chart=no_chart, plot=plot)


@report_app.command("storage")
def storage(
    ctx: typer.Context,
    tenant: ReportTenant = None,
    all_tenants: AllTenants = False,
    days: Days = 30,
    since: Since = None,
    until: Until = None,
    tz: Tz = None,
    fmt: FormatOption = OutputFormat.table,
    no_chart: NoChart = False,
    plot: Plot = None,
) -> None:
    """Show bytes per day: as received, as stored, compression, dedup savings.

    Columns: date; messages (stored that day); raw_bytes (as they arrived);
    stored_bytes (compressed raw forms plus attachment files first stored that day);
    compression_ratio (raw / stored); attachment_bytes (decoded attachment parts);
    dedup_saved_bytes (attachment bytes not stored again because the file was there).

    Example: pmail report storage --tenant acme --format json
    """
    from pmail_cli.charts import Series
    from pmail_cli.services import reports

    settings = get_settings(ctx)
    _check_plot(settings, plot)
    with connected(settings) as conn:
        rows = reports.storage(
            conn, _window(conn, _Args(tenant, all_tenants, days, since, until, tz))
        )
    chart = Series(
        "stored MB per day",
        [r.date.isoformat() for r in rows],
        [r.stored_bytes / 1e6 for r in rows],
        " MB",
        parts={
            "as received": [r.raw_bytes / 1e6 for r in rows],
            "as stored": [r.stored_bytes / 1e6 for r in rows],
        },
        x_label="day",
        y_label="MB",
        dated=True,
    )
    _show(
        list(rows), reports.StorageDay, fmt, chart=chart, no_chart=no_chart, plot=plot
    )


@report_app.command("status")
def status(
    ctx: typer.Context,
    tenant: ReportTenant = None,
    all_tenants: AllTenants = False,
    days: Days = 30,
    since: Since = None,
    until: Until = None,
    tz: Tz = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Show direction x type x status: messages, average size, attachments.

    Columns: direction; message_type; status; email_count; avg_size (bytes as
    received); total_attachments. The original design's status breakdown.

    Example: pmail report status --tenant acme --since 2026-01-01
    """
    from pmail_cli.services import reports

    settings = get_settings(ctx)
    with connected(settings) as conn:
        rows = reports.status(
            conn, _window(conn, _Args(tenant, all_tenants, days, since, until, tz))
        )
    _show(list(rows), reports.StatusGroup, fmt)


@report_app.command("attachments")
def attachments(
    ctx: typer.Context,
    tenant: ReportTenant = None,
    all_tenants: AllTenants = False,
    days: Days = 30,
    since: Since = None,
    until: Until = None,
    tz: Tz = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Show attachments by type: parts, distinct files, bytes, dedup savings.

    Columns: mime_type; attachments (parts stored in the window); distinct_files;
    bytes (decoded, every part); stored_bytes (the distinct files, compressed);
    dedup_saved_bytes (bytes of parts whose file was stored already).

    Example: pmail report attachments --tenant acme
    """
    from pmail_cli.services import reports

    settings = get_settings(ctx)
    with connected(settings) as conn:
        rows = reports.attachments(
            conn, _window(conn, _Args(tenant, all_tenants, days, since, until, tz))
        )
    _show(list(rows), reports.AttachmentType, fmt)


def _names(
    settings: Settings, conn: Connection, w: Window, oltp_dsn: str | None
) -> Names:
    from pmail_cli.services import oltp, reports

    dsn = oltp_dsn or settings.oltp_dsn
    return (
        oltp.oltp_names(dsn, settings.oltp_tables)
        if dsn
        else reports.local_names(conn, w)
    )


@report_app.command("campaigns")
def campaigns(
    ctx: typer.Context,
    tenant: ReportTenant = None,
    all_tenants: AllTenants = False,
    days: Days = 30,
    since: Since = None,
    until: Until = None,
    tz: Tz = None,
    oltp_dsn: OltpDsn = None,
    fmt: FormatOption = OutputFormat.table,
    no_chart: NoChart = False,
    plot: Plot = None,
) -> None:
    """Show per campaign: sent, replies, auto-replies, bounces, blocks, complaints.

    Columns: campaign_id; campaign (its name: pmail's campaigns table, or --oltp-dsn);
    sent (outbound); replied, auto_replied, hard_bounced, soft_bounced, blocked
    (bounced for reputation, policy or content), complained (inbound that arrived in
    the window and answers the campaign); reply_rate, bounce_rate, complaint_rate
    (of sent; fractions in csv/json); note (a campaign the names do not know).

    Example: pmail report campaigns --tenant acme --oltp-dsn postgresql://db/platform
    """
    from pmail_cli.charts import Series
    from pmail_cli.services import reports

    settings = get_settings(ctx)
    _check_plot(settings, plot)
    with connected(settings) as conn:
        w = _window(conn, _Args(tenant, all_tenants, days, since, until, tz))
        rows = reports.campaigns(conn, w, _names(settings, conn, w, oltp_dsn))
    chart = Series(
        "sent per campaign",
        [r.campaign or str(r.campaign_id)[:8] for r in rows[:30]],
        [r.sent for r in rows[:30]],
        parts={
            "sent": [r.sent for r in rows[:30]],
            "replied": [r.replied for r in rows[:30]],
            "bounced": [r.hard_bounced + r.soft_bounced for r in rows[:30]],
        },
        x_label="campaign",
        y_label="messages",
        whole=True,
    )
    _show(
        list(rows),
        reports.CampaignRow,
        fmt,
        chart=chart,
        no_chart=no_chart,
        plot=plot,
        percent=("reply_rate", "bounce_rate", "complaint_rate"),
    )


@report_app.command("mailboxes")
def mailboxes(
    ctx: typer.Context,
    tenant: ReportTenant = None,
    all_tenants: AllTenants = False,
    days: Days = 30,
    since: Since = None,
    until: Until = None,
    tz: Tz = None,
    oltp_dsn: OltpDsn = None,
    fmt: FormatOption = OutputFormat.table,
    no_chart: NoChart = False,
    plot: Plot = None,
) -> None:
    """Show per sending account: sent and bounce, block, complaint, reply rates.

    Columns: email_account_id; mailbox (its address: pmail's email_accounts, or
    --oltp-dsn); sent; bounced, hard_bounced, blocked, complained, replied (inbound
    that arrived in the window for the account's mail); bounce_rate, block_rate,
    complaint_rate, reply_rate (of sent; fractions in csv/json); note.

    Example: pmail report mailboxes --tenant acme --days 7
    """
    from pmail_cli.charts import Series
    from pmail_cli.services import reports

    settings = get_settings(ctx)
    _check_plot(settings, plot)
    with connected(settings) as conn:
        w = _window(conn, _Args(tenant, all_tenants, days, since, until, tz))
        rows = reports.mailboxes(conn, w, _names(settings, conn, w, oltp_dsn))
    top = rows[:30]
    chart = Series(
        "bounce rate per mailbox (%)",
        [r.mailbox or str(r.email_account_id)[:8] for r in top],
        [100 * (r.bounce_rate or 0) for r in top],
        "%",
        parts={
            "bounce rate": [100 * (r.bounce_rate or 0) for r in top],
            "block rate": [100 * (r.block_rate or 0) for r in top],
            "complaint rate": [100 * (r.complaint_rate or 0) for r in top],
        },
        x_label="sending account",
        y_label="% of sent",
    )
    _show(
        list(rows),
        reports.MailboxRow,
        fmt,
        chart=chart,
        no_chart=no_chart,
        plot=plot,
        percent=("bounce_rate", "block_rate", "complaint_rate", "reply_rate"),
    )


@report_app.command("bounces")
def bounces(
    ctx: typer.Context,
    tenant: ReportTenant = None,
    all_tenants: AllTenants = False,
    days: Days = 30,
    since: Since = None,
    until: Until = None,
    tz: Tz = None,
    by: Annotated[str, typer.Option(help=f"{', '.join(vocab.BOUNCES_BY)}.")] = "reason",
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Show what is bouncing: by reason, recipient domain or reporting MTA.

    Columns: key (the reason, domain or MTA); bounces (bounce messages by reason, or
    failed recipients by domain/MTA); hard; soft; top_reason (domain/MTA only).

    Example: pmail report bounces --tenant acme --by domain
    """
    from pmail_cli.services import reports

    settings = get_settings(ctx)
    with reported_errors(settings):
        by = vocab.one_of("--by", by, vocab.BOUNCES_BY)
    with connected(settings) as conn:
        w = _window(conn, _Args(tenant, all_tenants, days, since, until, tz))
        rows = reports.bounces(conn, w, by=by)
    _show(list(rows), reports.BounceGroup, fmt)


@analytics_app.command("rebuild")
def rebuild(
    ctx: typer.Context,
    tenant: Annotated[
        str | None, tenant_option("Only this tenant (default: all).")
    ] = None,
) -> None:
    """Recompute the rollup tables from the stored messages.

    Example: pmail analytics rebuild --tenant acme
    """
    from pmail_cli.services import reports, tenants

    with connected(get_settings(ctx)) as conn:
        scope = tenants.find_tenant(conn, tenant) if tenant else None
        done = reports.rebuild(conn, scope)
    say(
        f"rebuilt the rollups of {'tenant ' + tenant if tenant else 'every tenant'}: "
        f"{counted(done.message_rows, 'message row')}, "
        f"{counted(done.storage_rows, 'storage row')}, "
        f"{counted(done.suppression_rows, 'suppression')}"
    )


@app.command("suppressions")
def suppressions_cmd(
    ctx: typer.Context,
    tenant: TenantOption = None,
    since: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="Only addresses whose latest evidence is on or after this day (UTC).",
        ),
    ] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """List the addresses not to mail again: bounces, complaints, unsubscribes.

    One row per address and reason (hard_bounce, complaint, unsubscribe,
    soft_bounce), with the first and latest evidence (storage keys) and the
    campaign; for the sending system to import (docs/classification.md).

    Example: pmail suppressions --tenant acme --since 2024-03-01 --format csv
    """
    from pmail_cli.services import suppressions, tenants

    with connected(get_settings(ctx)) as conn:
        scope = tenants.find_tenant(conn, tenant)
        rows = suppressions.list_suppressions(
            conn, scope, since=since.date() if since else None
        )
    output.render(rows, fmt)
