"""`pmail import-imap`: parse the flags, call the import service, print the summary."""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pmail_cli.cli import (
    MAX_PROCESSES,
    TenantOption,
    app,
    escape,
    get_settings,
    reported_errors,
    say,
    too_large_errors,
)
from pmail_cli.output import counted

if TYPE_CHECKING:
    from pmail_cli.db import Connection
    from pmail_cli.services.imap_import import ImportReport


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
        int,
        typer.Option(
            "--jobs", "-j", min=1, max=MAX_PROCESSES, help="Accounts imported at once."
        ),
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
    from pmail_cli import db
    from pmail_cli.progress import task
    from pmail_cli.services import imap_accounts, imap_import, imap_watch

    settings = get_settings(ctx)
    choice = imap_accounts.AccountChoice(
        host=host,
        user=user,
        port=port,
        security=security,
        insecure=insecure,
        folders=tuple(folder or ()),
        all_folders=all_folders,
        tenant=tenant,
        accounts_file=accounts,
        all_accounts=all_accounts,
    )

    def connect() -> AbstractContextManager[Connection]:
        return db.connect(settings)  # one connection per account thread

    with reported_errors(settings):
        chosen = imap_accounts.choose_accounts(choice)
        pairs = [
            (a, imap_accounts.resolve_password(a, prompt=_password_prompt()))
            for a in chosen
        ]
        if watch:
            options = imap_watch.WatchOptions(
                watch_for=watch_for,
                poll_interval=poll_interval,
                max_bytes=settings.max_message_bytes,
            )
            report = imap_watch.watch_accounts(connect, pairs, options=options)
        else:
            with task("Importing", total=None, enabled=not settings.quiet) as advance:
                report = imap_import.import_accounts(
                    connect,
                    pairs,
                    parallel=jobs,
                    on_progress=advance,
                    max_bytes=settings.max_message_bytes,
                )
    single = len(pairs) == 1
    if report.folders or not single or not report.failed:
        _summary(report, watch=watch, single=single)
    refused = [why for f in report.folders for why in f.refused]
    too_large_errors(refused, done="imported")
    with reported_errors(settings):
        failed = (
            imap_watch.never_synced(report, accounts=len(pairs))
            if watch
            else imap_import.failure(report, accounts=len(pairs))
        )
        if failed is not None:
            raise failed
    if refused:
        raise typer.Exit(1)


def _password_prompt() -> Callable[[str], str] | None:
    if not sys.stdin.isatty():
        return None
    return lambda text: str(typer.prompt(text, hide_input=True))


def _summary(report: ImportReport, *, watch: bool, single: bool) -> None:
    for f in report.folders:
        if f.uidvalidity_changed:
            say(
                f"note: {escape(f.account)} {escape(f.folder)}: UIDVALIDITY changed; "
                "resynced by content hash, nothing stored twice"
            )
        if f.error:
            say(f"warning: {escape(f.account)}: {escape(f.error)}")
    for name, error in report.failed if watch or not single else []:
        label = "warning" if watch else "error"
        say(f"{label}: {escape(name)}: {escape(str(error))}")
    fetched = sum(f.fetched for f in report.folders)
    stored = sum(f.stored for f in report.folders)
    dups = sum(f.duplicates for f in report.folders)
    flagged = sum(f.flagged for f in report.folders)
    folders = len({(f.account, f.folder) for f in report.folders})
    refused = sum(len(f.refused) for f in report.folders)
    say(
        f"fetched {counted(fetched, 'message')} from {counted(folders, 'folder')}: "
        f"{stored:,} stored, {counted(dups, 'duplicate')}, "
        f"{flagged:,} with parse problems, "
        f"{counted(len(report.failed), 'account failure')}"
        + (f", {refused:,} over the size limit" if refused else "")
    )
