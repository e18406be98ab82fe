"""Every `pmail …` line in the README and docs/ names commands that exist and only
options those commands accept (global options included, before or after the command)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import typer

from pmail_cli.cli import app

REPO = Path(__file__).resolve().parents[2]
DOCS = [
    REPO / "README.md",
    *sorted((REPO / "docs").glob("*.md")),
    REPO / "benchmarks" / "README.md",
]
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```", re.M | re.S)
NOT_SHELL = {
    "conf",
    "toml",
    "ini",
    "text",
    "sql",
    "python",
}  # config files, not commands


def _examples() -> list[tuple[str, str]]:
    """(file, line) for each pmail command line in a code block."""
    found = []
    for path in DOCS:
        for info, block in FENCE.findall(path.read_text(encoding="utf-8")):
            if info.strip() in NOT_SHELL:
                continue
            for line in block.replace("\\\n", " ").splitlines():
                text = line.strip().removeprefix("$ ")
                text = re.sub(r"^(?:\w+=\S*\s+)+", "", text)  # VAR=value pmail …
                text = text.replace(".venv/bin/pmail", "pmail")
                for part in re.split(r"&&|;|\|", text):
                    part = part.strip()
                    if part.startswith("pmail "):
                        found.append((path.name, part))
    return found


def _tokens(line: str) -> list[str]:
    line = line.split(" #", 1)[0]  # a trailing comment
    line = re.sub(r"<[^>]*>", "X", line)  # <uuid>, <key from the list>
    try:
        return shlex.split(line)[1:]
    except ValueError:
        return line.split()[1:]


def test_every_documented_command_and_option_exists() -> None:
    examples = _examples()
    assert len(examples) > 60  # the docs are full of examples: the parser found them
    assert _problems(examples) == []
    # the check itself can fail
    assert _problems([("x.md", "pmail ingest --no-such-flag a")]) != []
    assert _problems([("x.md", "pmail no-such-command")]) != []


def _problems(examples: list[tuple[str, str]]) -> list[str]:
    root = typer.main.get_command(app)
    global_opts = {o for p in root.params for o in p.opts + p.secondary_opts}
    problems = []
    for name, line in examples:
        tokens = _tokens(line)
        command = root
        path = []
        while tokens and tokens[0] in getattr(command, "commands", {}):
            path.append(tokens[0])
            command = command.commands[tokens.pop(0)]  # type: ignore[attr-defined]
        if (
            getattr(command, "commands", None)
            and tokens
            and not tokens[0].startswith("-")
        ):
            problems.append(f"{name}: unknown command in {line!r}")
            continue
        accepted = (
            global_opts
            | {o for p in command.params for o in p.opts + p.secondary_opts}
            | {"--help", "-h"}
        )
        for token in tokens:
            if token.startswith("--") and token != "--":
                option = token.split("=", 1)[0]
                if option not in accepted:
                    problems.append(
                        f"{name}: `pmail {' '.join(path)}` has no {option}: {line!r}"
                    )
    return problems
