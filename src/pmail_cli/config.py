"""Settings and the one function that decides where the database comes from."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import platformdirs

from pmail_cli.errors import UsageError
from pmail_cli.queue_job import MAX_KEYS, MIN_KEY_BYTES

EMBEDDED_SOURCE = "embedded PostgreSQL"
# the largest message pmail reads and stores (docs/config.md): larger is refused
MAX_MESSAGE_BYTES = 100 * 1024 * 1024
MAX_JOB_BYTES = 10 * 1024 * 1024  # the queue's default max_job_bytes


@dataclass(frozen=True, slots=True)
class QueueSettings:
    """The queue (docs/queue.md): `[queue]` in the config file."""

    prefix: str = "pmail"  # Redis keys: <prefix>:jobs:<priority>, <prefix>:dead, ...
    spool_dir: Path | None = (
        None  # messages over max_job_bytes (default: data_dir/spool)
    )
    max_job_bytes: int = MAX_JOB_BYTES  # larger raw messages go through the spool
    max_queue_bytes: int = (
        512 * 1024 * 1024
    )  # enqueue waits while the streams hold more
    linger_ms: int = 50  # an idle worker commits a partial batch after this long
    max_deliveries: int = 5  # then the job goes to the dead letters
    claim_after: float = 60.0  # seconds before another worker takes a silent one's jobs
    # the largest message the queue takes (spooled ones included); larger is refused
    # (default: the top-level max_message_bytes)
    max_message_bytes: int = MAX_MESSAGE_BYTES
    accounts: Path | None = None  # the worker's IMAP accounts file (jobs name accounts)
    password: str | None = field(default=None, repr=False)  # Redis AUTH password
    tls_ca_file: Path | None = None  # CA certificates for a rediss:// queue
    # [queue.job_keys]: tenant name -> its keys (hex): the first signs, any verifies
    job_keys: Mapping[str, tuple[bytes, ...]] = field(default_factory=dict, repr=False)
    require_signed: bool = False  # the worker takes only jobs signed with a key


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
    # PMAIL_MAX_MESSAGE_BYTES > max_message_bytes in the file > MAX_MESSAGE_BYTES
    max_message_bytes: int = MAX_MESSAGE_BYTES

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


def _read_toml(path: Path, *, named: bool = False) -> dict[str, object]:
    if not path.exists():
        if named:  # `--config` names a file: a typo must not run on the defaults
            raise UsageError(
                f"config file {path} does not exist",
                hint="check the path given to --config (--config /dev/null means no "
                "settings)",
            )
        return {}
    import tomllib  # only when there is a config file

    try:
        text, info = read_settings_file(path, "config file")
        data = tomllib.loads(text.decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(
            f"cannot read config file {path}: {exc}",
            hint="fix the file or point --config / PMAIL_CONFIG elsewhere",
        ) from None
    if data:  # an empty file (or /dev/null) sets nothing there is to trust
        check_trusted_file(path, info, "config file", secrets=_secrets(data))
    return data


MAX_SETTINGS_FILE = 1 << 20  # a config or accounts file is a few kilobytes


def read_settings_file(path: Path, what: str) -> tuple[bytes, os.stat_result]:
    """The bytes of a config or accounts file and what it is: a regular file of at
    most 1 MiB (`--config /dev/zero` read without end; a FIFO hung), opened without
    waiting and checked on the descriptor it was opened as."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if stat.S_ISCHR(info.st_mode) and os.path.samefile(path, os.devnull):
            return b"", info  # --config /dev/null: no settings at all
        if not stat.S_ISREG(info.st_mode):
            raise UsageError(
                f"{what} {path} is not a regular file",
                hint="point it at a TOML file (docs/config.md)",
            )
        if info.st_size > MAX_SETTINGS_FILE:
            raise UsageError(
                f"{what} {path} holds {info.st_size:,} bytes, over "
                f"{MAX_SETTINGS_FILE:,}",
                hint="point it at a TOML file (docs/config.md)",
            )
        os.set_blocking(fd, True)
        return handle.read(MAX_SETTINGS_FILE + 1)[:MAX_SETTINGS_FILE], info


def _secrets(file: Mapping[str, object]) -> list[str]:
    """What in a config file is a secret: the Redis password, job keys, and
    passwords inside its DSNs and queue URL."""
    found = []
    queue = file.get("queue")
    if isinstance(queue, dict):
        found += [f"[queue] {k}" for k in ("password", "job_keys") if queue.get(k)]
    for key in ("dsn", "oltp_dsn", "queue_url"):
        value = file.get(key)
        if isinstance(value, str) and _DSN_PASSWORD.search(value):
            found.append(f"a password in {key}")
    return found


# `password=` of a key/value DSN, or `user:password@` of a URL
_DSN_PASSWORD = re.compile(r"(?:^|\s)password\s*=|^[a-z][a-z0-9+.-]*://[^/@]*:[^/@]*@")


def check_trusted_file(
    path: Path, info: os.stat_result, what: str, *, secrets: list[str]
) -> None:
    """Refuse a file that decides what pmail connects to or runs unless it is safe
    from other users, as ssh does: owned by the user running pmail or by root, and
    writable by no one else. One holding secrets must also be unreadable by others
    (readable by its group only when root owns it, as PostgreSQL allows its key
    files): docs/security.md, "Files pmail trusts"."""
    if not hasattr(os, "geteuid"):
        return  # no POSIX owners and modes to check
    me, mode = os.geteuid(), stat.S_IMODE(info.st_mode)
    problem = ""
    if info.st_uid not in (me, 0):
        problem = f"is owned by uid {info.st_uid}, not by you (uid {me}) or root"
    elif mode & 0o022:
        problem = f"is writable by {'others' if mode & 0o002 else 'its group'}"
    elif secrets and (mode & 0o004 or (mode & 0o040 and info.st_uid != 0)):
        problem = (
            f"holds secrets ({', '.join(secrets)}) and is readable by "
            f"{'others' if mode & 0o004 else 'its group'}"
        )
    if not problem:
        return
    raise UsageError(
        f"{what} {path} {problem} (mode {mode:04o}): whoever can change or read it "
        "could take over what pmail connects to, runs or signs",
        hint=f"chmod 600 {path} and own it (chown) as the user that runs pmail; "
        "root may own it with mode 640 to share it with a group",
    )


