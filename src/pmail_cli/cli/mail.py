"""Commands that move mail in and out: ingest, export, show, classify."""

from __future__ import annotations

import enum
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pmail_cli import output
from pmail_cli.cli import (
    JobsOption,
    ReadAsOption,
    TenantOption,
    app,
    connected,
    escape,
    escape_origin,
    get_settings,
    reported_errors,
    say,
    skipped_summary,
    too_large_errors,
)
from pmail_cli.config import Settings
from pmail_cli.output import OutputFormat, counted

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pmail_cli.services.ingest import IngestResult
    from pmail_cli.sources import Skipped


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
    as_format: ReadAsOption = None,
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
    from pmail_cli.progress import task
    from pmail_cli.services import ingest, tenants
    from pmail_cli.services.pipeline import PipelineOptions

    settings = get_settings(ctx)
    with reported_errors(settings):
        ingest.check_inputs(paths, direction=direction, as_format=as_format)
    with connected(settings) as conn:
        scope = tenants.use_tenant(conn, tenant)
        with task("Ingesting", total=None, enabled=not settings.quiet) as advance:
            result = ingest.ingest_paths(
                conn,
                paths,
                tenant=scope,
                options=PipelineOptions(
                    direction=direction,
                    batch_messages=batch_size,
                    campaign_header=campaign_header,
                    lead_header=lead_header,
                ),
                jobs=jobs,
                as_format=as_format,
                max_bytes=settings.max_message_bytes,
                on_progress=advance,
            )
    _ingest_summary(result, settings)
    if not result.ok:
        raise typer.Exit(1)


