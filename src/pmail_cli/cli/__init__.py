"""The pmail command line: parse, call one service, render. Nothing else.

This package is the only code that imports typer. The root app and what every
command shares are here; the commands live in one module per area (mail.py,
imap.py, admin.py) and import the services they call when they run, so a command
pays only for its own imports at start-up.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer._click.exceptions import (
    BadParameter,
    ClickException,
    NoArgsIsHelpError,
    UsageError,
)
from typer._click.globals import get_current_context
from typer.core import TyperGroup

from pmail_cli import interrupt, output
from pmail_cli.config import Settings, redact_dsn, settings_from_environment
from pmail_cli.errors import PmailError
from pmail_cli.output import (
    OutputFormat,
    counted,
    for_terminal,
    say_plain,
    stderr_console,
)

if TYPE_CHECKING:
    from pmail_cli.db import Connection
    from pmail_cli.sources import Skipped, TooLarge

# The global options, accepted before or after the command name (`pmail init-db
# --dsn …` as well as `pmail --dsn … init-db`): the root group moves them to the front.
GLOBAL_FLAGS = frozenset({"-v", "--verbose", "-q", "--quiet", "--debug", "--no-debug"})
GLOBAL_WITH_VALUE = frozenset({"--dsn", "--config"})


def escape(text: str) -> str:
    """rich.markup.escape: text shown as it is in console markup (rich is imported
    only when there is something to escape: a '[' or a trailing backslash)."""
    if "[" not in text and not text.endswith("\\"):
        return text
    from rich.markup import escape as escape_markup

    return escape_markup(text)


def escape_origin(origin: str) -> str:
    """An input's name (a path, `-`, `mbox#3`) for one line of output: escaped as
    `escape` does, and a newline in it (a file name may hold one) shown as `\\n`, so
    a name cannot start a line of its own that reads like pmail's."""
    return escape(origin.replace("\n", "\\n"))


def hoist_global_options(args: list[str]) -> list[str]:
    """Move the global options found anywhere before `--` to the front, in order."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        if arg in GLOBAL_FLAGS or (
            arg.split("=", 1)[0] in GLOBAL_WITH_VALUE and "=" in arg
        ):
            front.append(arg)
        elif arg in GLOBAL_WITH_VALUE and i + 1 < len(args):
            front += [arg, args[i + 1]]
            i += 1
        else:
            rest.append(arg)
        i += 1
    return front + rest


class _Root(TyperGroup):
    """The root command group: global options may follow the command name, and the
    parser's own complaints (a value of the wrong type, an unknown option or command,
    a missing argument) end as one error/hint pair with exit 2, like pmail's own."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        with _said_the_pmail_way(), _stdout_closed_quietly():  # --help, --version
            return super().parse_args(ctx, hoist_global_options(args))

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        # subcommands parse their options in here
        with _said_the_pmail_way(), _stdout_closed_quietly():
            return super().invoke(ctx)


class _Said(ClickException):
    """An error click reports by calling show(): pmail's error/hint pair."""

    def __init__(self, message: str, hint: str, exit_code: int) -> None:
        super().__init__(message)
        self.hint, self.exit_code = hint, exit_code

    def show(self, file: object = None) -> None:
        say(f"error: {escape(self.message)}")
        say(f"hint: {escape(self.hint)}")


