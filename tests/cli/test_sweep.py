"""Every command, every option, hostile values: never a traceback.

The commands and their options come from the typer app itself, so a new command or
option is swept without anyone adding it here. Each option (and each argument) gets,
one at a time, values chosen by its type: huge, negative and zero numbers, malformed
and out-of-range dates and ages, control characters, a value that looks like an
option, and paths that are a file, a directory, missing, or unwritable. The command
may refuse any of them; it must do so with pmail's error/hint pair, never a Python
traceback, and never hang.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import psycopg
import pytest
import typer
from typer.testing import CliRunner

from pmail_cli.cli import COMMAND_MODULES, app
from tests import mailgen
from tests.conftest import QueueEnv

runner = CliRunner()

NUMBERS = ["0", "-1", "739000", "99999999999999999999", "1e308", "nan", "x"]
DATES = ["0001-01-01", "9999-12-31", "2024-02-30", "1000000d"]
AGES_AND_DATES = [
    "1000000d",
    "20000y",
    "99999999d",
    "-5d",
    "0d",
    "9999-12-31",
    "0000-00-00",
    "2024-02-30T25:00",
    "after:99999999d",
    "before:0001-01-01",
]
TEXT = ["", "-foo", "two\nlines", "\x1b[2J\x07", "99999999999999999999", "nonsense"]
PATHS = ["<file>", "<dir>", "<missing>", "<unwritable>", "<unwritable-parent>"]
# Options not swept: --dsn "" would start the embedded server (its own tests cover
# it); --install-completion and --show-completion write to the user's shell files.
NOT_SWEPT = {"--dsn", "--install-completion", "--show-completion", "--help"}
# Flags that keep a command from running forever, added when the command has them.
BOUNDED = ["--burst"]


def _commands() -> list[tuple[str, ...]]:
    for name in {m for modules in COMMAND_MODULES.values() for m in modules}:
        __import__(f"pmail_cli.cli.{name}")

    def walk(command: Any, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        subs = getattr(command, "commands", None)
        if subs:
            for name, sub in sorted(subs.items()):
                yield from walk(sub, (*path, name))
        else:
            yield path

    return list(walk(typer.main.get_command(app), ()))


def _command(path: tuple[str, ...]) -> Any:
    command: Any = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    return command


def _values(param: Any) -> list[str]:
    kind = type(param.type).__name__
    if kind in ("IntParamType", "IntRange", "FloatParamType", "FloatRange"):
        return NUMBERS
    if kind == "DateTime":
        return DATES
    if kind == "TyperChoice":
        return ["nonsense", ""]
    if kind == "TyperPath":
        return [*PATHS, "", "-foo"]
    return TEXT + AGES_AND_DATES + PATHS


def _base(command: Any) -> tuple[list[str], dict[str, str]]:
    """Options and required arguments that get the command past its obvious
    requirements (placeholders are filled in by the fixture)."""
    options: list[str] = []
    names = {opt for p in command.params for opt in getattr(p, "opts", [])}
    if "--tenant" in names:
        options += ["--tenant", "acme"]
    options += [flag for flag in BOUNDED if flag in names]
    arguments = {
        p.name: {"paths": "<message>", "email": "a@example.org"}.get(p.name, "1")
        for p in command.params
        if p.param_type_name == "argument" and p.required
    }
    return options, arguments


def _cases(command: Any) -> Iterator[tuple[str, list[str]]]:
    """(what is swept, the arguments after the command path) for each hostile value."""
    options, arguments = _base(command)
    for param in command.params:
        if param.param_type_name == "argument":
            for value in _values(param):
                chosen = {**arguments, param.name: value}
                yield f"{param.name}={value!r}", [*options, *chosen.values()]
            continue
        if getattr(param, "is_flag", False) or set(param.opts) & NOT_SWEPT:
            continue
        for value in _values(param):
            argv = [*options, param.opts[0], value, *arguments.values()]
            yield f"{param.opts[0]}={value!r}", argv
    for value in PATHS:
        yield f"--config={value!r}", ["--config", value, *options, *arguments.values()]


class _Hung(Exception):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise _Hung("no answer within 60 s")


@pytest.fixture
def sweep_env(
    dsn: str, tmp_path: Path, queue_env: QueueEnv, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """A tenant with mail, and the paths the sweep hands out; roles the sweep
    creates on the server are dropped after it."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i in range(3):
        (inbox / f"{i}.eml").write_bytes(mailgen.simple(i))
    assert runner.invoke(app, ["--dsn", dsn, "tenant", "add", "acme"]).exit_code == 0
    stored = runner.invoke(app, ["--dsn", dsn, "ingest", str(inbox), "-t", "acme"])
    assert stored.exit_code == 0, stored.output
    (tmp_path / "a-file").write_bytes(b"not a directory\n")
    (tmp_path / "a-dir").mkdir()
    monkeypatch.setenv("PMAIL_IMAP_PASSWORD", "")
    work = tmp_path / "cwd"  # relative paths (--out '', -foo) land here
    work.mkdir()
    monkeypatch.chdir(work)
    with psycopg.connect(dsn, autocommit=True) as conn:
        roles = {r for (r,) in conn.execute("SELECT rolname FROM pg_roles")}
    default_keys = set(queue_env.client.scan_iter(match="pmail:*", count=1000))
    yield {
        "<file>": str(tmp_path / "a-file"),
        "<dir>": str(tmp_path / "a-dir"),
        "<missing>": str(tmp_path / "no" / "such" / "path"),
        "<unwritable>": "/proc/pmail-sweep.png",
        "<unwritable-parent>": "/proc/pmail-sweep/out.png",
        "<message>": str(inbox / "0.eml"),
        "dsn": dsn,
    }
    # Roles are server-wide and other test runs create theirs meanwhile: drop only the
    # new roles this database bound to a tenant (the sweep's own), and leave one that
    # another database still uses (the same hostile name in a concurrent sweep).
    with psycopg.connect(dsn, autocommit=True) as conn:
        made = conn.execute("SELECT role_name FROM pmail_tenant_roles").fetchall()
        for (role,) in made:
            if role in roles:
                continue
            try:
                conn.execute(f'DROP OWNED BY "{role}"')
                conn.execute(f'DROP ROLE "{role}"')
            except psycopg.errors.DependentObjectsStillExist:
                pass
    # Every command ran with the test's private prefix: a hostile --config that fell
    # back to the defaults made (and read) the machine's own `pmail:` streams.
    created = (
        set(queue_env.client.scan_iter(match="pmail:*", count=1000)) - default_keys
    )
    assert not created, f"the sweep touched the default queue prefix: {sorted(created)}"


