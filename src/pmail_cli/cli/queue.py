"""Queue commands: enqueue, worker, queue status, queue dead list|retry, report queue."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Annotated

import typer

from pmail_cli import output
from pmail_cli.cli import (
    MAX_PROCESSES,
    EveryTenantOption,
    FormatOption,
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
)
from pmail_cli.cli.report import report_app
from pmail_cli.errors import UsageError
from pmail_cli.output import OutputFormat, counted

queue_app = typer.Typer(
    help="Look at the queue: depth, retries, dead letters.", no_args_is_help=True
)
dead_app = typer.Typer(help="Jobs that failed too often.", no_args_is_help=True)
app.add_typer(queue_app, name="queue")
queue_app.add_typer(dead_app, name="dead")

Priority = Annotated[
    str, typer.Option("--priority", "-p", help="high, normal or bulk.")
]


@app.command("enqueue")
def enqueue_cmd(
    ctx: typer.Context,
    paths: Annotated[
        list[str] | None,
        typer.Argument(help="Files, directories, mbox files; '-' reads stdin."),
    ] = None,
    tenant: TenantOption = None,
    priority: Priority = "normal",
    direction: Annotated[
        str, typer.Option(help="auto, inbound or outbound (as for ingest).")
    ] = "auto",
    as_format: ReadAsOption = None,
    format_in: Annotated[
        str | None,
        typer.Option("--format-in", hidden=True, help="The old name of --as."),
    ] = None,
    imap_account: Annotated[
        list[str] | None,
        typer.Option(
            "--imap-account",
            help="Sync this account (its user) of the workers' accounts file.",
        ),
    ] = None,
    accounts: Annotated[
        Path | None,
        typer.Option(
            "--accounts",
            help="Check --imap-account against this accounts file (TOML) first.",
        ),
    ] = None,
    analytics: Annotated[
        bool, typer.Option("--analytics", help="Refresh the tenant's rollups.")
    ] = False,
) -> None:
    """Put mail (or an IMAP sync, or a rollup refresh) on the queue for `pmail worker`.

    Takes the same inputs as `pmail ingest`; returns once Redis holds the jobs
    (waiting while the queue is over its size limit). The queue is PMAIL_QUEUE_URL.
    An IMAP job names the account only; the worker takes its host, credentials and
    folders from its own accounts file (docs/queue.md). Jobs are signed with the
    tenant's key from [queue.job_keys] in the config file, when it has one.

    Example: pmail enqueue - --tenant acme --priority high < message.eml
    """
    from pmail_cli.services import queue

    settings = get_settings(ctx)
    name = tenant or "default"
    with reported_errors(settings):
        as_format = _one_read_format(as_format, format_in)
        if imap_account:
            n = queue.enqueue_imap(
                settings,
                imap_account,
                tenant=name,
                priority=priority,
                accounts=accounts,
            )
            say(f"enqueued {counted(n, 'IMAP sync job')}")
            return
        if analytics:
            queue.enqueue_analytics(settings, tenant=name, priority=priority)
            say(f"enqueued a rollup refresh for tenant {escape(name)}")
            return
        done = queue.enqueue_paths(
            settings,
            paths or [],
            tenant=name,
            priority=priority,
            direction=direction,
            as_format=as_format,
            stdin=sys.stdin.buffer,
            on_wait=lambda held, limit: say(
                f"the queue holds {held / 1e6:,.0f} MB (limit {limit / 1e6:,.0f} MB): "
                "waiting for workers"
            ),
        )
    for failure in done.failures:
        say(
            f"warning: cannot read {escape_origin(failure.origin)}: {escape(failure.reason)}"
        )
    say(
        f"enqueued {counted(done.jobs, 'message')} "
        f"({counted(done.nbytes, 'byte')}, {priority}) for tenant "
        f"{escape(name)}"
        + (f"; {done.spooled} through the spool" if done.spooled else "")
        + (f"; {counted(len(done.empty), 'empty input')}" if done.empty else "")
        + skipped_summary(done.skipped, verbose=settings.verbose)
        + (f"; waited {done.waited:.1f} s for room" if done.waited >= 0.05 else "")
    )
    if done.failures:
        raise typer.Exit(1)


def _one_read_format(as_format: str | None, format_in: str | None) -> str | None:
    """--as, or --format-in (its old name, still accepted so scripts keep working)."""
    if as_format is not None and format_in is not None and as_format != format_in:
        raise UsageError(
            "--as and --format-in name the same thing and disagree",
            hint="give --as only (--format-in is its old name)",
        )
    return as_format if as_format is not None else format_in


@app.command("worker")
def worker_cmd(
    ctx: typer.Context,
    burst: Annotated[
        bool, typer.Option("--burst", help="Exit once the queue is empty.")
    ] = False,
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency",
            "-c",
            min=1,
            max=MAX_PROCESSES,
            help="Queue consumers: worker processes that each read jobs and commit "
            "their own batches.",
        ),
    ] = 1,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            "-j",
            min=0,
            max=MAX_PROCESSES,
            help="Prepare processes of each consumer: they parse, verify and "
            "compress its batches (0: one per CPU with one consumer, 1 with more).",
        ),
    ] = 0,
    claim_after: Annotated[
        float | None,
        typer.Option(
            "--claim-after",
            min=1.0,
            help="Seconds before a silent worker's jobs are taken over.",
        ),
    ] = None,
    accounts: Annotated[
        Path | None,
        typer.Option(
            "--accounts",
            help="IMAP accounts the jobs may name (default: [queue] accounts).",
        ),
    ] = None,
) -> None:
    """Consume the queue until stopped: store mail in batches, run IMAP syncs.

    SIGTERM or Ctrl-C finishes the batch in hand, then exits. Jobs are acknowledged
    only after their batch commits; failed ones are retried with backoff, then put
    in the dead letters (`pmail queue dead list`). Every job is checked as it is
    read: a malformed one, a spool file outside the spool directory or not the
    bytes enqueued, an IMAP job naming an account that --accounts does not define,
    an unsigned job for a tenant with a job key go there at once.

    Example: pmail worker --concurrency 2
    """
    import dataclasses

    from pmail_cli.services import queue

    settings = get_settings(ctx)
    if claim_after is not None:
        settings = dataclasses.replace(
            settings, queue=dataclasses.replace(settings.queue, claim_after=claim_after)
        )
    stop = threading.Event()
    with reported_errors(settings), queue.stopped_by_signals(stop):
        queue.open_streams(settings)  # a missing or dead queue: say so before forking
        queue.worker_accounts(settings, accounts)  # ... and a broken accounts file
        if concurrency == 1:
            result = queue.run_worker(
                settings,
                queue.WorkerOptions(burst=burst, jobs=jobs, accounts=accounts),
                stop,
            )
        else:
            result = queue.run_workers(
                settings,
                queue.WorkerOptions(burst=burst, jobs=jobs or 1, accounts=accounts),
                concurrency,
                stop,
            )
    say(
        f"worker stopped: stored {counted(result.stored, 'message')}, "
        f"{counted(result.duplicates, 'duplicate')}, "
        f"{counted(result.control, 'other job')}; "
        f"{counted(result.failed_runs, 'batch', 'batches')} retried, "
        f"{counted(result.dead, 'job')} to the dead letters"
    )


@queue_app.command("status")
def queue_status(ctx: typer.Context, fmt: FormatOption = OutputFormat.table) -> None:
    """Depth per priority, in flight, retrying, dead letters, the oldest job's age.

    Example: pmail queue status --format json
    """
    from pmail_cli.services import queue

    settings = get_settings(ctx)
    with reported_errors(settings):
        streams, dead = queue.status(settings)
    output.render(streams, fmt)
    say(counted(dead, "dead letter") + (" (`pmail queue dead list`)" if dead else ""))


@dead_app.command("list")
def dead_list(ctx: typer.Context, fmt: FormatOption = OutputFormat.table) -> None:
    """Jobs that went to the dead letters, with their errors.

    Example: pmail queue dead list --format json
    """
    from pmail_cli.services import queue

    settings = get_settings(ctx)
    with reported_errors(settings):
        found = queue.dead_letters(settings)
    rows = [
        {
            "id": d.dead_id,
            "type": d.job.type,
            "tenant": d.job.tenant,
            "priority": d.job.priority,
            "origin": d.job.origin,
            "deliveries": d.deliveries,
            "error": d.error,
        }
        for d in found
    ]
    output.render(
        rows,
        fmt,
        columns=["id", "type", "tenant", "priority", "origin", "deliveries", "error"],
    )


@dead_app.command("retry")
def dead_retry(
    ctx: typer.Context,
    ids: Annotated[
        list[str] | None, typer.Argument(help="Dead letter ids (default: all).")
    ] = None,
) -> None:
    """Put dead letters back on the queue (all of them, or the ones named).

    Example: pmail queue dead retry 1732790000000-0
    """
    from pmail_cli.services import queue

    with connected(get_settings(ctx)) as conn:
        redriven = queue.redrive(conn, get_settings(ctx), ids or [])
    say(f"put {counted(len(redriven), 'job')} back on the queue")


@report_app.command("queue")
def report_queue(
    ctx: typer.Context,
    tenant: EveryTenantOption = None,
    days: Annotated[
        int, typer.Option(min=1, max=3660, help="Days up to now (at most 3660).")
    ] = 7,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Queue jobs per day: stored, duplicates, dead, retried, latency p50/p95/max.

    Without --tenant: every tenant. Dead jobs by error follow on stderr.

    Example: pmail report queue --days 7
    """
    from pmail_cli.services import queue, tenants

    with connected(get_settings(ctx)) as conn:
        scope = tenants.find_tenant(conn, tenant) if tenant else None
        found = queue.report(conn, scope, days=days)
    output.render(
        found.days, fmt, columns=[f for f in queue.QueueDay.__dataclass_fields__]
    )
    for f in found.failures:
        say(f"dead: {counted(f.jobs, f.job_type + ' job')}: {escape(f.error)}")
