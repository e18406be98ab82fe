"""`pmail resident start|stop|status`: the resident server (resident_server.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from pmail_cli.cli import app, get_settings, reported_errors, say

resident_app = typer.Typer(
    help="Start, stop and see the resident server that makes pmail start faster.",
    no_args_is_help=True,
)
app.add_typer(resident_app, name="resident")


def _where() -> str:
    from pmail_cli import resident

    return resident.directory()


@resident_app.command("status")
def status() -> None:
    """Say whether the resident server runs, its pid and its socket.

    Example: pmail resident status
    """
    from pmail_cli import resident_server

    state = resident_server.state(_where())
    typer.echo(f"socket: {state.socket}")
    if state.pid is None:
        typer.echo("state: stopped")
        return
    typer.echo("state: running")
    typer.echo(f"pid: {state.pid}")
    if not state.current:
        typer.echo("code: another version of pmail (it stops at its next command)")


@resident_app.command("start")
def start(
    ctx: typer.Context,
    foreground: Annotated[
        bool,
        typer.Option(help="Serve in this process until Ctrl-C (default: detach)."),
    ] = False,
) -> None:
    """Start the resident server; no-op if it runs.

    Example: pmail resident start
    """
    from pmail_cli import resident, resident_server

    settings = get_settings(ctx)
    with reported_errors(settings):
        if foreground:
            where = _where()
            path = resident.socket_path(where)
            resident_server.serve(where, ready=lambda: say(f"serving on {path}"))
            return
        state = resident_server.start_background(_where())
    say(f"resident server running (pid {state.pid}) on {state.socket}")


@resident_app.command("stop")
def stop(ctx: typer.Context) -> None:
    """Stop the resident server; commands it started run to their end.

    Example: pmail resident stop
    """
    from pmail_cli import resident_server

    settings = get_settings(ctx)
    with reported_errors(settings):
        state = resident_server.stop(_where())
    if state.pid is None:
        say("the resident server was not running")
    else:
        say(f"stopped the resident server (pid {state.pid})")
