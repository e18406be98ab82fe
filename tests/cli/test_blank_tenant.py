"""An empty or blank tenant name is refused by every command that takes one, as
it is parsed (exit 2, one error/hint pair), never read as the option left out:
`--tenant ""` stored mail in 'default', and `purge --tenant ""` or `analytics
rebuild --tenant ""` acted on every tenant."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

from pmail_cli.cli import app

runner = CliRunner()
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
DEAD = "host=127.0.0.1 port=1 connect_timeout=1"  # nothing may get as far as this
REFUSED = "a tenant name has 1 to 200 characters, not only spaces"
HINT = "hint: give a name that is not blank (`pmail tenant list` shows the tenants there are)"


def _with_tenant_option() -> list[list[str]]:
    """Every command (as its words) that has a --tenant option, found in the
    command tree itself: a command added later is checked too."""
    found: list[list[str]] = []

    def walk(command: object, words: list[str]) -> None:
        if isinstance(command, TyperGroup):
            for name, sub in command.commands.items():
                walk(sub, [*words, name])
        elif any(
            "--tenant" in getattr(p, "opts", ()) for p in getattr(command, "params", [])
        ):
            found.append(words)

    walk(typer.main.get_command(app), [])
    return found


TENANT_COMMANDS = _with_tenant_option()


def test_the_tree_has_the_commands_it_should() -> None:
    """The walk finds the commands the bug was seen in, and the every-tenant ones."""
    for words in (
        ["ingest"],
        ["list"],
        ["purge"],
        ["analytics", "rebuild"],
        ["audit"],
        ["report", "volume"],
        ["enqueue"],
        ["import-imap"],
    ):
        assert words in TENANT_COMMANDS


@pytest.mark.parametrize("blank", ["", " ", "\t "], ids=["empty", "space", "blank"])
@pytest.mark.parametrize("words", TENANT_COMMANDS, ids=" ".join)
def test_every_tenant_option_refuses_a_blank_name(words: list[str], blank: str) -> None:
    """`--tenant ""` (or spaces) is one error/hint pair and exit 2 before any
    connection, for every command that has the option."""
    result = runner.invoke(app, ["--dsn", DEAD, *words, "--tenant", blank])
    assert (result.exit_code, result.stderr) == (
        2,
        f"error: --tenant is empty: {REFUSED}\n{HINT}, or leave --tenant out\n",
    ), result.output


@pytest.mark.parametrize(
    ("args", "label"),
    [
        (["tenant", "add", ""], "NAME"),
        (["tenant", "add", "  "], "NAME"),
        (["tenant", "set", "", "--retention-days", "5"], "NAME"),
        (["tenant", "login", " "], "NAME"),
        (["tenant", "set", "acme", "--rename", " "], "--rename"),
    ],
)
def test_tenant_name_arguments_refuse_a_blank_name(args: list[str], label: str) -> None:
    """The tenant commands' NAME (and --rename) get the same pair as --tenant."""
    result = runner.invoke(app, ["--dsn", DEAD, *args])
    assert (result.exit_code, result.stderr) == (
        2,
        f"error: {label} is empty: {REFUSED}\n{HINT}\n",
    ), result.output


@pytest.mark.db
def test_blank_tenant_stores_nothing_and_touches_no_tenant(
    dsn: str, conn: psycopg.Connection[tuple[object, ...]]
) -> None:
    """Against a real database: `ingest --tenant ""` stored the sample in 'default'
    (exit 0); now nothing is stored and no tenant is created, and `list`,
    `analytics rebuild` and `purge` refuse it the same way."""
    for args in (
        ["ingest", str(SAMPLE), "--tenant", ""],
        ["list", "--tenant", " "],
        ["analytics", "rebuild", "--tenant", ""],
        ["purge", "--tenant", ""],
    ):
        result = runner.invoke(app, ["--dsn", dsn, *args])
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.startswith("error: --tenant is empty"), result.stderr
    assert conn.execute("SELECT count(*) FROM email_messages").fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM tenants").fetchone() == (0,)
