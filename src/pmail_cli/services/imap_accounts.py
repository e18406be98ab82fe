"""Which IMAP accounts to import, and their passwords (never from a flag)."""

from __future__ import annotations

import os
import shlex
import subprocess
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pmail_cli.config import check_trusted_file, read_settings_file
from pmail_cli.errors import UsageError
from pmail_cli.sources.imap_session import PASSWORD_ENV, AccountConfig, validate

_KEYS = {
    "host",
    "port",
    "user",
    "security",
    "insecure",
    "password_env",
    "password_cmd",
    "tenant",
    "folders",
    "all_folders",
}


def _account(entry: object, index: int, path: Path) -> AccountConfig:
    if not isinstance(entry, dict):
        raise UsageError(f"{path}: [[account]] #{index} is not a table")
    if "password" in entry:
        raise UsageError(
            f"{path}: passwords do not belong in the file; use password_env or password_cmd"
        )
    unknown = set(entry) - _KEYS
    if unknown:
        raise UsageError(
            f"{path}: [[account]] #{index} has unknown keys: {', '.join(sorted(unknown))}"
        )
    folders = entry.get("folders", [])
    if not isinstance(folders, list) or not all(isinstance(f, str) for f in folders):
        raise UsageError(
            f"{path}: [[account]] #{index}: folders must be a list of names"
        )
    tenant = entry.get("tenant")
    if tenant is not None and (not isinstance(tenant, str) or not tenant.strip()):
        what = "is empty" if isinstance(tenant, str) else "is not text"
        raise UsageError(
            f"{path}: [[account]] #{index}: tenant {what}: a tenant name has 1 to "
            "200 characters, not only spaces",
            hint="give the tenant's name, or leave tenant out for the tenant 'default'",
        )
    try:
        account = AccountConfig(
            host=str(entry["host"]),
            user=str(entry["user"]),
            port=int(entry["port"]) if "port" in entry else None,
            security=str(entry.get("security", "tls")),
            insecure=bool(entry.get("insecure", False)),
            password_env=entry.get("password_env"),
            password_cmd=entry.get("password_cmd"),
            tenant=tenant,
            folders=tuple(folders),
            all_folders=bool(entry.get("all_folders", False)),
        )
    except KeyError as exc:
        raise UsageError(
            f"{path}: [[account]] #{index} needs {exc.args[0]!r}"
        ) from None
    validate(account)
    return account


def load_accounts(path: Path) -> list[AccountConfig]:
    """Parse [[account]] tables; passwords are refused (they come from env or a command)."""
    try:
        text, info = read_settings_file(path, "accounts file")
        data = tomllib.loads(text.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise UsageError(f"accounts file {path} is not UTF-8: {exc}") from None
    except OSError as exc:
        raise UsageError(f"cannot read accounts file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"accounts file {path} is not valid TOML: {exc}") from None
    # its password_cmd is run as the user running pmail
    check_trusted_file(path, info, "accounts file", secrets=[])
    entries = data.get("account", [])
    if not isinstance(entries, list) or not entries:
        raise UsageError(f"{path} lists no [[account]]")
    return [_account(e, i, path) for i, e in enumerate(entries, start=1)]


@dataclass(frozen=True, slots=True)
class AccountChoice:
    """What the command line said about which accounts to import."""

    host: str | None = None
    user: str | None = None
    port: int | None = None
    security: str = "tls"
    insecure: bool = False
    folders: tuple[str, ...] = ()
    all_folders: bool = False
    tenant: str | None = None
    accounts_file: Path | None = None
    all_accounts: bool = False


def choose_accounts(choice: AccountChoice) -> list[AccountConfig]:
    """The accounts to import: one from flags, or some or all of an accounts file."""
    if choice.accounts_file is not None:
        listed = load_accounts(choice.accounts_file)
        if choice.all_accounts:
            return listed
        chosen = [
            a for a in listed if choice.user is not None and a.user == choice.user
        ]
        if not chosen:
            raise UsageError("with --accounts, give --all or the --user of one account")
        return chosen
    if not choice.host or not choice.user:
        raise UsageError(
            "give --host and --user, or --accounts FILE",
            hint="see `pmail import-imap --help`",
        )
    account = AccountConfig(
        host=choice.host,
        user=choice.user,
        port=choice.port,
        security=choice.security,
        insecure=choice.insecure,
        tenant=choice.tenant,
        folders=choice.folders,
        all_folders=choice.all_folders,
    )
    validate(account)
    return [account]


def resolve_password(
    account: AccountConfig, *, prompt: Callable[[str], str] | None
) -> str:
    """Password from the account's command, its variable, PMAIL_IMAP_PASSWORD or a prompt."""
    if account.password_cmd:
        return _run_password_cmd(account)
    for name in (account.password_env, PASSWORD_ENV):
        if name and os.environ.get(name):
            return os.environ[name]
    if prompt is not None:
        return prompt(f"IMAP password for {account.user}@{account.host}")
    raise UsageError(
        f"no IMAP password for {account.user}@{account.host}",
        hint=f"set {account.password_env or PASSWORD_ENV}, or password_cmd in the accounts file",
    )


def _run_password_cmd(account: AccountConfig) -> str:
    assert account.password_cmd is not None
    try:
        done = subprocess.run(
            shlex.split(account.password_cmd),
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UsageError(f"password command for {account.user} failed: {exc}") from None
    if done.returncode != 0:
        raise UsageError(
            f"password command for {account.user} exited {done.returncode}",
            hint="run it by hand to see why",
        )
    return done.stdout.rstrip("\n")