@contextmanager
def _stdout_closed_quietly() -> Iterator[None]:
    """A reader that stops reading (`pmail list | head -1`) ends the command quietly
    with exit 141, every command and format alike (docs/commands.md): the output
    still buffered is sent here, while the exit status can still say it was not
    read (click would exit 1, and the interpreter's flush at exit 120 or 0). A full
    disk or quota (`pmail list > file`), or a stdout closed before pmail started
    (`pmail list >&-`), is an error/hint pair and exit 1."""
    output.stdout_closed_at_start()  # else print() would drop the data silently
    try:
        try:
            yield
        finally:
            sys.stdout.flush()
    except output.StdoutClosed:
        say("error: cannot write output: stdout is closed")
        say(
            "hint: the command was started with its standard output (descriptor 1) "
            "closed (`>&-`): send it to a file, a pipe or /dev/null instead"
        )
        raise typer.Exit(1) from None
    except BrokenPipeError:
        if not output.stdout_reader_gone():
            raise  # another pipe or socket broke: not the reader of our output
        output.discard_stdout()
        raise typer.Exit(output.STDOUT_CLOSED) from None
    except OSError as exc:
        if exc.errno not in output.NO_ROOM:
            raise
        output.discard_stdout()  # nothing more of it can be written either
        say(f"error: cannot write: {escape(exc.strerror or str(exc))}")
        say(
            "hint: free some space where the output goes (or send it elsewhere), "
            "then run the command again"
        )
        raise typer.Exit(1) from None


def _hint_for(exc: UsageError, command: str) -> str:
    """A value outside an option's choices (`--format`): the hint lists them, as
    vocab.refused does for every other closed vocabulary."""
    param = exc.param if isinstance(exc, BadParameter) else None
    choices = getattr(getattr(param, "type", None), "choices", None)
    if param is not None and choices:
        name = max(getattr(param, "opts", None) or [str(param.name)], key=len)
        return f"{name} takes: {', '.join(str(c) for c in choices)}"
    return _hint_for_command(command)


def _hint_for_command(command: str) -> str:
    return f"`{command} --help` lists what it takes"


@contextmanager
def _said_the_pmail_way() -> Iterator[None]:
    """Turn click's usage errors and prompt aborts into pmail's error/hint pair;
    click still exits with their codes (`pmail` alone keeps printing its help)."""
    try:
        yield
    except NoArgsIsHelpError:
        raise
    except UsageError as exc:
        command = exc.ctx.command_path if exc.ctx is not None else "pmail"
        raise _Said(exc.format_message(), _hint_for(exc, command), 2) from None
    except typer.Abort:  # a prompt ended (Ctrl-D) before the command ran
        raise _Said(
            "aborted at a prompt", "run the command again to answer it", 1
        ) from None


app = typer.Typer(
    help="Keep a cold-email platform's mail in PostgreSQL: lossless, compressed, classified.",
    cls=_Root,
    no_args_is_help=True,
    # plain help: no `<bool>` beside on/off flags, nothing read as markup in help
    # texts, and faster (rich renders nothing before a command runs)
    rich_markup_mode=None,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

FormatOption = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="table, csv, json or markdown.")
]


def tenant_name(ctx: typer.Context, param: Any, value: str | None) -> str | None:
    """Every tenant name the command line takes (each --tenant, `tenant add NAME`,
    `--rename NAME`) passes here as it is parsed: an empty or blank one is refused
    before anything runs, never read as the option left out ('default', or every
    tenant)."""
    if value is None or value.strip():
        return value
    opts = list(getattr(param, "opts", None) or [])
    option = param.param_type_name == "option"
    label = max(opts, key=len) if option and opts else str(param.name).upper()
    raise _Said(
        f"{label} is empty: a tenant name has 1 to 200 characters, not only spaces",
        "give a name that is not blank (`pmail tenant list` shows the tenants "
        "there are)" + (", or leave --tenant out" if "--tenant" in opts else ""),
        2,
    )


def tenant_option(help: str) -> Any:
    """A command's --tenant (-t) option, whose value is checked by tenant_name."""
    return typer.Option("--tenant", "-t", help=help, callback=tenant_name)


def tenant_argument(help: str) -> Any:
    """A command's tenant NAME argument, checked as --tenant is."""
    return typer.Argument(help=help, callback=tenant_name)


