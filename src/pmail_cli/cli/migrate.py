"""`pmail migrate-legacy`: run, dry-run, status, verify, archive."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from pmail_cli import output
from pmail_cli.cli import (
    FormatOption,
    JobsOption,
    app,
    connected,
    escape,
    get_settings,
    reported_errors,
    say,
)
from pmail_cli.errors import UsageError
from pmail_cli.output import OutputFormat, counted

if TYPE_CHECKING:
    from pmail_cli.config import Settings
    from pmail_cli.db import Connection
    from pmail_cli.services.migrate import MigrationResult, Status
    from pmail_cli.services.migrate_plan import DryRun


@app.command("migrate-legacy")
def migrate_legacy(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would happen; change nothing.")
    ] = False,
    status: Annotated[
        bool, typer.Option("--status", help="Show how far a migration has got.")
    ] = False,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify", help="Compare legacy and migrated rows; exit 3 on a gap."
        ),
    ] = False,
    archive: Annotated[
        bool,
        typer.Option(
            "--archive",
            help="After --verify passes: rename the legacy tables *_archived.",
        ),
    ] = False,
    batch_size: Annotated[
        int, typer.Option(min=1, max=50_000, help="Legacy rows per page and batch.")
    ] = 2000,
    legacy_schema: Annotated[
        str | None,
        typer.Option(help="Schema of the legacy tables (default: pmail's own)."),
    ] = None,
    jobs: JobsOption = 0,
    writers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Batch writers, each on its own connection with its own tenants "
            "(at most one per tenant).",
        ),
    ] = 1,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Move the legacy content tables into pmail's, resumably and verified.

    Run it again after Ctrl-C or a crash: it continues where it stopped. The legacy
    rows are only read; --archive renames them once --verify passes.

    Example: pmail migrate-legacy --dsn postgresql://db/content --batch-size 5000
    """
    modes = [dry_run, status, verify, archive]
    settings = get_settings(ctx)
    with reported_errors(settings):
        if sum(modes) > 1:
            raise UsageError(
                "give at most one of --dry-run, --status, --verify, --archive"
            )
    from pmail_cli.services import migrate, migrate_plan, migrate_verify

    with connected(settings, migrate=False) as conn:
        if dry_run:
            _show_dry_run(migrate_plan.dry_run(conn, legacy_schema=legacy_schema), fmt)
            return
        if status:
            _show_status(migrate.status(conn, legacy_schema=legacy_schema), fmt)
            return
        if verify:
            checks = migrate_verify.verify(conn, legacy_schema=legacy_schema)
            output.render(checks, fmt)
            migrate_verify.require_passed(checks)
            say(
                f"all {len(checks)} checks passed"
                if len(checks) != 1
                else "the check passed"
            )
            return
        if archive:
            done = migrate_verify.archive(conn, legacy_schema=legacy_schema)
            print(done.undo_sql, end="")
            say(
                "archived "
                + ", ".join(f"{old} -> {new}" for old, new in done.renames)
                + "; the SQL above undoes it"
            )
            return
        result = _run(settings, conn, legacy_schema, batch_size, jobs, writers)
    output.render([{"kind": kind, "rows": n} for kind, n in result.anomalies], fmt)
    _summary(result)


def _run(
    settings: Settings,
    conn: Connection,
    legacy_schema: str | None,
    batch_size: int,
    jobs: int,
    writers: int,
) -> MigrationResult:
    from pmail_cli import db
    from pmail_cli.progress import task
    from pmail_cli.services import migrate

    with db.connect(settings, migrate=False) as reader:
        todo, done = migrate.rows_to_do(conn, legacy_schema=legacy_schema)
        with task("Migrating", total=todo, enabled=not settings.quiet) as advance:
            advance(done)
            return migrate.migrate(
                conn,
                reader,
                legacy_schema=legacy_schema,
                batch_size=batch_size,
                jobs=jobs,
                writers=writers,
                connect=lambda: db.connect(settings, migrate=False),
                on_progress=advance,
            )


def _kinds(counts: list[tuple[str, int]]) -> str:
    return ", ".join(f"{kind} {n:,}" for kind, n in counts) or "none"


