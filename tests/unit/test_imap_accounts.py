"""The accounts file, account selection, and where IMAP passwords come from."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmail_cli.errors import UsageError
from pmail_cli.services.imap_accounts import (
    AccountChoice,
    choose_accounts,
    load_accounts,
    resolve_password,
)
from pmail_cli.sources.imap_session import AccountConfig, temporary_refusal

GOOD = """
[[account]]
host = "imap.acme.test"
user = "sdr1@acme.test"
tenant = "acme"
folders = ["INBOX", "Sent"]
password_env = "SDR1_PASSWORD"

[[account]]
host = "imap.acme.test"
user = "sdr2@acme.test"
port = 1143
security = "starttls"
all_folders = true
"""


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "accounts.toml"
    path.write_text(text)
    return path


def test_good_file_is_read(tmp_path: Path) -> None:
    """Every key of an [[account]] table lands in its AccountConfig."""
    first, second = load_accounts(_file(tmp_path, GOOD))
    assert first == AccountConfig(
        host="imap.acme.test",
        user="sdr1@acme.test",
        tenant="acme",
        folders=("INBOX", "Sent"),
        password_env="SDR1_PASSWORD",
    )
    assert (second.port, second.security, second.all_folders) == (
        1143,
        "starttls",
        True,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("account = [1]", "#1 is not a table"),
        ('[[account]]\nhost = "h"\nuser = "u"\ncolour = "red"', "unknown keys: colour"),
        (
            '[[account]]\nhost = "h"\nuser = "u"\npassword = "x"',
            "passwords do not belong",
        ),
        (
            '[[account]]\nhost = "h"\nuser = "u"\nfolders = "INBOX"',
            "folders must be a list",
        ),
        ('[[account]]\nhost = "h"', "needs 'user'"),
        (
            '[[account]]\nhost = "h"\nuser = "u"\nsecurity = "ssl3"',
            "--security 'ssl3' is not one of the allowed values",
        ),
        ('[[account]]\nhost = "h"\nuser = "u"\nport = 70000', "out of range"),
        # a blank tenant was read as no tenant: the account's mail went to 'default'
        ('[[account]]\nhost = "h"\nuser = "u"\ntenant = ""', "#1: tenant is empty"),
        ('[[account]]\nhost = "h"\nuser = "u"\ntenant = " "', "#1: tenant is empty"),
        ('[[account]]\nhost = "h"\nuser = "u"\ntenant = 7', "#1: tenant is not text"),
        ("[[account]\n", "is not valid TOML"),
        ("# nothing\n", "lists no [[account]]"),
    ],
)
def test_bad_files_are_usage_errors(tmp_path: Path, text: str, message: str) -> None:
    """Each kind of mistake in the file is a usage error that says what is wrong."""
    with pytest.raises(UsageError, match=message.replace("[", r"\[")):
        load_accounts(_file(tmp_path, text))


def test_missing_file(tmp_path: Path) -> None:
    """A file that is not there is a usage error naming it."""
    with pytest.raises(UsageError, match="cannot read accounts file"):
        load_accounts(tmp_path / "nope.toml")


def test_choosing_accounts(tmp_path: Path) -> None:
    """--all takes every account, --user one of them; flags alone make one account."""
    path = _file(tmp_path, GOOD)
    assert (
        len(choose_accounts(AccountChoice(accounts_file=path, all_accounts=True))) == 2
    )
    picked = choose_accounts(AccountChoice(accounts_file=path, user="sdr2@acme.test"))
    assert [a.user for a in picked] == ["sdr2@acme.test"]
    with pytest.raises(UsageError, match="give --all or the --user"):
        choose_accounts(AccountChoice(accounts_file=path))
    with pytest.raises(UsageError, match="give --host and --user"):
        choose_accounts(AccountChoice(host="h"))
    (one,) = choose_accounts(AccountChoice(host="h", user="u", folders=("X",)))
    assert (one.host, one.user, one.folders, one.real_port) == ("h", "u", ("X",), 993)


def test_password_sources_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """password_cmd, then the account's variable, then PMAIL_IMAP_PASSWORD, then a prompt."""
    monkeypatch.setenv("PMAIL_IMAP_PASSWORD", "from-default-env")
    monkeypatch.setenv("SDR1_PASSWORD", "from-account-env")
    account = AccountConfig(host="h", user="u", password_env="SDR1_PASSWORD")
    assert resolve_password(account, prompt=None) == "from-account-env"
    with_cmd = AccountConfig(host="h", user="u", password_cmd="printf 'cmd secret\\n'")
    assert resolve_password(with_cmd, prompt=None) == "cmd secret"
    plain = AccountConfig(host="h", user="u")
    assert resolve_password(plain, prompt=None) == "from-default-env"
    monkeypatch.delenv("PMAIL_IMAP_PASSWORD")
    assert resolve_password(plain, prompt=lambda text: f"typed for {text}") == (
        "typed for IMAP password for u@h"
    )
    with pytest.raises(UsageError, match="no IMAP password for u@h"):
        resolve_password(plain, prompt=None)


def test_failing_password_command() -> None:
    """A password command that fails or does not exist is a usage error, not a crash."""
    failing = AccountConfig(host="h", user="u", password_cmd="sh -c 'exit 3'")
    with pytest.raises(UsageError, match="exited 3"):
        resolve_password(failing, prompt=None)
    missing = AccountConfig(host="h", user="u", password_cmd="/no/such/command")
    with pytest.raises(UsageError, match="password command for u failed"):
        resolve_password(missing, prompt=None)


@pytest.mark.parametrize(
    ("text", "temporary"),
    [
        ("[AUTHENTICATIONFAILED] Authentication failed.", False),  # Dovecot's words
        ("Invalid credentials", False),
        ("[UNAVAILABLE] Temporary authentication failure.", True),  # RFC 5530
        ("[inuse] Mailbox in use", True),
    ],
)
def test_only_a_temporary_login_refusal_is_retried(text: str, temporary: bool) -> None:
    """`--watch` retries a login the server refused for now (its authentication
    service down, RFC 5530 UNAVAILABLE or INUSE), never one refused for its
    credentials."""
    assert temporary_refusal(text) is temporary
