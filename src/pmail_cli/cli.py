"""The pmail command line: parse, call one service, render. Nothing else."""

from __future__ import annotations

import enum
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from pmail_cli import db, migrations, output
from pmail_cli.config import Settings, redact_dsn, settings_from_environment
from pmail_cli.errors import PmailError, UsageError
from pmail_cli.output import OutputFormat, err_console
from pmail_cli.progress import task
from pmail_cli.services import dicts, ingest, tenants
from pmail_cli.services.pipeline import PipelineOptions

# Commands import the services only they use when they run: start-up is a fixed cost of
# every command (0.2 s of IMAP, export and classification modules an ingest never needs).
if TYPE_CHECKING:
    from pmail_cli.services import imap_watch
    from pmail_cli.services.imap_conn import AccountConfig

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
    campaign_header: Annotated[
        str, typer.Option(help="Outbound header holding the campaign id (a UUID).")
    ] = "X-PM-Campaign-Id",
    lead_header: Annotated[
        str, typer.Option(help="Outbound header holding the lead id (a UUID).")
    ] = "X-PM-Lead-Id",
) -> None:
    """Store messages from files, directories, mbox, Maildir or stdin.

    Example: pmail ingest inbox.mbox Maildir/ one.eml - --tenant acme
    """
    settings = get_settings(ctx)
    with reported_errors(settings):
        as_mbox = _as_mbox(as_format)
        ingest.check_inputs(paths, direction=direction)
        with db.connect(settings) as conn:
            scope = tenants.use_tenant(conn, tenant)
            with task("Ingesting", total=None, enabled=not settings.quiet) as advance:
                result = ingest.ingest_paths(
                    conn,
                    paths,
                    tenant=scope,
                    options=PipelineOptions(
                        direction=direction,
                        jobs=jobs,
                        batch_messages=batch_size,
                        campaign_header=campaign_header,
                        lead_header=lead_header,
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
        + (f", {p.linked:,} linked to their parents" if p.linked else "")
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
    from pmail_cli.services import export

    settings = get_settings(ctx)
    with reported_errors(settings):
        export.check_target(out, mbox)
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
    headers: Annotated[
        bool, typer.Option("--headers", help="Also list the header fields, in order.")
    ] = False,
    raw: Annotated[
        bool, typer.Option("--raw", help="Write the exact message to stdout instead.")
    ] = False,
) -> None:
    """Show one message: metadata, classification, thread, attachments.

    Example: pmail show 3f2a9c0d --tenant acme
    """
    from pmail_cli.services import show

    settings = get_settings(ctx)
    with reported_errors(settings), db.connect(settings) as conn:
        scope = tenants.use_tenant(conn, tenant)
        detail = show.show_message(conn, scope, key, with_raw=raw or headers)
    if raw and detail.raw is not None:
        sys.stdout.buffer.write(detail.raw)
        sys.stdout.flush()
        return
    record = dict(detail.fields)
    if headers:
        record["headers"] = [list(h) for h in detail.headers()]
    record["attachments"] = [
        output.plain(output.as_dict(a)) for a in detail.attachments
    ]
    record["delivery_facts"] = [output.plain(f) for f in detail.delivery_facts]
    record["replies"] = [output.plain(r) for r in detail.replies]
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
def dict_train(
    ctx: typer.Context,
    tenant: TenantOption = None,
    recompress: Annotated[
        bool,
        typer.Option(help="Also move every stored message to the new dictionary."),
    ] = False,
) -> None:
    """Train a new zstd dictionary on the tenant's mail.

    Example: pmail dict train --tenant acme --recompress
    """
    settings = get_settings(ctx)
    with reported_errors(settings), db.connect(settings) as conn:
        scope = tenants.use_tenant(conn, tenant)
        trained = dicts.train_dictionary(conn, scope)
        moved = 0
        if recompress:
            moved = dicts.recompress(conn, scope, trained.dictionary, only_plain=False)
    err_console.print(
        f"trained dictionary {trained.dict_id} ({trained.size_bytes:,} bytes) on "
        f"{trained.sample_count:,} messages; new mail uses it, "
        + (
            f"{moved:,} stored messages moved to it"
            if recompress
            else "older rows stay readable"
        ),
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


@app.command("import-imap")
def import_imap(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="IMAP server.")] = None,
    user: Annotated[
        str | None, typer.Option(help="Login (usually the mailbox address).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port (default 993 for tls, else 143).")
    ] = None,
    security: Annotated[str, typer.Option(help="tls, starttls or none.")] = "tls",
    insecure: Annotated[
        bool, typer.Option(help="Do not verify the TLS certificate.")
    ] = False,
    folder: Annotated[
        list[str] | None,
        typer.Option("--folder", help="Folder to import (repeatable; default INBOX)."),
    ] = None,
    all_folders: Annotated[
        bool, typer.Option("--all-folders", help="Import every folder.")
    ] = False,
    tenant: TenantOption = None,
    accounts: Annotated[
        Path | None, typer.Option(help="TOML file of [[account]] tables.")
    ] = None,
    all_accounts: Annotated[
        bool, typer.Option("--all", help="Import every account of --accounts.")
    ] = False,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", min=1, help="Accounts imported at once.")
    ] = 1,
    watch: Annotated[
        bool, typer.Option(help="After catching up, keep going (IDLE, else polling).")
    ] = False,
    watch_for: Annotated[
        float | None, typer.Option(help="With --watch: stop after this many seconds.")
    ] = None,
    poll_interval: Annotated[
        float,
        typer.Option(min=1.0, help="With --watch: full resync interval, seconds."),
    ] = 30.0,
) -> None:
    """Import IMAP mailboxes incrementally; --watch keeps going.

    The password comes from PMAIL_IMAP_PASSWORD (or the account's password_env or
    password_cmd), else a prompt; never from a flag.

    Example: pmail import-imap --host imap.example.com --user sdr1@acme.com --tenant acme
    """
    settings = get_settings(ctx)
    with reported_errors(settings):
        chosen = _imap_accounts(
            host,
            user,
            port,
            security,
            insecure,
            folder,
            all_folders,
            tenant,
            accounts,
            all_accounts,
        )
        from pmail_cli.services import imap_watch
        from pmail_cli.services.imap_conn import resolve_password

        pairs = [(a, resolve_password(a, prompt=_password_prompt())) for a in chosen]

        def connect() -> AbstractContextManager[db.Connection]:
            return db.connect(settings)  # one connection per account thread

        if watch:
            options = imap_watch.WatchOptions(
                watch_for=watch_for, poll_interval=poll_interval
            )
            report = _watch(connect, pairs, options)
        else:
            with task("Importing", total=None, enabled=not settings.quiet) as advance:
                report = imap_watch.import_accounts(
                    connect, pairs, parallel=jobs, jobs=0, on_progress=advance
                )
    if report.folders or len(pairs) > 1 or not report.failed:
        _imap_summary(report, watch=watch, single=len(pairs) == 1)
    if len(pairs) == 1 and report.failed and not watch:
        with reported_errors(settings):
            raise report.failed[0][1]
    if report.failed and not watch:
        raise typer.Exit(1)