TenantOption = Annotated[str | None, tenant_option("Tenant name (default: 'default').")]
# For the commands that, without --tenant, act on every tenant (validate, purge,
# hold list, hold release, report queue): their help says so.
EveryTenantOption = Annotated[
    str | None,
    tenant_option(
        "Only this tenant (default: every tenant; an administrator's connection)."
    ),
]
MAX_PROCESSES = 256  # --jobs, --concurrency: more is a typo, not a machine
JobsOption = Annotated[
    int,
    typer.Option(
        "--jobs",
        "-j",
        min=0,
        max=MAX_PROCESSES,
        help="Processes that parse, verify and compress mail (0: one per CPU; at "
        f"most {MAX_PROCESSES}).",
    ),
]
# How files are read: one name for ingest, classify and enqueue.
ReadAsOption = Annotated[
    str | None,
    typer.Option(
        "--as",
        help="Read every input as 'mbox' or 'eml' (default: by name and content).",
    ),
]


def _show_version(value: bool) -> None:
    """--version: the installed pmail's version on stdout, and nothing else runs."""
    if value:
        from pmail_cli import __version__

        print(f"pmail {__version__}")
        raise typer.Exit()


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
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print pmail's version and exit.",
            is_eager=True,
            callback=_show_version,
        ),
    ] = False,
) -> None:
    """Keep a cold-email platform's mail in PostgreSQL."""
    debug = debug or os.environ.get("PMAIL_DEBUG") == "1"
    with reported_errors(None, debug=debug):
        settings = settings_from_environment(dsn, config).with_flags(
            verbose=verbose, quiet=quiet, debug=debug
        )
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING, handlers=[_SaidHandler()]
    )
    if verbose:
        where = (
            redact_dsn(settings.dsn) if settings.dsn else f"data in {settings.data_dir}"
        )
        stderr_console().print(
            f"using DSN from {escape(settings.dsn_source)}: {escape(where)}"
        )
    ctx.obj = settings


class _SaidHandler(logging.Handler):
    """What the services log, said as a command says its own: a warning (a watch
    reconnecting, a queue job buried) is a `warning: …` line, as say() prints it;
    the lines only --debug shows keep their level and logger (`DEBUG:pmail_cli.db:…`).
    Control characters are shown escaped (a message may quote mail), and a warning's
    further lines are indented."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
            if record.levelno >= logging.WARNING:
                # a message of several lines (an exception's PostgreSQL CONTEXT, a
                # traceback) goes on indented: no line of it reads as pmail's own
                text = text.replace("\n", "\n  ")
                line = f"{record.levelname.lower()}: {text}"
            else:
                line = f"{record.levelname}:{record.name}:{text}"
            say(escape(line))
        except Exception:
            self.handleError(record)


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
        say_plain(f"error: {escape(for_terminal(str(exc)))}")
        hint = exc.hint or _usage_hint(exc)
        if hint:
            say_plain(f"hint: {escape(for_terminal(hint))}")
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        if debug:
            raise
        interrupt.report_once()
        raise typer.Exit(130) from None


def _usage_hint(exc: PmailError) -> str:
    """The hint of a usage error that brought none: the command's --help, as for
    the parser's own complaints (docs/commands.md: exit 2 is an error/hint pair)."""
    if exc.exit_code != 2:
        return ""
    ctx = get_current_context(silent=True)
    return _hint_for_command(ctx.command_path if ctx is not None else "pmail")


@contextmanager
def connected(settings: Settings, *, migrate: bool = True) -> Iterator[Connection]:
    """Errors reported, and a database connection for the command's work."""
    from pmail_cli import db

    with reported_errors(settings), db.connect(settings, migrate=migrate) as conn:
        yield conn


def say(text: str) -> None:
    """One line for the user on stderr (markup in `text` is the caller's; control
    characters from mail are shown escaped, never sent to the terminal)."""
    say_plain(for_terminal(text))


