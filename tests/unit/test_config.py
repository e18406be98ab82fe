"""Where the database comes from, and that a password never reaches the user."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pmail_cli.cli import app
from pmail_cli.config import (
    EMBEDDED_SOURCE,
    default_config_path,
    redact_dsn,
    resolve_settings,
)
from pmail_cli.errors import UsageError
from pmail_cli.services.imap_accounts import load_accounts

runner = CliRunner()


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    path.chmod(0o600)  # as docs/config.md asks of a file with secrets
    return path


def test_flag_beats_environment_beats_file_beats_embedded(tmp_path: Path) -> None:
    """--dsn > PMAIL_DSN > dsn in the config file > the embedded server."""
    path = _config(tmp_path, 'dsn = "host=file"\n')
    env = {"PMAIL_DSN": "host=env"}
    flag = resolve_settings(dsn_flag="host=flag", env=env, config_path=path)
    assert (flag.dsn, flag.dsn_source) == ("host=flag", "--dsn")
    from_env = resolve_settings(dsn_flag=None, env=env, config_path=path)
    assert (from_env.dsn, from_env.dsn_source) == ("host=env", "PMAIL_DSN")
    from_file = resolve_settings(dsn_flag=None, env={}, config_path=path)
    assert (from_file.dsn, from_file.dsn_source) == ("host=file", str(path))
    embedded = resolve_settings(
        dsn_flag=None,
        env={"PMAIL_DATA_DIR": str(tmp_path / "d")},
        config_path=tmp_path / "absent.toml",
    )
    assert (embedded.dsn, embedded.dsn_source) == (None, EMBEDDED_SOURCE)
    assert embedded.data_dir == tmp_path / "d"


def test_config_file_location_and_data_dir(tmp_path: Path) -> None:
    """PMAIL_CONFIG names the file; data_dir in it moves the embedded data."""
    assert default_config_path({"PMAIL_CONFIG": "/x/c.toml"}) == Path("/x/c.toml")
    assert default_config_path({}).name == "config.toml"
    path = _config(tmp_path, f'data_dir = "{tmp_path / "pg"}"\n')
    settings = resolve_settings(dsn_flag=None, env={}, config_path=path)
    assert settings.data_dir == tmp_path / "pg"


def test_broken_config_file_is_a_usage_error(tmp_path: Path) -> None:
    """A config file that is not TOML names itself in the error."""
    path = _config(tmp_path, "dsn = \n")
    with pytest.raises(UsageError, match="cannot read config file"):
        resolve_settings(dsn_flag=None, env={}, config_path=path)


@pytest.mark.parametrize(
    ("dsn", "shown"),
    [
        (
            "host=db user=mail password=s3cret dbname=pmail",
            "host=db user=mail dbname=pmail",
        ),
        (
            "postgresql://mail:s3cret@db:5433/pmail",
            "user=mail host=db port=5433 dbname=pmail",
        ),
        ("not a dsn ' at all", "<unparsable DSN>"),
    ],
)
def test_redaction_drops_the_password(dsn: str, shown: str) -> None:
    """redact_dsn keeps where, drops the password, and never echoes garbage."""
    assert sorted(redact_dsn(dsn).split()) == sorted(shown.split())


def test_verbose_says_where_without_password(tmp_path: Path) -> None:
    """`-v` names the DSN's source and shows the DSN without its password."""
    result = runner.invoke(
        app,
        [
            "--dsn",
            "host=127.0.0.1 port=1 user=u password=s3cret connect_timeout=1",
            "-v",
            "tenant",
            "list",
        ],
    )
    assert result.exit_code == 1
    first = result.stderr.splitlines()[0]
    assert first.startswith("using DSN from --dsn: ")
    shown = first.removeprefix("using DSN from --dsn: ").split()
    assert sorted(shown) == ["connect_timeout=1", "host=127.0.0.1", "port=1", "user=u"]
    assert "s3cret" not in result.output


def test_queue_password_paths_and_message_limit(tmp_path: Path) -> None:
    """[queue] password, accounts, tls_ca_file and max_message_bytes are read;
    PMAIL_QUEUE_PASSWORD beats the file's password, which never shows in repr;
    max_job_bytes over max_message_bytes is refused."""
    path = _config(
        tmp_path,
        '[queue]\npassword = "file-pw"\naccounts = "/etc/pmail/accounts.toml"\n'
        'tls_ca_file = "/etc/pmail/ca.pem"\nmax_message_bytes = 2000000\n'
        "max_job_bytes = 1000000\n",
    )
    queue = resolve_settings(dsn_flag=None, env={}, config_path=path).queue
    assert queue.password == "file-pw" and "file-pw" not in repr(queue)
    assert queue.accounts == Path("/etc/pmail/accounts.toml")
    assert queue.tls_ca_file == Path("/etc/pmail/ca.pem")
    assert queue.max_message_bytes == 2_000_000
    env = {"PMAIL_QUEUE_PASSWORD": "env-pw"}
    assert resolve_settings(
        dsn_flag=None, env=env, config_path=path
    ).queue.password == ("env-pw")
    bad = _config(tmp_path, "[queue]\nmax_job_bytes = 5000\nmax_message_bytes = 4000\n")
    with pytest.raises(UsageError, match="max_job_bytes is over max_message_bytes"):
        resolve_settings(dsn_flag=None, env={}, config_path=bad)


