"""The pmail command line: parse, call one service, render. Nothing else."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from pmail_cli import db, migrations, output
from pmail_cli.config import Settings, redact_dsn, settings_from_environment
from pmail_cli.errors import PmailError, UsageError
from pmail_cli.output import OutputFormat, err_console
from pmail_cli.progress import task
from pmail_cli.services import dicts, export, ingest, show, tenants
from pmail_cli.services.pipeline import PipelineOptions

app = typer.Typer(
    help="Keep a cold-email platform's mail in PostgreSQL: lossless, compressed, classified.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
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

FormatOption = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="table, csv, json or markdown.")
]
TenantOption = Annotated[
    str | None, typer.Option("--tenant", "-t", help="Tenant name (default: 'default').")
]
JobsOption = Annotated[
    int, typer.Option("--jobs", "-j", min=0, help="Worker processes (0: one per CPU).")
]


@app.callback()
def main(
    ctx: typer.Context,
    dsn: Annotated[
        str | None,
        typer.Option(help="PostgreSQL DSN (else PMAIL_DSN, config, embedded)."),
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="Config file (else PMAIL_CONFIG).")
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Say more on stderr.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bars.")
    ] = False,
    debug: Annotated[
        bool, typer.Option(help="Show tracebacks (also PMAIL_DEBUG=1).")
    ] = False,
) -> None:
    """Keep a cold-email platform's mail in PostgreSQL."""
    debug = debug or os.environ.get("PMAIL_DEBUG") == "1"
    with reported_errors(None, debug=debug):
        settings = settings_from_environment(dsn, config).with_flags(
            verbose=verbose, quiet=quiet, debug=debug
        )
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING, stream=sys.stderr
    )
    if verbose:
        where = (
            redact_dsn(settings.dsn) if settings.dsn else f"data in {settings.data_dir}"
        )
        err_console.print(
            f"using DSN from {escape(settings.dsn_source)}: {escape(where)}"
        )
    ctx.obj = settings


def get_settings(ctx: typer.Context) -> Settings:
    """Return the settings the callback resolved."""
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return settings


@contextmanager
def reported_errors(
    settings: Settings | None, *, debug: bool = False
) -> Iterator[None]:
    """Show PmailError as an error/hint pair and exit with its code."""
    debug = debug or (settings is not None and settings.debug)
    try:
        yield
    except PmailError as exc:
        if debug:
            raise
        err_console.print(f"error: {escape(str(exc))}", highlight=False)
        if exc.hint:
            err_console.print(f"hint: {escape(exc.hint)}", highlight=False)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        if debug:
            raise
        err_console.print(
            "error: interrupted; committed batches are kept", highlight=False
        )
        err_console.print("hint: run the same command again to finish", highlight=False)
        raise typer.Exit(130) from None


@app.command("init-db")
def init_db(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List pending migrations only.")
    ] = False,
) -> None:
    """Create or upgrade the schema by applying pending migrations.

    Example: pmail init-db --dsn postgresql://localhost/pmail
    """
    settings = get_settings(ctx)
    with reported_errors(settings), db.connect(settings, migrate=False) as conn:
        todo = migrations.pending(conn)
        if not dry_run:
            migrations.apply_pending(conn)
    verb = "would apply" if dry_run else "applied"
    for migration in todo:
        err_console.print(f"{verb} {migration.path.name}", highlight=False)
    err_console.print(
        f"{verb} {len(todo)} migration(s); schema is "
        + ("unchanged" if dry_run or not todo else "up to date"),
        highlight=False,
    )


@app.command("ingest")
def ingest_cmd(
    ctx: typer.Context,
    paths: Annotated[
        list[str],
        typer.Argument(
            help=".eml files, directories, mbox files, Maildirs, or - for stdin."
        ),
    ],
    tenant: TenantOption = None,
    direction: Annotated[
        str,
        typer.Option(
            help="inbound, outbound, or auto (From is one of the tenant's accounts)."
        ),
    ] = "auto",
    as_format: Annotated[
        str | None, typer.Option("--as", help="Force 'mbox' or 'eml' reading.")
    ] = None,
    jobs: JobsOption = 0,
    batch_size: Annotated[
        int, typer.Option(min=1, max=10000, help="Messages per committed batch.")
    ] = 200,
) -> None:
    """Store messages from files, directories, mbox, Maildir or stdin.

    Example: pmail ingest inbox.mbox Maildir/ one.eml - --tenant acme
    """
    settings = get_settings(ctx)
    with reported_errors(settings):
        as_mbox = _as_mbox(as_format)
        with db.connect(settings) as conn:
            scope = tenants.use_tenant(conn, tenant)
            with task("Ingesting", total=None, enabled=not settings.quiet) as advance:
                result = ingest.ingest_paths(
                    conn,
                    paths,
                    tenant=scope,
                    options=PipelineOptions(
                        direction=direction, jobs=jobs, batch_messages=batch_size
                    ),
                    as_mbox=as_mbox,
                    on_progress=advance,
                )
    _ingest_summary(result, settings)
    if not result.ok:
        raise typer.Exit(1)


