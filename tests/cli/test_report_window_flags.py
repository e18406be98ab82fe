"""The reports' choice of tenants: neither --tenant nor --all-tenants, or both, is
one error/hint pair (exit 2) that says which, and what to give instead."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pmail_cli.cli import app

runner = CliRunner()


@pytest.mark.db
@pytest.mark.parametrize(
    ("flags", "error", "hint"),
    [
        (
            [],
            "error: give --tenant NAME or --all-tenants",
            "hint: a report covers one tenant or all of them; mail stored without "
            "--tenant is in 'default' (--tenant default)",
        ),
        (
            ["--tenant", "default", "--all-tenants"],
            "error: --tenant and --all-tenants do not go together",
            "hint: give one: --tenant NAME for one tenant, --all-tenants for all",
        ),
    ],
    ids=["neither", "both"],
)
def test_tenant_or_all_tenants(
    dsn: str, flags: list[str], error: str, hint: str
) -> None:
    """Both given was told 'give --tenant NAME or --all-tenants', as if neither was."""
    for report in ("volume", "status", "bounces"):
        result = runner.invoke(app, ["--dsn", dsn, "report", report, *flags])
        assert result.exit_code == 2, result.output
        assert result.stderr.splitlines() == [error, hint], report
        assert result.stdout == ""