@pytest.mark.db
@pytest.mark.parametrize("path", _commands(), ids=" ".join)
def test_hostile_values_never_give_a_traceback(
    path: tuple[str, ...], sweep_env: dict[str, str]
) -> None:
    """Each option and argument of the command, given each hostile value, ends with
    an exit code and, when it fails, pmail's error line: no traceback, no hang."""
    problems = []
    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        for label, args in _cases(_command(path)):
            argv = [
                "--dsn",
                sweep_env["dsn"],
                *path,
                *(sweep_env.get(a, a) for a in args),
            ]
            signal.alarm(60)
            try:
                result = runner.invoke(app, argv, input="")
            finally:
                signal.alarm(0)
            exc = result.exception
            if exc is not None and not isinstance(exc, SystemExit):
                problems.append(f"{label}: {type(exc).__name__}: {exc}")
            elif "Traceback" in result.output:
                problems.append(f"{label}: a traceback was printed")
            elif result.exit_code not in (0, 130) and not any(
                line.startswith("error: ") for line in result.stderr.splitlines()
            ):
                problems.append(
                    f"{label}: exit {result.exit_code} without an error: line "
                    f"({result.stderr[-200:]!r})"
                )
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert not problems, f"pmail {' '.join(path)}:\n" + "\n".join(problems)


@pytest.mark.db
def test_a_chart_that_cannot_be_written_is_refused_before_the_table(
    dsn: str, tmp_path: Path
) -> None:
    """report --plot to an unwritable path prints no table: one error/hint pair."""
    assert runner.invoke(app, ["--dsn", dsn, "tenant", "add", "acme"]).exit_code == 0
    for target in ("/proc/pmail-chart.png", str(tmp_path)):
        result = runner.invoke(
            app,
            ["--dsn", dsn, "report", "volume", "-t", "acme", "--plot", target],
        )
        assert result.exit_code != 0
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert lines[0].startswith("error: ") and lines[1].startswith("hint: ")
        assert len(lines) == 2, lines


@pytest.mark.db
def test_export_targets_that_cannot_be_written_are_refused(
    dsn: str, tmp_path: Path
) -> None:
    """export --out naming a file or an unwritable place, and --mbox naming a
    directory, end with one error/hint pair and write nothing."""
    (tmp_path / "a-file").write_bytes(b"keep me\n")
    assert runner.invoke(app, ["--dsn", dsn, "tenant", "add", "acme"]).exit_code == 0
    for option, target in (
        ("--out", tmp_path / "a-file"),
        ("--out", Path("/proc/pmail-export")),
        ("--mbox", tmp_path),
        ("--mbox", Path("/proc/pmail-export/x.mbox")),
    ):
        result = runner.invoke(
            app, ["--dsn", dsn, "export", "-t", "acme", option, str(target)]
        )
        assert result.exit_code != 0, (option, target)
        lines = result.stderr.splitlines()
        assert len(lines) == 2 and lines[0].startswith("error: "), lines
        assert lines[1].startswith("hint: ")
    assert (tmp_path / "a-file").read_bytes() == b"keep me\n"