def _as_mbox(value: str | None) -> bool | None:
    if value is None:
        return None
    if value not in ("mbox", "eml"):
        raise UsageError("--as must be 'mbox' or 'eml'")
    return value == "mbox"


def _ingest_summary(result: ingest.IngestResult, settings: Settings) -> None:
    p = result.pipeline
    for failure in result.failures:
        err_console.print(
            f"warning: cannot read {escape(failure.origin)}: {escape(failure.reason)}",
            highlight=False,
        )
    if settings.verbose:
        for origin in p.flagged_origins:
            err_console.print(f"flagged: {escape(origin)}", highlight=False)
    ratio = (
        f", stored {p.stored_bytes / p.raw_bytes:.0%} of raw size"
        if p.raw_bytes
        else ""
    )
    err_console.print(
        f"ingested {p.added:,} messages, {p.duplicates:,} duplicates skipped, "
        f"{p.flagged:,} with parse problems, {len(result.empty):,} empty inputs, "
        f"{len(result.failures):,} unreadable{ratio}"
        + (f"; trained dictionary {p.dict_trained}" if p.dict_trained else ""),
        highlight=False,
    )


@app.command("export")
def export_cmd(
    ctx: typer.Context,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Directory for <storage_key>.eml files."),
    ] = None,
    mbox: Annotated[
        Path | None, typer.Option("--mbox", help="Write one mbox file instead.")
    ] = None,
    tenant: TenantOption = None,
    since: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"], help="Only mail dated on or after this day."
        ),
    ] = None,
    storage_key: Annotated[
        list[str] | None,
        typer.Option("--storage-key", "-k", help="Only these messages (repeatable)."),
    ] = None,
) -> None:
    """Write messages back out, byte-identical to what came in.

    Example: pmail export --tenant acme --out backup/
    """
    settings = get_settings(ctx)
    with reported_errors(settings), db.connect(settings) as conn:
        scope = tenants.use_tenant(conn, tenant)
        with task("Exporting", total=None, enabled=not settings.quiet) as advance:
            result = export.export_messages(
                conn,
                scope,
                out_dir=out,
                mbox=mbox,
                since=since,
                keys=storage_key or None,
                on_progress=advance,
            )
    err_console.print(
        f"exported {result.written:,} messages ({result.bytes_written:,} bytes), all sha256-verified",
        highlight=False,
    )


@app.command("show")
def show_cmd(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Storage key, or a unique prefix of it.")],
    tenant: TenantOption = None,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="table or json.")
    ] = OutputFormat.table,
) -> None:
    """Show one message: metadata, sizes, attachments, problems.

    Example: pmail show 3f2a9c0d --tenant acme
    """
    settings = get_settings(ctx)
    with reported_errors(settings), db.connect(settings) as conn:
        scope = tenants.use_tenant(conn, tenant)
        detail = show.show_message(conn, scope, key)
    record = dict(detail.fields)
    record["attachments"] = [
        output.plain(output._as_dict(a)) for a in detail.attachments
    ]
    output.render_record(record, fmt)


@tenant_app.command("add")
def tenant_add(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="Tenant name.")]
) -> None:
    """Create a tenant (nothing happens if it exists).

    Example: pmail tenant add acme
    """
    settings = get_settings(ctx)
    with reported_errors(settings), db.connect(settings) as conn:
        created = tenants.add_tenant(conn, name)
    err_console.print(
        f"tenant {escape(created.name)} ({created.tenant_id})", highlight=False
    )


@tenant_app.command("list")
def tenant_list(ctx: typer.Context, fmt: FormatOption = OutputFormat.table) -> None:
    """List tenants with their message counts.

    Example: pmail tenant list --format csv
    """
    settings = get_settings(ctx)
    with reported_errors(settings), db.connect(settings) as conn:
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
    settings = get_settings(ctx)
    with reported_errors(settings), db.connect(settings) as conn:
        scope = tenants.use_tenant(conn, tenant)
        account_id = tenants.add_account(conn, scope, email=email, display_name=name)
    err_console.print(f"account {escape(email)} ({account_id})", highlight=False)


@dict_app.command("train")
def dict_train(ctx: typer.Context, tenant: TenantOption = None) -> None:
    """Train a new zstd dictionary on the tenant's mail.

    Example: pmail dict train --tenant acme
    """
    settings = get_settings(ctx)
    with reported_errors(settings), db.connect(settings) as conn:
        scope = tenants.use_tenant(conn, tenant)
        trained = dicts.train_dictionary(conn, scope)
    err_console.print(
        f"trained dictionary {trained.dict_id} ({trained.size_bytes:,} bytes) on "
        f"{trained.sample_count:,} messages; new mail uses it, older rows stay readable",
        highlight=False,
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
    settings = get_settings(ctx)
    with reported_errors(settings), db.connect(settings) as conn:
        scope = tenants.use_tenant(conn, tenant)
        rows = dicts.list_dictionaries(conn, scope)
    output.render(rows, fmt)
