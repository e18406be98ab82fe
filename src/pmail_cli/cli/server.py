"""`pmail server status|start|stop`: the embedded PostgreSQL pmail starts itself."""

from __future__ import annotations

import typer

from pmail_cli.cli import app, escape, get_settings, reported_errors, say

server_app = typer.Typer(
    help="See, start and stop the embedded PostgreSQL (used when no DSN is set).",
    no_args_is_help=True,
)
app.add_typer(server_app, name="server")


def _used_note(dsn_source: str, has_dsn: bool) -> None:
    if has_dsn:
        say(f"note: pmail uses the DSN from {escape(dsn_source)}, not this server")


@server_app.command("status")
def status(ctx: typer.Context) -> None:
    """Say whether the embedded server runs: its data, process and socket.

    Example: pmail server status
    """
    from pmail_cli import embedded

    settings = get_settings(ctx)
    assert settings.data_dir is not None
    state = embedded.server_state(settings.data_dir)
    typer.echo(f"data: {state.pgdata}")
    if not state.initialized:
        typer.echo("state: not created (the first command without a DSN creates it)")
    elif state.pid is None:
        typer.echo("state: stopped")
    else:
        typer.echo("state: running")
        typer.echo(f"pid: {state.pid}")
        typer.echo(f"socket: {state.socket_dir}/.s.PGSQL.{state.port}")
    _used_note(settings.dsn_source, settings.dsn is not None)


@server_app.command("start")
def start(ctx: typer.Context) -> None:
    """Start the embedded server (creating it on first use); no-op if it runs.

    Example: pmail server start
    """
    from pmail_cli import embedded

    settings = get_settings(ctx)
    assert settings.data_dir is not None
    with reported_errors(settings):
        before = embedded.server_state(settings.data_dir)
        state = embedded.start_server(settings.data_dir)
    verb = "already running" if before.running else "started"
    say(f"embedded PostgreSQL {verb} (pid {state.pid}) with data in {state.pgdata}")
    _used_note(settings.dsn_source, settings.dsn is not None)


@server_app.command("stop")
def stop(ctx: typer.Context) -> None:
    """Stop the embedded server; the next command without a DSN starts it again.

    Example: pmail server stop
    """
    from pmail_cli import embedded

    settings = get_settings(ctx)
    assert settings.data_dir is not None
    with reported_errors(settings):
        state = embedded.stop_server(settings.data_dir)
    if state is None:
        say(
            "the embedded PostgreSQL was not running "
            f"(data in {embedded.pgdata_of(settings.data_dir)})"
        )
    else:
        say(f"stopped the embedded PostgreSQL (pid {state.pid})")
