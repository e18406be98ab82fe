"""The import arrows of docs/architecture.md, read from the source (every import,
including those inside functions and under TYPE_CHECKING)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import pmail_cli

PACKAGE = Path(pmail_cli.__file__).parent


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def _offenders(layer: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in (PACKAGE / layer).glob("*.py")
        for name in _imports(path)
        if name.startswith(forbidden)
    )


def test_cli_never_imports_the_repository() -> None:
    assert _offenders("cli", ("pmail_cli.repository",)) == []


@pytest.mark.parametrize("layer", ["mail", "classify", "sources", "repository"])
def test_lower_layers_never_import_services_or_cli(layer: str) -> None:
    assert _offenders(layer, ("pmail_cli.services", "pmail_cli.cli")) == []


@pytest.mark.parametrize("layer", ["mail", "classify"])
def test_mail_and_classify_never_import_sources(layer: str) -> None:
    assert _offenders(layer, ("pmail_cli.sources",)) == []