def test_queue_job_keys_are_read_checked_and_never_shown(tmp_path: Path) -> None:
    """[queue.job_keys] maps tenant names to hex keys of at least 32 bytes (or a
    list of up to four, newest first, while a key is changed) and require_signed
    is a boolean; a short, non-hex or non-text key, an empty or long list, or a
    require_signed that is not true/false, is a usage error naming the key; the keys
    never show in repr."""
    key = "0f" * 32
    path = _config(
        tmp_path,
        f'[queue]\nrequire_signed = true\n[queue.job_keys]\nacme = "{key}"\n',
    )
    queue = resolve_settings(dsn_flag=None, env={}, config_path=path).queue
    assert queue.require_signed is True
    assert queue.job_keys == {"acme": (bytes.fromhex(key),)}
    assert key not in repr(queue) and "job_keys" not in repr(queue)
    old = "a0" * 40
    path = _config(tmp_path, f'[queue.job_keys]\nacme = ["{key}", "{old}"]\n')
    ring = resolve_settings(dsn_flag=None, env={}, config_path=path).queue.job_keys
    assert ring == {"acme": (bytes.fromhex(key), bytes.fromhex(old))}  # new first
    for bad, words in (
        ('[queue.job_keys]\nacme = "0f0f"\n', "'acme' is not a key of at least 32"),
        ('[queue.job_keys]\nacme = "zz' + "0" * 62 + '"\n', "'acme' is not a key"),
        ("[queue.job_keys]\nacme = 12\n", "'acme' is not a key"),
        ("[queue.job_keys]\nacme = []\n", "a list of 1 to 4"),
        (f'[queue.job_keys]\nacme = ["{key}", "0f0f"]\n', "'acme' is not a key"),
        ("[queue.job_keys]\nacme = [" + f'"{key}",' * 5 + "]\n", "1 to 4"),
        ('[queue]\njob_keys = "x"\n', "must be a table"),
        ('[queue]\nrequire_signed = "yes"\n', "require_signed = 'yes' is not true"),
        (
            f'[queue.job_keys]\nacme = "{key}"\n" acme" = "{key}"\n',
            "names tenant 'acme' twice",
        ),
    ):
        with pytest.raises(UsageError, match=words):
            resolve_settings(dsn_flag=None, env={}, config_path=_config(tmp_path, bad))


def test_maximum_message_size_from_environment_file_or_default(
    tmp_path: Path,
) -> None:
    """PMAIL_MAX_MESSAGE_BYTES > max_message_bytes in the file > 100 MiB; the queue
    takes it unless [queue] sets its own; a value that is not a positive number of
    bytes is a usage error naming where it came from."""
    plain = _config(tmp_path, "")
    assert resolve_settings(
        dsn_flag=None, env={}, config_path=plain
    ).max_message_bytes == (100 * 1024 * 1024)
    path = _config(tmp_path, "max_message_bytes = 5000000\n")
    settings = resolve_settings(dsn_flag=None, env={}, config_path=path)
    assert settings.max_message_bytes == 5_000_000
    assert settings.queue.max_message_bytes == 5_000_000
    assert settings.queue.max_job_bytes == 5_000_000  # not over the limit
    env = {"PMAIL_MAX_MESSAGE_BYTES": "7000"}
    assert resolve_settings(
        dsn_flag=None, env=env, config_path=path
    ).max_message_bytes == (7000)
    own = _config(
        tmp_path, "max_message_bytes = 5000000\n[queue]\nmax_message_bytes = 20000000\n"
    )
    assert resolve_settings(
        dsn_flag=None, env={}, config_path=own
    ).queue.max_message_bytes == (20_000_000)
    for bad in ("0", "-5", "1e6", "ten", "١٢"):
        with pytest.raises(UsageError, match="PMAIL_MAX_MESSAGE_BYTES"):
            resolve_settings(
                dsn_flag=None, env={"PMAIL_MAX_MESSAGE_BYTES": bad}, config_path=plain
            )
    wrong = _config(tmp_path, 'max_message_bytes = "big"\n')
    with pytest.raises(UsageError, match="max_message_bytes"):
        resolve_settings(dsn_flag=None, env={}, config_path=wrong)


KEY_LINE = '[queue.job_keys]\nacme = "' + "0f" * 32 + '"\n'


