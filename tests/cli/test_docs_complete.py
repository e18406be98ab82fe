"""docs/commands.md documents every option of every command, and the README links
every page of docs/ (a new option or page without its documentation fails here)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import typer
from typer.core import TyperGroup

from pmail_cli.cli import app
from tests.cli.test_docs_options import REPO

COMMANDS_MD = REPO / "docs" / "commands.md"
SECTION = re.compile(r"^## `pmail ([^`]+)`\n(.*?)(?=^## |\Z)", re.M | re.S)
# Sections that document shared options once, and the sections that lean on them:
# each report on `report volume`'s paragraph of what every report takes, `search`
# on `list`'s filters (one command under two names).
LEANS_ON = {"report": "report volume", "search": "list"}


def leaf_commands() -> Iterator[tuple[str, object]]:
    """(command path, command) for every command that runs (not a group)."""

    def walk(path: str, command: object) -> Iterator[tuple[str, object]]:
        if isinstance(command, TyperGroup):
            for name, sub in command.commands.items():
                yield from walk(f"{path} {name}".strip(), sub)
        else:
            yield path, command

    yield from walk("", typer.main.get_command(app))


def long_names(command: object) -> list[str]:
    """Every option of a command, by its longest name (hidden ones too: an old
    name kept for scripts is documented as such; help aside)."""
    names = []
    for param in getattr(command, "params", []):
        if param.param_type_name != "option":
            continue
        names.append(max(param.opts, key=len))
    return names


def sections() -> dict[str, str]:
    return dict(SECTION.findall(COMMANDS_MD.read_text(encoding="utf-8")))


def missing_options(documented: dict[str, str]) -> list[str]:
    """`command --option` for each option its section of commands.md never names."""
    missing = []
    for path, command in leaf_commands():
        text = documented.get(path, "")
        shared = LEANS_ON.get(path.split(" ")[0])
        if shared and path != shared:
            text += documented.get(shared, "")
        for option in long_names(command):
            if not re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text):
                missing.append(f"{path} {option}")
    return missing


def test_every_option_of_every_command_is_in_commands_md() -> None:
    """Each command's section of docs/commands.md names each of its options."""
    documented = sections()
    assert len(documented) > 30  # the parser found the sections
    commands = [path for path, _ in leaf_commands()]
    assert [c for c in commands if c not in documented] == []
    assert missing_options(documented) == []
    # the check itself can fail: a section that says nothing misses every option
    assert "ingest --direction" in missing_options({**documented, "ingest": ""})


def test_readme_links_every_page_of_docs() -> None:
    """The README's documentation list links each docs/*.md."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\((docs/[^)#]+\.md)", readme))
    pages = {f"docs/{p.name}" for p in (REPO / "docs").glob("*.md")}
    assert sorted(pages - linked) == []