def _summary(r: MigrationResult) -> None:
    rate = r.rows_read / r.seconds if r.seconds else 0.0
    if not r.rows_read and not r.stored and not r.orphan_attachments:
        say(
            "nothing left to migrate: every step finished earlier; anomalies: "
            + _kinds(r.anomalies)
        )
        return
    if r.moved_aside:
        say(
            f"moved the legacy {escape(r.moved_aside)}.attachments aside to legacy_attachments"
        )
    say(
        f"migrated {counted(r.stored, 'message')} ({r.already_there:,} "
        f"{'was' if r.already_there == 1 else 'were'} there already) from "
        f"{counted(r.rows_read, 'legacy row')} in {r.seconds:,.1f} s "
        f"({rate:,.0f} rows/s); {counted(r.orphan_attachments, 'attachment')} "
        "without content kept as anomalies; "
        f"{counted(r.tenants_created, 'tenant')}, "
        f"{counted(r.accounts_created, 'account')} and "
        f"{counted(r.dictionaries_trained, 'dictionary', 'dictionaries')} created"
        + ("; indexed the legacy attachments by message" if r.index_created else "")
    )
    say(f"anomalies: {_kinds(r.anomalies)}; next: pmail migrate-legacy --verify")


def _show_status(progress: Status, fmt: OutputFormat) -> None:
    output.render(progress.steps, fmt)
    say(
        f"{progress.migrated_rows:,} of {counted(progress.legacy_rows, 'legacy message')} "
        "migrated; anomalies: " + _kinds(progress.anomalies)
    )
    if progress.archived_at is not None:
        t = progress.tables
        names = ", ".join(f"{t.schema}.{n}" for n in (t.refs, t.content, t.attachments))
        say(
            f"archived on {progress.archived_at:%Y-%m-%d %H:%M:%S %Z}: the legacy "
            f"tables are now {escape(names)}; nothing left to migrate"
        )


def _show_dry_run(plan: DryRun, fmt: OutputFormat) -> None:
    t = plan.totals
    rows: list[dict[str, object]] = [
        {"what": "legacy message rows", "count": t.refs},
        {"what": "legacy content rows", "count": t.content},
        {"what": "legacy attachment rows", "count": t.attachments},
        {"what": "legacy attachment bytes", "count": t.attachment_bytes},
        {"what": "tenants", "count": t.tenants},
        *({"what": f"anomaly: {kind}", "count": n} for kind, n in plan.anomalies),
    ]
    if plan.estimate_seconds is not None:
        # whole seconds: a float would turn every count of the table into one
        rows.append(
            {"what": "estimate: seconds", "count": round(plan.estimate_seconds)}
        )
    for column, counts in (
        ("direction", plan.directions),
        ("status", plan.statuses),
        ("message_type", plan.message_types),
    ):
        rows += [
            {"what": f"{column} = {value if value is not None else 'NULL'}", "count": n}
            for value, n in counts
        ]
    output.render(rows, fmt)
    for name in plan.pending_migrations:
        say(f"would apply {name}")
    if plan.move_aside:
        say(f"would move {plan.move_aside}.attachments aside to legacy_attachments")
    done = sum(s.rows_done for s in plan.steps)
    if done:
        say(f"a migration is under way: {counted(done, 'legacy row')} done")
    if plan.index_to_build:
        say(
            f"would index {escape(plan.index_to_build)} (CREATE INDEX CONCURRENTLY: "
            "writers of the legacy table are not blocked)"
        )
    if plan.estimate_seconds is not None:
        say(
            f"estimate: {_duration(plan.estimate_seconds)} (a sample of "
            f"{counted(plan.sample_rows, 'row')} read and mapped in "
            f"{plan.sample_seconds:,.2f} s, scaled as measured against real runs); "
            "nothing was changed"
        )
    else:
        say("nothing to migrate; nothing was changed")


def _duration(seconds: float) -> str:
    if seconds >= 90:
        return f"{seconds / 60:,.1f} min"
    return f"{seconds:,.0f} s"