def resolve_settings(
    *,
    dsn_flag: str | None,
    env: Mapping[str, str],
    config_path: Path,
    named: bool = False,
) -> Settings:
    """Apply --dsn > PMAIL_DSN > config file > embedded, remembering the source.

    `named` is true when `--config` gave the path: then it must exist. The path from
    PMAIL_CONFIG or the per-user default may be missing (no settings)."""
    file = _read_toml(config_path, named=named)
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
    max_bytes = _max_message_bytes(env, file, config_path)
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
        queue=_queue_settings(file.get("queue", {}), config_path, max_bytes),
        max_message_bytes=max_bytes,
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


def _max_message_bytes(
    env: Mapping[str, str], file: Mapping[str, object], config_path: Path
) -> int:
    """The maximum message size: PMAIL_MAX_MESSAGE_BYTES, else the file's
    `max_message_bytes`, else MAX_MESSAGE_BYTES; a whole number of bytes above 0."""
    value: object = file.get("max_message_bytes", MAX_MESSAGE_BYTES)
    where = f"{config_path}: max_message_bytes"
    if env.get("PMAIL_MAX_MESSAGE_BYTES"):
        value, where = env["PMAIL_MAX_MESSAGE_BYTES"].strip(), "PMAIL_MAX_MESSAGE_BYTES"
        value = int(value) if value.isdigit() and value.isascii() else value
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise UsageError(
            f"{where} = {value!r} is not a number of bytes above 0",
            hint="give a whole number of bytes, e.g. 104857600 for 100 MiB",
        )
    return value


def _queue_settings(
    table: object, config_path: Path, max_message_bytes: int = MAX_MESSAGE_BYTES
) -> QueueSettings:
    """The [queue] table of the config file, checked; its max_message_bytes is the
    top-level one unless the table sets its own."""
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
        if key == "job_keys":
            values[key] = _job_keys(value, config_path)
            continue
        if key == "require_signed":
            if not isinstance(value, bool):
                raise UsageError(
                    f"{config_path}: [queue] require_signed = {value!r} is not "
                    "true or false",
                    hint="see docs/queue.md, Signed jobs",
                )
            values[key] = value
            continue
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
    if "max_message_bytes" not in values:
        values["max_message_bytes"] = max_message_bytes
        if "max_job_bytes" not in values:  # a small top-level limit: spool less
            values["max_job_bytes"] = min(MAX_JOB_BYTES, max_message_bytes)
    queue = QueueSettings(**values)  # type: ignore[arg-type]
    if queue.max_job_bytes > queue.max_message_bytes:
        raise UsageError(
            f"{config_path}: [queue] max_job_bytes is over max_message_bytes",
            hint="max_message_bytes bounds every message, spooled or not",
        )
    return queue


def _job_keys(table: object, config_path: Path) -> dict[str, tuple[bytes, ...]]:
    """[queue.job_keys]: tenant name = a key of at least 32 bytes, in hex, or a
    list of them while a key is changed (the first signs, any verifies)."""
    hint = 'e.g. acme = "<64 hex digits>" from `openssl rand -hex 32` (docs/queue.md)'
    if not isinstance(table, dict):
        raise UsageError(f"{config_path}: [queue.job_keys] must be a table", hint=hint)
    keys: dict[str, tuple[bytes, ...]] = {}
    for tenant, value in table.items():
        texts = value if isinstance(value, list) else [value]
        ring = tuple(_job_key(t) for t in texts)
        if not 1 <= len(ring) <= MAX_KEYS or min(map(len, ring)) < MIN_KEY_BYTES:
            raise UsageError(
                f"{config_path}: [queue.job_keys] {tenant!r} is not a key of at least "
                f"{MIN_KEY_BYTES} bytes in hex (or a list of 1 to {MAX_KEYS} of them, "
                "the new key first, while a key is changed)",
                hint=hint,
            )
        name = tenant.strip()
        if name in keys:  # tenant names are looked up stripped too
            raise UsageError(
                f"{config_path}: [queue.job_keys] names tenant {name!r} twice",
                hint="give each tenant one key",
            )
        keys[name] = ring
    return keys


def _job_key(text: object) -> bytes:
    """A key's bytes; b"" when the text is not hex."""
    try:
        return bytes.fromhex(text) if isinstance(text, str) else b""
    except ValueError:
        return b""


def settings_from_environment(dsn_flag: str | None, config: Path | None) -> Settings:
    """Resolve settings from the real process environment."""
    env = dict(os.environ)
    path = config if config is not None else default_config_path(env)
    return resolve_settings(
        dsn_flag=dsn_flag, env=env, config_path=path, named=config is not None
    )


def redact_dsn(dsn: str) -> str:
    """Return the DSN without its password, safe to print or log."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo  # only when shown

    try:
        params = conninfo_to_dict(dsn)
    except Exception:  # an unparsable DSN is shown as a placeholder, never raw
        return "<unparsable DSN>"
    params.pop("password", None)
    return make_conninfo("", **{k: v for k, v in params.items() if v is not None})
