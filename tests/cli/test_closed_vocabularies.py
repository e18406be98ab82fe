"""A value outside a closed vocabulary is an error everywhere (exit 2, an error line
naming the value, a hint listing every allowed value), never a filter that matches
nothing; one mechanism (vocab.one_of, and the parser's choices) says it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pmail_cli import vocab
from pmail_cli.cli import app
from pmail_cli.services import audit
from tests.cli.test_docs_complete import leaf_commands

runner = CliRunner()
DEAD = "host=127.0.0.1 port=1 connect_timeout=1"  # refused before any connection

# (command line before the bad value, allowed values)
CLOSED: list[tuple[list[str], tuple[str, ...]]] = [
    *(
        ([cmd, opt], allowed)
        for cmd in ("list", "search")
        for opt, allowed in (
            ("--direction", vocab.DIRECTIONS),
            ("--type", vocab.MESSAGE_TYPES),
            ("--status", vocab.STATUSES),
            ("--class", vocab.BOUNCE_CLASSES),
            ("--reason", vocab.REASONS),
            ("--sort", vocab.SORT_KEYS),
        )
    ),
    (["ingest", "one.eml", "--direction"], vocab.INGEST_DIRECTIONS),
    (["ingest", "one.eml", "--as"], vocab.READ_FORMATS),
    (["classify", "one.eml", "--as"], vocab.READ_FORMATS),
    (["enqueue", "one.eml", "--direction"], vocab.INGEST_DIRECTIONS),
    (["enqueue", "one.eml", "--as"], vocab.READ_FORMATS),
    (["enqueue", "one.eml", "--format-in"], vocab.READ_FORMATS),
    (["enqueue", "one.eml", "--priority"], vocab.PRIORITIES),
    (["import-imap", "--host", "h", "--user", "u", "--security"], vocab.IMAP_SECURITY),
    (["report", "volume", "--tenant", "acme", "--by"], vocab.VOLUME_BY),
    (["report", "bounces", "--tenant", "acme", "--by"], vocab.BOUNCES_BY),
    (["audit", "--action"], audit.ACTIONS),
]
# The options whose values are a closed list, wherever a command has one: a new
# command with one of these must be in CLOSED (or be a parser choice).
VOCABULARY_OPTIONS = {
    "--direction",
    "--type",
    "--status",
    "--class",
    "--reason",
    "--sort",
    "--as",
    "--format-in",
    "--priority",
    "--security",
    "--by",
    "--action",
    "--search",
    "--sql-bodies",
}
NEED_A_TENANT = {"tenant set --search", "tenant set --sql-bodies"}  # tests/db
# free text: who, and why
OPEN = {"hold add --by", "hold release --by", "hold add --reason"}


def _refused(args: list[str], bad: str = "nonsense") -> tuple[int, str]:
    result = runner.invoke(app, ["--dsn", DEAD, *args, bad])
    return result.exit_code, result.stderr


@pytest.mark.parametrize(
    ("args", "allowed"), CLOSED, ids=[" ".join(a[:1] + a[-1:]) for a, _ in CLOSED]
)
def test_a_value_outside_the_vocabulary_is_refused(
    args: list[str],
    allowed: tuple[str, ...],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Exit 2 before anything connects; the hint lists every allowed value."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "one.eml").write_bytes(b"Subject: x\n\nx\n")
    code, err = _refused(args)
    option = "--as" if args[-1] == "--format-in" else args[-1]  # its old name
    assert code == 2, err
    assert f"error: {option} 'nonsense' is not one of the allowed values" in err
    assert f"hint: {option} takes: {', '.join(allowed)}" in err
    assert "Traceback" not in err and "cannot connect" not in err


@pytest.mark.parametrize(
    ("field", "allowed"),
    [
        ("type", vocab.MESSAGE_TYPES),
        ("direction", vocab.DIRECTIONS),
        ("status", vocab.STATUSES),
        ("class", vocab.BOUNCE_CLASSES),
        ("reason", vocab.REASONS),
        ("has", ("attachment",)),
    ],
)
def test_a_query_field_outside_its_vocabulary_is_refused(
    field: str, allowed: tuple[str, ...]
) -> None:
    """`pmail search 'type:nonsense'` is refused as `--type nonsense` is."""
    code, err = _refused(["search"], f"pricing {field}:nonsense")
    assert code == 2, err
    assert f"error: {field}: 'nonsense' is not one of the allowed values" in err
    assert f"hint: {field}: takes: {', '.join(allowed)}" in err


def test_spelling_variants_are_the_same_value() -> None:
    """Case and `-`/`_` do not matter; the vocabulary's spelling comes back."""
    assert vocab.one_of("--type", " Auto-Reply ", vocab.MESSAGE_TYPES) == "auto_reply"
    assert vocab.one_of("--by", "remote_mta", vocab.BOUNCES_BY) == "remote-mta"
    assert audit.check_action("hold") == "hold"
    assert audit.check_action("hold  release") == "hold release"


def test_every_parser_choice_lists_its_values_in_the_hint() -> None:
    """Every option with a fixed set of choices (--format everywhere) answers a
    bad value with a hint that lists them, in every command that has one."""
    seen = 0
    for path, command in leaf_commands():
        for param in getattr(command, "params", []):
            choices = getattr(param.type, "choices", None)
            if param.param_type_name != "option" or not choices:
                continue
            option = max(param.opts, key=len)
            code, err = _refused([*path.split(), option])
            assert code == 2, (path, option, err)
            assert f"hint: {option} takes: {', '.join(map(str, choices))}" in err
            seen += 1
    assert seen > 20


def test_every_vocabulary_option_is_checked() -> None:
    """Each option named like a closed vocabulary, in any command, is in CLOSED
    (or is a parser choice, or needs a tenant and is tested in tests/db)."""
    leaves = dict(leaf_commands())
    covered = set()
    for args, _ in CLOSED:
        path = max(
            (" ".join(args[:n]) for n in range(1, 3) if " ".join(args[:n]) in leaves),
            key=len,
        )
        covered.add(f"{path} {args[-1]}")
    missing = []
    for path, command in leaves.items():
        for param in getattr(command, "params", []):
            if param.param_type_name != "option":
                continue
            option = max(param.opts, key=len)
            if (
                option not in VOCABULARY_OPTIONS
                or getattr(param.type, "choices", None)
                or getattr(param, "is_flag", False)
            ):
                continue
            name = f"{path} {option}"
            if name not in covered | NEED_A_TENANT | OPEN:
                missing.append(name)
    assert missing == []
    assert "list --type" in covered and "report bounces --by" in covered


@pytest.mark.db
@pytest.mark.parametrize("option", ["--search", "--sql-bodies"])
def test_tenant_switches_refuse_anything_but_on_and_off(dsn: str, option: str) -> None:
    """`tenant set NAME --search maybe` is refused with the two values listed."""
    assert runner.invoke(app, ["--dsn", dsn, "tenant", "add", "acme"]).exit_code == 0
    result = runner.invoke(
        app, ["--dsn", dsn, "tenant", "set", "acme", option, "maybe"]
    )
    assert result.exit_code == 2
    assert f"error: {option} 'maybe' is not one of the allowed values" in result.stderr
    assert f"hint: {option} takes: on, off" in result.stderr
