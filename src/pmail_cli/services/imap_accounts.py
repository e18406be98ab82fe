"""Read the accounts file of `pmail import-imap --accounts`."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pmail_cli.errors import UsageError
from pmail_cli.services.imap_conn import AccountConfig, validate

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
    unknown = set(entry) - _KEYS
    if unknown:
        raise UsageError(
            f"{path}: [[account]] #{index} has unknown keys: {', '.join(sorted(unknown))}"
        )
    if "password" in entry:
        raise UsageError(
            f"{path}: passwords do not belong in the file; use password_env or password_cmd"
        )
    folders = entry.get("folders", [])
    if not isinstance(folders, list) or not all(isinstance(f, str) for f in folders):
        raise UsageError(
            f"{path}: [[account]] #{index}: folders must be a list of names"
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
            tenant=entry.get("tenant"),
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
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read accounts file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"accounts file {path} is not valid TOML: {exc}") from None
    entries = data.get("account", [])
    if not isinstance(entries, list) or not entries:
        raise UsageError(f"{path} lists no [[account]]")
    return [_account(e, i, path) for i, e in enumerate(entries, start=1)]