@pytest.mark.parametrize(
    ("text", "mode", "words"),
    [
        (KEY_LINE, 0o644, "holds secrets ([queue] job_keys) and is readable by others"),
        ('[queue]\npassword = "pw"\n', 0o604, "readable by others"),
        ('dsn = "postgresql://u:pw@db/pmail"\n', 0o644, "a password in dsn"),
        ('dsn = "host=db password=pw"\n', 0o644, "a password in dsn"),
        ('queue_url = "redis://:pw@r:6379/0"\n', 0o644, "a password in queue_url"),
        ('dsn = "host=db"\n', 0o664, "is writable by its group"),
        ('dsn = "host=db"\n', 0o646, "is writable by others"),
    ],
)
def test_a_config_file_others_can_change_or_read_is_refused(
    tmp_path: Path, text: str, mode: int, words: str
) -> None:
    """Whoever can write the config file decides where pmail connects and which
    accounts file (and so which password_cmd) it uses; whoever can read one that
    holds job keys or passwords can forge jobs or log in. Such a file is refused with
    an error naming the problem and a chmod hint, as ssh refuses its config."""
    path = tmp_path / "config.toml"
    path.write_text(text)
    path.chmod(mode)
    with pytest.raises(UsageError, match=re.escape(words)) as refused:
        resolve_settings(dsn_flag=None, env={}, config_path=path)
    assert f"chmod 600 {path}" in str(refused.value.hint)
    assert "pw" not in str(refused.value) and "0f0f" not in str(refused.value)
    path.chmod(0o600)
    resolve_settings(dsn_flag=None, env={}, config_path=path)


def test_a_config_file_of_another_user_is_refused(tmp_path: Path) -> None:
    """A config file owned by someone else (not root) is theirs to rewrite; without
    secrets a readable one is fine; with secrets, group-readable only if root owns
    it (PostgreSQL's rule for its key files)."""
    path = tmp_path / "config.toml"
    path.write_text('dsn = "host=db"\n')
    path.chmod(0o644)
    resolve_settings(dsn_flag=None, env={}, config_path=path)  # no secret: fine
    path.write_text(KEY_LINE)
    path.chmod(0o640)
    if os.geteuid() == 0:  # root owns it: its group may read it
        resolve_settings(dsn_flag=None, env={}, config_path=path)
        os.chown(path, 54321, -1)
        with pytest.raises(UsageError, match="is owned by uid 54321, not by you"):
            resolve_settings(dsn_flag=None, env={}, config_path=path)
    else:  # an ordinary user's file: not even its group
        with pytest.raises(UsageError, match="readable by its group"):
            resolve_settings(dsn_flag=None, env={}, config_path=path)


def test_an_accounts_file_others_can_change_is_refused(tmp_path: Path) -> None:
    """An IMAP accounts file names the password_cmd pmail runs: one that its group
    or others can write is refused (a way to run a command as pmail's user)."""
    path = tmp_path / "accounts.toml"
    path.write_text(
        '[[account]]\nhost = "imap.test"\nuser = "u"\npassword_cmd = "pass show u"\n'
    )
    path.chmod(0o644)
    assert load_accounts(path)[0].password_cmd == "pass show u"
    for mode in (0o664, 0o666):
        path.chmod(mode)
        with pytest.raises(UsageError, match=r"accounts file .* is writable by"):
            load_accounts(path)


def test_a_config_file_that_is_not_a_small_regular_file_is_refused(
    tmp_path: Path,
) -> None:
    """`--config /dev/zero` was read without end (out of memory) and a FIFO hung
    the command: a config or accounts file must be a regular file of at most
    1 MiB; /dev/null stands for no settings."""
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    big = tmp_path / "big.toml"
    big.write_bytes(b"# " + b"x" * (1 << 20) + b"\n")
    for path, words in (
        (Path("/dev/zero"), "is not a regular file"),
        (fifo, "is not a regular file"),
        (big, "over 1,048,576"),
    ):
        with pytest.raises(UsageError, match=words):
            resolve_settings(dsn_flag=None, env={}, config_path=path)
        with pytest.raises(UsageError, match=words):
            load_accounts(path)
    empty = resolve_settings(dsn_flag=None, env={}, config_path=Path("/dev/null"))
    assert empty.dsn is None


def test_a_config_file_named_by_the_flag_must_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--config` naming a missing file ran on the defaults: a typo sent
    `queue status`, and `worker`, to the default `pmail:` keys of the machine's
    Redis. The flag's file must exist; PMAIL_CONFIG and the per-user file may be
    missing (no settings)."""
    missing = tmp_path / "no" / "config.toml"
    monkeypatch.setenv("PMAIL_QUEUE_URL", "redis://127.0.0.1:1/0")  # never reached
    result = runner.invoke(app, ["--config", str(missing), "queue", "status"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: config file {missing} does not exist",
        "hint: check the path given to --config (--config /dev/null means no settings)",
    ]
    assert resolve_settings(dsn_flag=None, env={}, config_path=missing).dsn is None
    monkeypatch.setenv("PMAIL_CONFIG", str(missing))
    lenient = runner.invoke(app, ["queue", "status"])  # gets as far as Redis
    assert lenient.exit_code == 75, lenient.output  # EX_TEMPFAIL: Redis down
    assert "cannot reach" in lenient.stderr.splitlines()[0], lenient.stderr
