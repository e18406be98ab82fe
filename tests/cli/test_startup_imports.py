"""The everyday read commands import only what they use (issue 27, the command).

Each command runs as a user runs it, a new `pmail` process against a real database
with messages in it; the process writes the names of the modules it imported when
it ends, and the test checks that modules the command never needs are not among
them. (psycopg-binary reads its version with importlib.metadata, which imports
email.parser: that one is psycopg's, not pmail's, and is not checked.)
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from pmail_cli import output

PMAIL = str(Path(sys.executable).with_name("pmail"))
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
MESSAGES = (
    SAMPLE / "sisimai-set-of-emails" / "lhost-postfix-01.eml",
    SAMPLE / "sisimai-set-of-emails" / "lhost-qmail-01.eml",
)
# Runs pmail's entry point as the `pmail` program (argv[0] decides which command
# modules are imported) and writes sys.modules to the file PMAIL_TEST_MODULES names.
LAUNCH = (
    "import atexit, os, sys\n"
    "def dump():\n"
    "    with open(os.environ['PMAIL_TEST_MODULES'], 'w') as fh:\n"
    "        fh.write('\\n'.join(sorted(sys.modules)))\n"
    "atexit.register(dump)\n"
    "sys.argv = ['pmail', *sys.argv[1:]]\n"
    "from pmail_cli.__main__ import main\n"
    "main()\n"
)
# Never needed to find, list, show or count stored mail: parsing and classifying
# (ingest's), compression (stored bodies are read through SQL), images, the
# migration runner and embedded server (a DSN names the server), the config file
# parser (there is none), and rich (none of these prints a rich table or chart).
NEVER = (
    "pmail_cli.mail",
    "pmail_cli.classify",
    "pmail_cli.migrations",
    "pmail_cli.embedded",
    "zstandard",
    "matplotlib",
    "tomllib",
    "rich",
)


def _unwanted(modules: set[str], extra: tuple[str, ...] = ()) -> list[str]:
    """The modules of NEVER (and `extra`), or inside them, that were imported."""
    return sorted(
        m
        for m in modules
        for prefix in (*NEVER, *extra)
        if m == prefix or m.startswith(prefix + ".")
    )


def _run(tmp_path: Path, *args: str) -> tuple[str, set[str]]:
    """Stdout of `pmail ARGS` and the modules the process imported."""
    listing = tmp_path / "modules.txt"
    done = subprocess.run(
        [sys.executable, "-c", LAUNCH, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PMAIL_TEST_MODULES": str(listing)},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, set(listing.read_text().split("\n"))


@pytest.fixture
def stored(dsn: str, tmp_path: Path) -> str:
    """A database with two bounces stored for tenant `acme`."""
    for args in (
        ["tenant", "add", "acme"],
        ["ingest", *map(str, MESSAGES), "--tenant", "acme"],
    ):
        done = subprocess.run(
            [PMAIL, "--dsn", dsn, "-q", *args], capture_output=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
    return dsn


@pytest.mark.db
def test_list_and_search_import_only_what_they_use(stored: str, tmp_path: Path) -> None:
    """`pmail list` and `pmail search` (table, json, a count) load no parser,
    compressor, classifier, migration runner, rich, nor another command's module."""
    others = ("pmail_cli.cli.mail", "pmail_cli.cli.admin", "pmail_cli.cli.report")
    db = ["--dsn", stored]
    out, modules = _run(tmp_path, *db, "list", "-t", "acme")
    assert out.count("bounce") == 2, out
    assert _unwanted(modules, others) == []
    assert "pmail_cli.cli.find" in modules  # the command did run
    out, modules = _run(
        tmp_path, *db, "search", "undelivered", "-t", "acme", "-f", "json"
    )
    assert '"type": "bounce"' in out, out
    assert _unwanted(modules, (*others, "pmail_cli.services.show")) == []
    out, modules = _run(
        tmp_path, *db, "search", "-t", "acme", "--type", "bounce", "--count"
    )
    assert out.strip() == "2"
    assert _unwanted(modules, others) == []


@pytest.mark.db
def test_show_and_a_report_import_only_what_they_use(
    stored: str, tmp_path: Path
) -> None:
    """`pmail show` and `pmail report volume` (to a pipe: no chart) load no
    parser, compressor, classifier, plotting library nor rich."""
    db = ["--dsn", stored]
    out, _ = _run(tmp_path, *db, "list", "-t", "acme", "-f", "json")
    key = out.split('"key": "', 1)[1][:12]
    out, modules = _run(tmp_path, *db, "show", key, "-t", "acme")
    assert key in out
    assert _unwanted(modules, ("pmail_cli.cli.find",)) == []
    out, modules = _run(tmp_path, *db, "report", "volume", "-t", "acme", "-f", "csv")
    assert out.startswith("date,")
    assert _unwanted(modules) == []


@pytest.mark.parametrize(
    "text",
    [
        "more: --after 3663e3bd8fd4262fc51f74f76570c418",
        "note: ranked the newest 1,000 matches; there are more: narrow the query",
        "error: tenant 'acme' does not exist",
        "hint: give 1 to 10000 (a:b, c:d)",  # ':' before a non-space: rich's path
        "error: \\[bold] is not markup",
        "bytes \\ and trailing \\",
        "wide ✓ 日本語 …",
        "a :smile: code",
        "x" * 300,
        "",
    ],
)
def test_plain_lines_on_stderr_are_what_rich_prints(
    text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """say_plain writes what the rich console of stderr writes, to a pipe and to a
    terminal alike (rich is skipped only for text it would print as it is)."""
    output.say_plain(text)
    said = capsys.readouterr().err
    for terminal in (False, True):
        buffer = io.StringIO()
        console = Console(file=buffer, soft_wrap=True, force_terminal=terminal)
        console.print(text, highlight=False)
        assert said == buffer.getvalue()