def _watch(
    connect: imap_watch.ConnectFn,
    pairs: list[tuple[AccountConfig, str]],
    options: imap_watch.WatchOptions,
) -> imap_watch.ImportReport:
    from pmail_cli.services import imap_watch

    stop = threading.Event()
    try:
        return imap_watch.watch_accounts(
            connect, pairs, jobs=1, options=options, stop=stop
        )
    except KeyboardInterrupt:
        stop.set()
        raise


def _password_prompt() -> Callable[[str], str] | None:
    if not sys.stdin.isatty():
        return None
    return lambda text: str(typer.prompt(text, hide_input=True))


def _imap_accounts(
    host: str | None,
    user: str | None,
    port: int | None,
    security: str,
    insecure: bool,
    folders: list[str] | None,
    all_folders: bool,
    tenant: str | None,
    path: Path | None,
    all_accounts: bool,
) -> list[AccountConfig]:
    from pmail_cli.services import imap_accounts
    from pmail_cli.services.imap_conn import AccountConfig, validate

    if path is not None:
        listed = imap_accounts.load_accounts(path)
        if all_accounts:
            return listed
        chosen = [a for a in listed if user is not None and a.user == user]
        if not chosen:
            raise UsageError("with --accounts, give --all or the --user of one account")
        return chosen
    if not host or not user:
        raise UsageError(
            "give --host and --user, or --accounts FILE",
            hint="see `pmail import-imap --help`",
        )
    account = AccountConfig(
        host=host,
        user=user,
        port=port,
        security=security,
        insecure=insecure,
        tenant=tenant,
        folders=tuple(folders or ()),
        all_folders=all_folders,
    )
    validate(account)
    return [account]


def _imap_summary(
    report: imap_watch.ImportReport, *, watch: bool, single: bool
) -> None:
    for f in report.folders:
        if f.uidvalidity_changed:
            err_console.print(
                f"note: {escape(f.account)} {escape(f.folder)}: UIDVALIDITY changed; "
                "resynced by content hash, nothing stored twice",
                highlight=False,
            )
        if f.error:
            err_console.print(
                f"warning: {escape(f.account)}: {escape(f.error)}", highlight=False
            )
    for name, error in report.failed if watch or not single else []:
        label = "warning" if watch else "error"
        err_console.print(
            f"{label}: {escape(name)}: {escape(str(error))}", highlight=False
        )
    fetched = sum(f.fetched for f in report.folders)
    stored = sum(f.stored for f in report.folders)
    dups = sum(f.duplicates for f in report.folders)
    flagged = sum(f.flagged for f in report.folders)
    err_console.print(
        f"fetched {fetched:,} messages from {len({(f.account, f.folder) for f in report.folders}):,} "
        f"folder(s): {stored:,} stored, {dups:,} duplicates, {flagged:,} with parse problems, "
        f"{len(report.failed):,} account failure(s)",
        highlight=False,
    )


class ClassifyFormat(enum.StrEnum):
    """Output formats of `pmail classify`."""

    table = "table"
    csv = "csv"
    json = "json"
    jsonl = "jsonl"


@app.command("classify")
def classify_cmd(
    paths: Annotated[
        list[str],
        typer.Argument(help=".eml files, directories, mbox files, Maildirs, or -."),
    ],
    fmt: Annotated[
        ClassifyFormat,
        typer.Option("--format", "-f", help="table, csv, json or jsonl."),
    ] = ClassifyFormat.table,
    as_format: Annotated[
        str | None, typer.Option("--as", help="Force 'mbox' or 'eml' reading.")
    ] = None,
) -> None:
    """Classify messages (bounce, auto-reply, …) without storing them.

    Example: pmail classify bounce.eml reply.eml Maildir/ --format json
    """
    from pmail_cli.services import classify as classify_service

    with reported_errors(None):
        records = classify_service.classify_paths(paths, as_mbox=_as_mbox(as_format))
        if fmt is ClassifyFormat.jsonl:
            for record in records:
                print(classify_service.jsonl(record))
            return
        collected = list(records)
    if fmt is ClassifyFormat.json:
        print(json.dumps(collected, indent=2, ensure_ascii=False))
        return
    output.render(
        [classify_service.flat(r) for r in collected], OutputFormat(fmt.value)
    )
