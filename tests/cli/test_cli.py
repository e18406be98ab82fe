"""The command line end to end: exit codes, stdout, stderr."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
import typer
from typer.testing import CliRunner

from pmail_cli import migrations
from pmail_cli.cli import app
from tests import mailgen

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]


def _commands(group: typer.Typer, prefix: str = "") -> list[str]:
    names = [f"{prefix}{c.name}" for c in group.registered_commands if c.name]
    for sub in group.registered_groups:
        assert sub.typer_instance is not None and sub.name
        names += _commands(sub.typer_instance, f"{prefix}{sub.name} ")
    return names


@pytest.mark.parametrize("command", _commands(app))
def test_every_command_has_help_and_docs(command: str) -> None:
    """Each command prints help text with an example and has a section in docs/commands.md."""
    result = runner.invoke(app, [*command.split(), "--help"])
    assert result.exit_code == 0, result.output
    assert "Example: pmail" in result.stdout
    docs = (REPO / "docs" / "commands.md").read_text()
    assert re.search(rf"^## `pmail {re.escape(command)}`", docs, re.M), command


def test_version() -> None:
    """`pmail --version` prints the installed version on stdout and exits 0, without
    a database (it was an unknown option)."""
    from importlib.metadata import version

    from pmail_cli import __version__

    assert __version__ == version("pmail")  # the package's and pyproject's agree
    result = runner.invoke(
        app, ["--dsn", "host=127.0.0.1 port=1 connect_timeout=1", "--version"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == f"pmail {__version__}\n" and not result.stderr


def test_classify_counts_empty_inputs(tmp_path: Path) -> None:
    """An empty file named to classify is said on stderr (it vanished without a word),
    and -v names it; the message beside it is classified as before."""
    empty = tmp_path / "empty.eml"
    empty.write_bytes(b"")
    (tmp_path / "a.eml").write_bytes(mailgen.simple(1))
    result = runner.invoke(app, ["classify", str(empty), str(tmp_path / "a.eml")])
    assert result.exit_code == 0, result.output
    assert "a.eml" in result.stdout and "empty.eml" not in result.stdout
    assert "1 empty input: no message in it (-v names it)" in result.stderr
    named = runner.invoke(app, ["-v", "classify", str(empty)])
    assert f"empty, nothing to classify: {empty}" in named.stderr


def test_unreachable_database_is_one_line_error() -> None:
    """A dead server gives exit 1 and an error/hint pair, never a traceback."""
    result = runner.invoke(
        app, ["--dsn", "host=127.0.0.1 port=1 connect_timeout=1", "tenant", "list"]
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "error: cannot connect to PostgreSQL (host=127.0.0.1 port=1"
    )
    assert "hint: is the server running?" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://pmail:pw-s3cret@[::1/pmail",  # libpq quotes a bad URI whole
        "host=127.0.0.1 password=pw-s3cret tail-0f-it dbname=pmail",  # a piece of it
        "host=127.0.0.1 port=1 dbname=pmail password='pw-s3cret",
    ],
)
@pytest.mark.parametrize("command", [["tenant", "list"], ["init-db", "--create"]])
def test_unreadable_dsn_is_one_error_without_its_password(
    dsn: str, command: list[str]
) -> None:
    """A DSN libpq cannot read is an error/hint pair on two lines (exit 1) that
    shows no part of the password, for `init-db --create` (it was a traceback) as
    for any command."""
    result = runner.invoke(app, ["--dsn", dsn, *command])
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith("error: invalid DSN (--dsn): ")
    assert lines[1].startswith("hint: use a libpq DSN")
    for piece in ("s3cret", "tail-0f-it"):
        assert piece not in result.output


@pytest.mark.db
def test_database_without_schema_says_run_init_db(dsn: str, conn: object) -> None:
    """A database without pmail's tables gives an error whose hint is `pmail init-db`."""
    import psycopg

    name = f"pmail_test_empty_{os.getpid()}"  # concurrent runs never share it
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name}")
    try:
        empty = re.sub(r"dbname=\S+", f"dbname={name}", dsn)
        result = runner.invoke(app, ["--dsn", empty, "tenant", "list"])
        assert result.exit_code == 1
        assert result.stderr.startswith("error: the database has no pmail schema")
        assert "hint: run `pmail init-db`" in result.stderr
        init = runner.invoke(app, ["--dsn", empty, "init-db", "--dry-run"])
        assert (
            init.exit_code == 0 and "would apply 0001_initial_schema.sql" in init.stderr
        )
        applied = runner.invoke(app, ["--dsn", empty, "init-db"])
        assert (
            applied.exit_code == 0
            and f"applied {len(migrations.discover())} migration" in applied.stderr
        )
        again = runner.invoke(app, ["--dsn", empty, "init-db"])
        assert again.exit_code == 0 and "applied 0 migration" in again.stderr
    finally:
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.mark.db
def test_ingest_missing_path_is_usage_error(dsn: str) -> None:
    """A path that does not exist exits 2 and ingests nothing."""
    result = runner.invoke(app, ["--dsn", dsn, "ingest", "/no/such/dir"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: no such file or directory: /no/such/dir")


@pytest.mark.db
def test_unknown_tenant_exits_1_with_hint(dsn: str, tmp_path: Path) -> None:
    """--tenant naming no tenant says how to create it."""
    (tmp_path / "a.eml").write_bytes(mailgen.simple(1))
    result = runner.invoke(
        app, ["--dsn", dsn, "ingest", str(tmp_path), "--tenant", "acme"]
    )
    assert result.exit_code == 1
    assert "error: tenant 'acme' does not exist" in result.stderr
    assert "hint: create it with `pmail tenant add acme`" in result.stderr


def test_bad_flag_value_is_usage_error() -> None:
    """A bad --as value exits 2 with an error line."""
    result = runner.invoke(
        app, ["--dsn", "host=127.0.0.1 port=1", "ingest", "-", "--as", "zip"]
    )
    assert result.exit_code == 2
    assert "error: --as 'zip' is not one of the allowed values" in result.stderr
    assert "hint: --as takes: mbox, eml" in result.stderr


@pytest.mark.parametrize(
    ("args", "error", "hint"),
    [
        (
            ["ingest", "x.eml", "--jobs", "abc"],
            "error: Invalid value for '--jobs' / '-j': 'abc' is not a valid int range.",
            "hint: `pmail ingest --help` lists what it takes",
        ),
        (
            ["ingest", "x.eml", "--jobs", "-1"],
            "error: Invalid value for '--jobs' / '-j': -1 is not in the range 0<=x<=256.",
            "hint: `pmail ingest --help` lists what it takes",
        ),
        (
            ["ingest", "--no-such-flag"],
            "error: No such option: --no-such-flag",
            "hint: `pmail ingest --help` lists what it takes",
        ),
        (
            ["tenant", "add"],
            "error: Missing argument 'name'.",
            "hint: `pmail tenant add --help` lists what it takes",
        ),
        (
            ["no-such-command"],
            "error: No such command 'no-such-command'.",
            "hint: `pmail --help` lists what it takes",
        ),
        (
            ["report", "volume", "--format", "xml"],
            "error: Invalid value for '--format' / '-f': 'xml' is not one of 'table', "
            "'csv', 'json', 'markdown'.",
            "hint: --format takes: table, csv, json, markdown",
        ),
    ],
)
def test_parser_errors_are_one_error_hint_pair(
    args: list[str], error: str, hint: str
) -> None:
    """What the option parser refuses ends like pmail's own errors: exit 2, one
    `error:` line and one `hint:` line on stderr, no usage block, nothing on stdout."""
    done = subprocess.run(
        [str(Path(sys.executable).with_name("pmail")), *args],  # the installed command
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [error, hint]


def test_bare_command_groups_still_print_their_help() -> None:
    """`pmail` and `pmail tenant` alone print the help (on stderr, exit 2), unchanged."""
    for args in ([], ["tenant"]):
        done = subprocess.run(
            [str(Path(sys.executable).with_name("pmail")), *args],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 2
        assert done.stderr.startswith(f"Usage: {' '.join(['pmail', *args])} ")
        assert "error:" not in done.stderr


@pytest.mark.db
def test_ingest_stdin_mbox_export_show(dsn: str, tmp_path: Path) -> None:
    """An mbox on stdin is split, exported back as an mbox and as files, and shown."""
    messages = [mailgen.simple(i, eol=b"\n") for i in range(3)]
    mbox = b"".join(
        b"From ann@example.org Tue Mar  5 10:00:00 2024\n" + m + b"\n" for m in messages
    )
    assert runner.invoke(app, ["--dsn", dsn, "tenant", "add", "acme"]).exit_code == 0
    result = runner.invoke(
        app, ["--dsn", dsn, "ingest", "-", "--tenant", "acme"], input=mbox
    )
    assert result.exit_code == 0, result.output
    assert "ingested 3 messages, 0 duplicates skipped" in result.stderr
    assert result.stdout == ""
    out = tmp_path / "out"
    exported = runner.invoke(
        app, ["--dsn", dsn, "export", "--tenant", "acme", "--out", str(out)]
    )
    assert exported.exit_code == 0, exported.output
    hashes = {hashlib.sha256(p.read_bytes()).hexdigest() for p in out.iterdir()}
    assert hashes == {hashlib.sha256(m).hexdigest() for m in messages}
    box = tmp_path / "back.mbox"
    again = runner.invoke(
        app, ["--dsn", dsn, "export", "--tenant", "acme", "--mbox", str(box)]
    )
    assert again.exit_code == 0
    reingest = runner.invoke(
        app, ["--dsn", dsn, "ingest", str(box), "--tenant", "acme"]
    )
    assert "ingested 0 messages, 3 duplicates skipped" in reingest.stderr
    key = next(out.iterdir()).stem
    shown = runner.invoke(
        app, ["--dsn", dsn, "show", key[:12], "--tenant", "acme", "-f", "json"]
    )
    assert shown.exit_code == 0, shown.output
    record = json.loads(shown.stdout)
    assert record["storage_key"] == key and record["raw_form"] == "whole"
    missing = runner.invoke(
        app, ["--dsn", dsn, "show", "ffffffffffff", "--tenant", "acme"]
    )
    assert (
        missing.exit_code == 1
        and "error: no message with storage key" in missing.stderr
    )
    # the hint names the commands that list keys (it named `export --out DIR`)
    assert "hint: `pmail list` and `pmail search` show keys" in missing.stderr


@pytest.mark.db
def test_empty_and_tiny_mbox_inputs(dsn: str, tmp_path: Path) -> None:
    """0-byte and 3-byte inputs are reported as empty, not stored and not fatal."""
    (tmp_path / "zero.mbox").write_bytes(b"")
    (tmp_path / "three.mbox").write_bytes(b"\n\n\n")
    (tmp_path / "empty.eml").write_bytes(b"")
    result = runner.invoke(app, ["--dsn", dsn, "ingest", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "ingested 0 messages" in result.stderr and "3 empty inputs" in result.stderr


@pytest.mark.db
def test_single_message_with_from_line_stays_one(dsn: str, tmp_path: Path) -> None:
    """A file with one message and a leading From_ line is stored whole, byte-exact."""
    raw = b"From ann@example.org Tue Mar  5 10:00:00 2024\n" + mailgen.simple(
        1, eol=b"\n"
    )
    (tmp_path / "one.eml").write_bytes(raw)
    result = runner.invoke(app, ["--dsn", dsn, "ingest", str(tmp_path / "one.eml")])
    assert "ingested 1 message," in result.stderr
    out = tmp_path / "out"
    runner.invoke(app, ["--dsn", dsn, "export", "--out", str(out)])
    assert [p.read_bytes() for p in out.iterdir()] == [raw]


@pytest.mark.db
def test_mbox_export_counts_the_messages_it_cannot_carry_exactly(
    dsn: str, tmp_path: Path
) -> None:
    """A message whose last line has no newline, and one with a body line starting
    `From `, come out of `export --mbox` changed (a newline added, the line quoted):
    the summary counts both, where it counted only the quoted one and called the
    other byte-exact."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.eml").write_bytes(mailgen.simple(1, eol=b"\n").rstrip(b"\n"))
    (folder / "b.eml").write_bytes(mailgen.simple(2, eol=b"\n", body="From here on"))
    (folder / "c.eml").write_bytes(mailgen.simple(3, eol=b"\n"))
    assert runner.invoke(app, ["--dsn", dsn, "tenant", "add", "acme"]).exit_code == 0
    stored = runner.invoke(app, ["--dsn", dsn, "ingest", str(folder), "-t", "acme"])
    assert stored.exit_code == 0, stored.output
    box = tmp_path / "out.mbox"
    done = runner.invoke(
        app, ["--dsn", dsn, "export", "--tenant", "acme", "--mbox", str(box)]
    )
    assert done.exit_code == 0, done.output
    assert "2 changed by the mbox format" in done.stderr, done.stderr


def test_show_raw_and_headers_rebuild_from_storage(dsn: str, tmp_path: Path) -> None:
    """show --raw writes the exact bytes; --headers lists every header field in order."""
    deck = mailgen.pdf_bytes(5)
    raw = mailgen.with_attachment(1, deck)
    (tmp_path / "a.eml").write_bytes(raw)
    runner.invoke(app, ["--dsn", dsn, "ingest", str(tmp_path / "a.eml")])
    out = tmp_path / "out"
    runner.invoke(app, ["--dsn", dsn, "export", "--out", str(out)])
    key = next(out.iterdir()).stem
    shown = runner.invoke(app, ["--dsn", dsn, "show", key, "--raw"])
    assert shown.exit_code == 0 and shown.stdout_bytes == raw
    listed = runner.invoke(app, ["--dsn", dsn, "show", key, "--headers", "-f", "json"])
    names = [h[0] for h in json.loads(listed.stdout)["headers"]]
    assert names == [
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "MIME-Version",
        "Content-Type",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ingest", "/no/such/dir"], "error: no such file or directory: /no/such/dir"),
        (["export"], "error: give exactly one of --out DIR or --mbox FILE"),
    ],
)
def test_usage_errors_come_before_connecting(args: list[str], message: str) -> None:
    """A bad path or missing destination is a usage error even when the database is down."""
    result = runner.invoke(
        app, ["--dsn", "host=127.0.0.1 port=1 connect_timeout=1", *args]
    )
    assert result.exit_code == 2
    assert result.stderr.startswith(message)


@pytest.mark.parametrize(
    ("command", "undone"),
    [("ingest", "ingested"), ("enqueue", "enqueued"), ("classify", "classified")],
)
def test_missing_path_says_what_was_not_done(command: str, undone: str) -> None:
    """A missing input is one error naming it (and how many more) and one hint that
    says what did not happen, for every command that reads mail from paths."""
    result = runner.invoke(
        app,
        [
            "--dsn",
            "host=127.0.0.1 port=1 connect_timeout=1",
            command,
            "/no/such.eml",
            "/no/other.mbox",
        ],
        env={"PMAIL_QUEUE_URL": "redis://127.0.0.1:1/0"},
    )
    assert result.exit_code == 2
    assert result.stderr == (
        "error: no such file or directory: /no/such.eml (and 1 more)\n"
        f"hint: check the path; nothing was {undone}\n"
    )


@pytest.mark.db
@pytest.mark.parametrize(
    ("args", "command"),
    [
        (["export"], "pmail export"),
        (["show", " ", "-t", "acme"], "pmail show"),
        (
            [
                "report",
                "volume",
                "-t",
                "acme",
                "--since",
                "2026-12-05",
                "--until",
                "2026-12-01",
            ],
            None,
        ),
        (["account", "add", "not-an-address", "-t", "acme"], "pmail account add"),
    ],
)
def test_every_usage_error_has_a_hint(
    dsn: str, args: list[str], command: str | None
) -> None:
    """Exit 2 is always an error/hint pair: a usage error of pmail's own that brings
    no hint of its own gets the command's --help, as the parser's complaints do."""
    runner.invoke(app, ["--dsn", dsn, "tenant", "add", "acme"])
    result = runner.invoke(app, ["--dsn", dsn, *args], prog_name="pmail")
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: "), result.stderr
    command = command or f"pmail {args[0]} {args[1]}"
    assert lines[1] == f"hint: `{command} --help` lists what it takes"


@pytest.mark.db
def test_export_since_and_storage_key(dsn: str, tmp_path: Path) -> None:
    """--since keeps mail dated on or after the day; --storage-key picks messages;
    an unknown key is a usage error."""
    old = mailgen.simple(1).replace(b"05 Mar 2024", b"01 Jan 2023")
    new = [mailgen.simple(2), mailgen.simple(3)]
    for i, raw in enumerate([old, *new]):
        (tmp_path / f"{i}.eml").write_bytes(raw)
    assert runner.invoke(app, ["--dsn", dsn, "ingest", str(tmp_path)]).exit_code == 0
    since = tmp_path / "since"
    result = runner.invoke(
        app, ["--dsn", dsn, "export", "--out", str(since), "--since", "2024-03-05"]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.read_bytes() for p in since.iterdir()) == sorted(new)
    key = next(since.iterdir()).stem
    picked = tmp_path / "picked"
    result = runner.invoke(
        app, ["--dsn", dsn, "export", "--out", str(picked), "-k", key]
    )
    assert [p.name for p in picked.iterdir()] == [f"{key}.eml"]
    missing = runner.invoke(
        app, ["--dsn", dsn, "export", "--out", str(picked), "-k", "0" * 32]
    )
    assert missing.exit_code == 2
    assert missing.stderr.startswith(f"error: no message with storage key {'0' * 32}")


@pytest.mark.db
def test_ctrl_c_exits_130_with_one_error_pair(dsn: str, tmp_path: Path) -> None:
    """SIGINT while ingest waits for input: exit 130, the error/hint pair, nothing else."""
    env = {**os.environ, "PMAIL_DATA_DIR": str(tmp_path / "data")}
    pmail = str(Path(sys.executable).with_name("pmail"))  # the installed command
    with subprocess.Popen(
        [pmail, "--dsn", dsn, "-q", "ingest", "-"],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    ) as proc:
        assert proc.stdin is not None
        proc.stdin.write(mailgen.simple(1)[:40])  # part of a message; stdin stays open
        proc.stdin.flush()
        time.sleep(2.0)  # started, connected, reading stdin
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert err.decode() == (
        "error: interrupted; committed batches are kept\n"
        "hint: run the same command again to finish\n"
    )


@pytest.mark.db
def test_global_options_work_after_the_command(dsn: str) -> None:
    """`pmail init-db --dsn …` (the README's first command) and `-v`, `-q`,
    `--config`, `--dsn=…` after the command name work as before it."""
    result = runner.invoke(app, ["init-db", "--dsn", dsn, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "schema is unchanged" in result.stderr
    result = runner.invoke(
        app, ["tenant", "list", f"--dsn={dsn}", "-v", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("using DSN from --dsn: ")
    result = runner.invoke(app, ["tenant", "add", "late", "-q", "--dsn", dsn])
    assert result.exit_code == 0 and "tenant late" in result.stderr
    # after `--` nothing is moved: it is an argument
    from pmail_cli.cli import hoist_global_options

    assert hoist_global_options(["show", "--", "-v"]) == ["show", "--", "-v"]
    assert hoist_global_options(["ingest", "x", "--dsn", "d", "-v"]) == [
        "--dsn",
        "d",
        "-v",
        "ingest",
        "x",
    ]


@pytest.mark.db
def test_show_says_why_a_key_prefix_finds_nothing(dsn: str, tmp_path: Path) -> None:
    """Too short, unknown, ambiguous (with the candidates): three different answers;
    and reading never creates the default tenant."""
    import psycopg

    from tests import mailgen

    missing = "error: no --tenant given, and this database has no tenant 'default'"
    empty = "hint: this database holds no mail yet"
    for args in (
        ["show", "0000000000"],
        ["export", "--out", str(tmp_path / "o")],
        ["dict", "list"],
        ["search", "invoice"],
        ["list"],
    ):
        result = runner.invoke(app, ["--dsn", dsn, *args])
        assert result.exit_code == 1, args
        assert missing in result.stderr and empty in result.stderr, args
    result = runner.invoke(app, ["--dsn", dsn, "tenant", "list", "--format", "json"])
    assert result.stdout.strip() == "[]"  # nothing was created by the reads above

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "one.eml").write_bytes(mailgen.simple(1))
    assert runner.invoke(app, ["--dsn", dsn, "ingest", str(folder)]).exit_code == 0
    with psycopg.connect(dsn) as conn:  # two keys that share their first 10 characters
        conn.execute(
            "INSERT INTO email_messages (tenant_id, storage_key, direction, status) "
            "SELECT tenant_id, k, 'inbound', 'received' FROM tenants, "
            "unnest(ARRAY['abcdef0123' || repeat('1', 22), 'abcdef0123' || repeat('2', 22)]) k"
        )
    result = runner.invoke(app, ["--dsn", dsn, "show", "abc"])
    assert result.exit_code == 2 and "'abc' is too short" in result.stderr
    assert "at least 8 characters" in result.stderr
    result = runner.invoke(app, ["--dsn", dsn, "show", "abcdef0123"])
    assert result.exit_code == 2 and "matches more than one message" in result.stderr
    assert (
        "abcdef0123" + "1" * 22 in result.stderr
        and "abcdef0123" + "2" * 22 in result.stderr
    )
    result = runner.invoke(app, ["--dsn", dsn, "show", "0123456789"])
    assert (
        result.exit_code == 1
        and "no message with storage key '0123456789'" in result.stderr
    )


def test_help_shows_no_bool_type_beside_flags() -> None:
    """On/off flags read as flags in every command's help: no `<bool>` beside them,
    and help texts are printed as written (`[[account]]` survives)."""
    import typer as _typer

    root = _typer.main.get_command(app)
    paths: list[list[str]] = [[]]
    for name, command in getattr(root, "commands", {}).items():
        paths.append([name])
        paths += [[name, sub] for sub in getattr(command, "commands", {})]
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "<bool>" not in result.stdout, path
    shown = runner.invoke(app, ["import-imap", "--help"]).stdout
    assert "[[account]]" in shown


def test_the_pmail_program_loads_each_command_it_runs() -> None:
    """`pmail NAME` imports only NAME's module (typer builds every loaded command on
    each call): the map names every command, and each one runs from the real program
    with its module alone."""
    import subprocess
    import sys
    from pathlib import Path

    import typer as _typer

    from pmail_cli import cli

    names = set(getattr(_typer.main.get_command(app), "commands", {}))
    assert set(cli.COMMAND_MODULES) == names
    assert cli.modules_for(["pmail", "--dsn", "x", "list"]) == ("find",)
    assert cli.modules_for(["pmail", "--help"]) == cli.ALL_MODULES
    assert cli.modules_for(["pytest", "-k", "list"]) == cli.ALL_MODULES
    assert cli.command_of(["pmail", "-q", "search", "list"]) == "search"
    assert cli.command_of(["pmail", "lst"]) is None  # all registered: suggestions
    assert cli.command_of(["pytest", "search"]) is None
    program = Path(sys.executable).parent / "pmail"
    for name in sorted(names):
        done = subprocess.run(
            [str(program), name, "--help"], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, (name, done.stderr)
        assert f"Usage: pmail {name}" in done.stdout, name


def test_classify_explain_says_what_decided(tmp_path: Path) -> None:
    """--explain prints, per recipient, the reader, the rule and hard/soft; json too."""
    notice = tmp_path / "domino.eml"
    notice.write_bytes(
        b"From: Postmaster <postmaster@notes.example.com>\n"
        b"Subject: DELIVERY FAILURE: User lead not listed\n\n"
        b"Your message\n\n  Subject: Hello\n\nwas not delivered to:\n\n"
        b"  lead@notes.example.com\n\nbecause:\n\n"
        b"  User lead (lead@notes.example.com) not listed in Domino Directory\n"
    )
    dsn = tmp_path / "dsn.eml"
    dsn.write_bytes(
        mailgen.dsn(
            1, mailgen.outbound(1), status="5.2.2", code=552, text="mailbox full"
        )
    )
    result = runner.invoke(app, ["classify", str(notice), str(dsn), "--explain"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"{notice}: bounce"
    assert "Lotus Domino's layout" in lines[1]
    assert lines[2] == "  lead@notes.example.com: 5.1.1 userunknown hard"
    assert lines[3] == "    found by:  lotus-domino: Lotus Domino's recipient lines"
    assert lines[4].startswith(
        '    reason:    lotus-domino\'s phrase "not listed in domino directory"'
    )
    assert lines[5] == "    hard/soft: hard: userunknown says the address itself is bad"
    assert lines[6].startswith(
        '    evidence:  phrase: "not listed in domino directory"'
    )
    assert lines[7].strip().startswith("status: none given")
    assert lines[8].strip() == "SMTP step: not stated"
    assert lines[9].strip().startswith("remote server: none named")
    assert f"{dsn}: bounce" in lines
    assert any(
        line.strip().startswith(
            "status 5.2.2: class 5 (permanent), subject 5.2.x (mailbox)"
        )
        for line in lines
    )
    assert "    found by:  rfc3464: the message/delivery-status part" in lines
    assert "    hard/soft: soft: mailboxfull does not say the address is bad" in lines
    result = runner.invoke(app, ["classify", str(dsn), "--explain", "--format", "json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)[0]
    assert record["explain"].startswith("rfc3464: the message/delivery-status part")
    assert (
        record["recipients"][0]["explain"]["reason"]
        == 'phrase "mailbox full" (mailboxfull)'
    )
    result = runner.invoke(app, ["classify", str(notice), "--explain", "-f", "csv"])
    assert result.exit_code == 0, result.output
    header, row = result.stdout.splitlines()[:2]
    assert header.endswith("kind_rule,found_by,reason_rule,hard_rule,evidence")
    assert "lotus-domino: Lotus Domino's recipient lines" in row
    plain = json.loads(
        runner.invoke(app, ["classify", str(dsn), "--format", "json"]).stdout
    )
    assert "explain" not in plain[0] and "explain" not in plain[0]["recipients"][0]


@pytest.mark.db
def test_database_missing_a_newer_column_says_run_init_db(
    dsn: str, conn: psycopg.Connection[tuple[object, ...]]
) -> None:
    """New code on a database without a later migration's column (as when pmail was
    upgraded and `init-db` not run yet): an error whose hint is `pmail init-db`, never
    a traceback."""
    assert runner.invoke(app, ["--dsn", dsn, "tenant", "add", "acme"]).exit_code == 0
    conn.execute("ALTER TABLE tenants RENAME COLUMN search_language TO not_yet")
    conn.commit()
    for argv in (["search", "x", "-t", "acme"], ["list", "-t", "acme"]):
        result = runner.invoke(app, ["--dsn", dsn, *argv])
        assert result.exit_code == 1, (argv, result.output, result.exception)
        assert result.stderr.startswith("error: the database has no pmail schema")
        assert "hint: run `pmail init-db`" in result.stderr


@pytest.mark.db
def test_read_without_tenant_names_the_tenants_there_are(dsn: str) -> None:
    """Where there are tenants but none called 'default', a read command run without
    --tenant says so and names them; a named tenant that is missing says that."""
    missing = "error: no --tenant given, and this database has no tenant 'default'"
    for name in ("acme", "beta"):
        assert runner.invoke(app, ["--dsn", dsn, "tenant", "add", name]).exit_code == 0
    for args in (["search", "invoice"], ["list"], ["show", "0000000000"]):
        result = runner.invoke(app, ["--dsn", dsn, *args])
        assert result.exit_code == 1 and missing in result.stderr, args
        assert "hint: name one with --tenant NAME (this database has acme, beta)" in (
            result.stderr
        ), args
    result = runner.invoke(app, ["--dsn", dsn, "search", "invoice", "-t", "nope"])
    assert result.exit_code == 1 and "tenant 'nope' does not exist" in result.stderr


@pytest.mark.db
def test_a_value_too_large_for_postgresql_is_not_a_lost_connection(
    dsn: str, conn: psycopg.Connection[tuple[object, ...]], tmp_path: Path
) -> None:
    """PostgreSQL refusing a value (an index entry over its limit: SQLSTATE 54000,
    an OperationalError to psycopg) says so; it is no lost connection that a rerun
    would get past."""
    conn.execute("CREATE INDEX test_subject ON email_messages (subject)")
    conn.commit()
    subject = "".join(f"{n:x}" for n in range(2_000))  # does not compress away
    (tmp_path / "m.eml").write_bytes(mailgen.simple(1, subject=subject))
    assert runner.invoke(app, ["--dsn", dsn, "tenant", "add", "acme"]).exit_code == 0
    result = runner.invoke(app, ["--dsn", dsn, "ingest", str(tmp_path), "-t", "acme"])
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: PostgreSQL refused a value: index row"), lines
    assert lines[1].startswith("hint: rerunning will not get past it")