def skipped_summary(skipped: list[Skipped], *, verbose: bool) -> str:
    """What a directory walk left out: each file named under -v, and the summary
    line's part counting them by reason ('' when nothing was left out; the pointer
    to -v only without it)."""
    if verbose:
        for event in skipped:
            say(f"skipped, {escape(event.reason)}: {escape_origin(event.origin)}")
    if not skipped:
        return ""
    counts: dict[str, int] = {}
    for event in skipped:
        counts[event.reason] = counts.get(event.reason, 0) + 1
    parts = ", ".join(f"{n:,} {escape(reason)}" for reason, n in counts.items())
    more = "" if verbose else " (-v lists them)"
    return f"; {counted(len(skipped), 'file')} skipped: {parts}{more}"


def too_large_errors(refused: list[TooLarge], *, done: str = "stored") -> None:
    """One error line per message refused for its size, then one hint (the other
    messages were `done`)."""
    for event in refused:
        say(f"error: {escape_origin(event.origin)}: {escape(event.describe())}")
    if refused:
        cut = any(event.cut for event in refused)
        say(
            "hint: to store larger messages, raise max_message_bytes "
            "(PMAIL_MAX_MESSAGE_BYTES or the config file: docs/config.md); "
            + (
                "a cut input (a pipe) was not read past that point: messages after "
                "the large one in it were not read, so give it as a file or raise "
                f"the limit; the other inputs' messages were {done}"
                if cut
                else f"the other messages were {done}"
            )
        )


# The commands register themselves on `app` when their module is imported. typer
# builds every registered command (signatures, annotations, help) on each call, so the
# `pmail` program imports only the module of the command it runs (all of them for
# `pmail --help`, an unknown name, or any other importer: tests, `import pmail_cli.cli`).
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "init-db": ("admin",),
    "tenant": ("admin",),
    "account": ("admin",),
    "dict": ("admin",),
    "list": ("find",),
    "search": ("find",),
    "import-imap": ("imap",),
    "validate": ("integrity",),
    "purge": ("integrity",),
    "hold": ("integrity",),
    "audit": ("integrity",),
    "ingest": ("mail",),
    "export": ("mail",),
    "show": ("mail",),
    "classify": ("mail",),
    "migrate-legacy": ("migrate",),
    "enqueue": ("queue",),
    "worker": ("queue",),
    "queue": ("queue",),
    "report": ("report", "queue"),  # `report queue` lives with the queue commands
    "analytics": ("report",),
    "server": ("server",),
    "resident": ("resident",),
    "suppressions": ("report",),
}
ALL_MODULES = (
    "admin",
    "find",
    "imap",
    "integrity",
    "mail",
    "migrate",
    "queue",
    "report",
    "resident",
    "server",
)


def command_of(argv: list[str]) -> str | None:
    """The known command a `pmail` command line runs (argv[0] the program); None
    for any other program, `pmail --help`, or a name pmail has no command for."""
    program = Path(argv[0]).name if argv else ""
    if program != "pmail" and not argv[0].endswith("pmail_cli/__main__.py"):
        return None
    args = hoist_global_options(argv[1:])
    i = 0
    while i < len(args):
        if args[i] in GLOBAL_WITH_VALUE:
            i += 2
        elif args[i].startswith("-"):
            i += 1
        else:
            return args[i] if args[i] in COMMAND_MODULES else None
    return None


def modules_for(argv: list[str]) -> tuple[str, ...]:
    """The command modules a `pmail` command line needs (argv[0] the program)."""
    command = command_of(argv)
    return ALL_MODULES if command is None else COMMAND_MODULES[command]


def registers(name: str) -> bool:
    """Whether a module registers command `name` in this process: all of them but
    in the `pmail` program running another command of the same module (typer builds
    every registered command when it runs one)."""
    command = command_of(sys.argv)
    return command is None or command == name


for _module in modules_for(sys.argv):
    importlib.import_module(f"pmail_cli.cli.{_module}")
