"""Settings and the one function that decides where the database comes from."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import platformdirs

from pmail_cli.errors import UsageError

EMBEDDED_SOURCE = "embedded PostgreSQL"


@dataclass(frozen=True, slots=True)
class QueueSettings:
    """The queue (docs/queue.md): `[queue]` in the config file."""

    prefix: str = "pmail"  # Redis keys: <prefix>:jobs:<priority>, <prefix>:dead, ...
    spool_dir: Path | None = (
        None  # messages over max_job_bytes (default: data_dir/spool)
    )
    max_job_bytes: int = 10 * 1024 * 1024  # larger raw messages go through the spool
    max_queue_bytes: int = (
        512 * 1024 * 1024
    )  # enqueue waits while the streams hold more
    linger_ms: int = 50  # an idle worker commits a partial batch after this long
    max_deliveries: int = 5  # then the job goes to the dead letters
    claim_after: float = 60.0  # seconds before another worker takes a silent one's jobs
    # the largest message the queue takes (spooled ones included); larger is refused
    max_message_bytes: int = 100 * 1024 * 1024
    accounts: Path | None = None  # the worker's IMAP accounts file (jobs name accounts)
    password: str | None = field(default=None, repr=False)  # Redis AUTH password
    tls_ca_file: Path | None = None  # CA certificates for a rediss:// queue


QUEUE_INTS = (
    "max_job_bytes",
    "max_queue_bytes",
    "linger_ms",
    "max_deliveries",
    "max_message_bytes",
)
QUEUE_PATHS = ("spool_dir", "accounts", "tls_ca_file")


@dataclass(frozen=True, slots=True)
class Settings:
    """Resolved settings for one run of pmail."""

    dsn: str | None
    dsn_source: str
    config_path: Path | None = None
    verbose: bool = False
    quiet: bool = False
    debug: bool = False
    data_dir: Path | None = None
    oltp_dsn: str | None = None  # the operational database names come from
    oltp_tables: Mapping[str, str] = field(default_factory=dict)  # [oltp] of the file
    queue_url: str | None = None  # redis://...; PMAIL_QUEUE_URL > queue_url in the file
    queue: QueueSettings = field(default_factory=QueueSettings)

    def with_flags(self, *, verbose: bool, quiet: bool, debug: bool) -> Settings:
        """Return a copy carrying the global output flags."""
        return replace(self, verbose=verbose, quiet=quiet, debug=debug)


def default_config_path(env: Mapping[str, str]) -> Path:
    """Return PMAIL_CONFIG or the per-user config file location."""
    if env.get("PMAIL_CONFIG"):
        return Path(env["PMAIL_CONFIG"])
    return Path(platformdirs.user_config_dir("pmail")) / "config.toml"


def default_data_dir(env: Mapping[str, str]) -> Path:
    """Return where the embedded PostgreSQL keeps its data."""
    if env.get("PMAIL_DATA_DIR"):
        return Path(env["PMAIL_DATA_DIR"])
    return Path(platformdirs.user_data_dir("pmail"))


def _read_toml(path: Path) -> dict[str, object]:
    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(
            f"cannot read config file {path}: {exc}",
            hint="fix the file or point --config / PMAIL_CONFIG elsewhere",
        ) from None


def resolve_settings(
    *, dsn_flag: str | None, env: Mapping[str, str], config_path: Path
) -> Settings:
    """Apply --dsn > PMAIL_DSN > config file > embedded, remembering the source."""
    file = _read_toml(config_path)
    file_dsn = file.get("dsn")
    data_dir = file.get("data_dir")
    oltp = file.get("oltp", {})
    if not isinstance(oltp, dict) or not all(isinstance(v, str) for v in oltp.values()):
        raise UsageError(
            f"{config_path}: [oltp] must map names to strings",
            hint="see docs/config.md",
        )
    file_oltp = file.get("oltp_dsn")
    file_queue = file.get("queue_url")
    base = Settings(
        dsn=None,
        dsn_source=EMBEDDED_SOURCE,
        config_path=config_path,
        data_dir=Path(str(data_dir)) if data_dir else default_data_dir(env),
        oltp_dsn=env.get("PMAIL_OLTP_DSN")
        or (file_oltp if isinstance(file_oltp, str) else None),
        oltp_tables={str(k): str(v) for k, v in oltp.items()},
        queue_url=env.get("PMAIL_QUEUE_URL")
        or (file_queue if isinstance(file_queue, str) else None),
        queue=_queue_settings(file.get("queue", {}), config_path),
    )
    if env.get("PMAIL_QUEUE_PASSWORD"):  # the environment wins over the file
        base = replace(
            base, queue=replace(base.queue, password=env["PMAIL_QUEUE_PASSWORD"])
        )
    for dsn, source in (
        (dsn_flag, "--dsn"),
        (env.get("PMAIL_DSN"), "PMAIL_DSN"),
        (file_dsn if isinstance(file_dsn, str) else None, str(config_path)),
    ):
        if dsn:
            return replace(base, dsn=dsn, dsn_source=source)
    return base


def _queue_settings(table: object, config_path: Path) -> QueueSettings:
    """The [queue] table of the config file, checked."""
    if not isinstance(table, dict):
        raise UsageError(
            f"{config_path}: [queue] must be a table", hint="see docs/config.md"
        )
    known = set(QueueSettings.__dataclass_fields__)
    unknown = sorted(set(table) - known)
    if unknown:
        raise UsageError(
            f"{config_path}: unknown [queue] key {unknown[0]!r}",
            hint="keys: " + ", ".join(sorted(known)),
        )
    values: dict[str, object] = {}
    for key, value in table.items():
        ok = (
            isinstance(value, int) and not isinstance(value, bool) and value > 0
            if key in QUEUE_INTS
            else isinstance(value, int | float) and value > 0
            if key == "claim_after"
            else isinstance(value, str) and value != ""
        )
        if not ok:
            raise UsageError(
                f"{config_path}: [queue] {key} = {value!r} is not valid",
                hint="see docs/queue.md for each key's type",
            )
        values[key] = Path(value) if key in QUEUE_PATHS else value
    queue = QueueSettings(**values)  # type: ignore[arg-type]
    if queue.max_job_bytes > queue.max_message_bytes:
        raise UsageError(
            f"{config_path}: [queue] max_job_bytes is over max_message_bytes",
            hint="max_message_bytes bounds every message, spooled or not",
        )
    return queue


def settings_from_environment(dsn_flag: str | None, config: Path | None) -> Settings:
    """Resolve settings from the real process environment."""
    env = dict(os.environ)
    path = config if config is not None else default_config_path(env)
    return resolve_settings(dsn_flag=dsn_flag, env=env, config_path=path)


def redact_dsn(dsn: str) -> str:
    """Return the DSN without its password, safe to print or log."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo  # only when shown

    try:
        params = conninfo_to_dict(dsn)
    except Exception:  # an unparsable DSN is shown as a placeholder, never raw
        return "<unparsable DSN>"
    params.pop("password", None)
    return make_conninfo("", **{k: v for k, v in params.items() if v is not None})