def _ingest_summary(result: IngestResult, settings: Settings) -> None:
    p = result.pipeline
    for failure in result.failures:
        say(
            f"warning: cannot read {escape_origin(failure.origin)}: {escape(failure.reason)}"
        )
    too_large_errors(result.too_large)
    if settings.verbose:
        for origin in p.flagged_origins:
            say(f"flagged: {escape_origin(origin)}")
        for origin in result.empty:
            say(f"empty, no message in it: {escape_origin(origin)}")
    skipped = skipped_summary(result.skipped, verbose=settings.verbose)
    ratio = (
        f", stored {p.stored_bytes / p.raw_bytes:.0%} of raw size"
        if p.raw_bytes
        else ""
    )
    if p.raw_bytes and p.stored_bytes > p.raw_bytes:
        ratio += " (each message has a fixed cost that small inputs show)"
    kinds = ", ".join(
        f"{escape(kind)} {n:,}" for kind, n in p.problem_kinds.most_common(3)
    )
    problems = f"{p.flagged:,} with parse problems" + (
        f" ({kinds}{', …' if len(p.problem_kinds) > 3 else ''}"
        + ("" if settings.verbose else "; -v lists the files")
        + ")"
        if kinds
        else ""
    )
    say(
        f"ingested {counted(p.added, 'message')}, "
        f"{counted(p.duplicates, 'duplicate')} skipped, "
        f"{problems}, {counted(len(result.empty), 'empty input')}, "
        f"{len(result.failures):,} unreadable"
        + (
            f", {len(result.too_large):,} over the size limit"
            if result.too_large
            else ""
        )
        + ratio
        + (f", {p.linked:,} linked to their parents" if p.linked else "")
        + skipped
        + (f"; trained dictionary {p.dict_trained}" if p.dict_trained else "")
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
    from pmail_cli.progress import task
    from pmail_cli.services import export, tenants

    settings = get_settings(ctx)
    with reported_errors(settings):
        export.check_target(out, mbox)
    with connected(settings) as conn:
        scope = tenants.find_tenant(conn, tenant)
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
    say(
        f"exported {counted(result.written, 'message')} "
        f"({counted(result.bytes_written, 'byte')}): "
        f"{result.verified:,} byte-exact, sha256-verified"
        + (
            f"; {result.rebuilt:,} rebuilt from legacy columns (no raw message was kept)"
            if result.rebuilt
            else ""
        )
        + (
            f"; {result.quoted:,} changed by the mbox format (`From ` lines quoted, "
            "or a last line without a newline; --out keeps them exact)"
            if result.quoted
            else ""
        )
        + (
            f"; {result.without_content:,} without content (purged, or legacy rows "
            "without one), not written"
            if result.without_content
            else ""
        )
    )


@app.command("show")
def show_cmd(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Storage key, or a unique prefix of it.")],
    tenant: TenantOption = None,
    fmt: Annotated[
        OutputFormat,
        typer.Option("--format", "-f", help="table, csv, json or markdown."),
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
    from pmail_cli.services import show, tenants

    with connected(get_settings(ctx)) as conn:
        scope = tenants.find_tenant(conn, tenant)
        detail = show.show_message(conn, scope, key, with_raw=raw or headers)
    if raw and detail.raw is not None:
        sys.stdout.buffer.write(detail.raw)
        sys.stdout.flush()
        if detail.fields.get("raw_form") == "legacy":
            say(f"note: {show.LEGACY_NOTE}")
        return
    output.render_record(detail.record(with_headers=headers), fmt)


class ClassifyFormat(enum.StrEnum):
    """Output formats of `pmail classify`."""

    table = "table"
    csv = "csv"
    json = "json"
    jsonl = "jsonl"


@app.command("classify")
def classify_cmd(
    ctx: typer.Context,
    paths: Annotated[
        list[str],
        typer.Argument(help=".eml files, directories, mbox files, Maildirs, or -."),
    ],
    fmt: Annotated[
        ClassifyFormat,
        typer.Option("--format", "-f", help="table, csv, json or jsonl."),
    ] = ClassifyFormat.table,
    as_format: ReadAsOption = None,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            help="Say which recogniser, phrase or rule decided the kind and, per "
            "recipient, the reason and hard/soft, and the evidence read: phrase, "
            "status class and subject, SMTP step, remote server (json/jsonl: an "
            "'explain' key; csv: five more columns).",
        ),
    ] = False,
) -> None:
    """Classify messages (bounce, auto-reply, …) without storing them.

    Files a directory walk leaves out, and inputs that hold no message, are counted
    on stderr (-v names them).

    Example: pmail classify bounce.eml reply.eml Maildir/ --format json
    """
    from pmail_cli.services import classify as classify_service

    settings = get_settings(ctx)
    skipped: list[Skipped] = []
    empty: list[str] = []
    with reported_errors(None):
        records = classify_service.classify_paths(
            paths,
            as_format=as_format,
            explain=explain,
            skipped=skipped,
            empty=empty,
            max_bytes=settings.max_message_bytes,
        )
        _print_classified(records, fmt, explain=explain)
    if summary := skipped_summary(skipped, verbose=settings.verbose):
        say(summary.removeprefix("; "))
    if empty:
        if settings.verbose:
            for origin in empty:
                say(f"empty, nothing to classify: {escape_origin(origin)}")
        them = "it" if len(empty) == 1 else "them"
        more = "" if settings.verbose else f" (-v names {them})"
        say(f"{counted(len(empty), 'empty input')}: no message in {them}{more}")


def _print_classified(
    records: Iterator[dict[str, object]], fmt: ClassifyFormat, *, explain: bool
) -> None:
    from pmail_cli.services import classify as classify_service

    if explain and fmt is ClassifyFormat.table:
        for record in records:
            for line in classify_service.explanation(record):
                print(output.for_terminal(line))
    elif fmt is ClassifyFormat.jsonl:
        for record in records:
            print(classify_service.jsonl(record))
    elif fmt is ClassifyFormat.json:
        print(json.dumps(list(records), indent=2, ensure_ascii=False))
    else:
        output.render(
            [classify_service.flat(r, explain=explain) for r in records],
            OutputFormat(fmt.value),
        )
