"""The queue on a Redis that wants a password, in the clear and over TLS: a private
redis-server (started here with --requirepass and a --tls-port whose certificate
openssl makes for the test), real workers, hostile jobs."""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import redis
from typer.testing import CliRunner

from pmail_cli.cli import app
from tests import mailgen
from tests.conftest import QueueEnv

pytestmark = pytest.mark.db
runner = CliRunner()
PASSWORD = "queue-pw-" + uuid.uuid4().hex[:8]


@dataclass(frozen=True)
class SecureRedis:
    """A private Redis: `port` plain, `tls_port` TLS only, both with requirepass."""

    port: int
    tls_port: int
    ca_file: Path

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, password=PASSWORD)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def secure_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureRedis]:
    """redis-server with --requirepass on a plain and a TLS port (a self-signed
    certificate for 127.0.0.1 made with openssl), stopped after the module."""
    for tool in ("redis-server", "openssl"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: scripts/test.sh installs it")
    home = tmp_path_factory.mktemp("secure-redis")
    cert, key = home / "cert.pem", home / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    port, tls_port = _free_port(), _free_port()
    config = home / "redis.conf"  # the password in a file, not on a command line
    config.write_text(
        f"port {port}\ntls-port {tls_port}\nbind 127.0.0.1\n"
        f"tls-cert-file {cert}\ntls-key-file {key}\ntls-ca-cert-file {cert}\n"
        f'tls-auth-clients no\nrequirepass {PASSWORD}\nsave ""\n'
        f"appendonly no\ndir {home}\nlogfile {home / 'redis.log'}\n"
    )
    server = subprocess.Popen(["redis-server", str(config)])
    found = SecureRedis(port, tls_port, cert)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                found.client().ping()
                break
            except redis.exceptions.ConnectionError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log = (home / "redis.log").read_text(errors="replace")
                    pytest.fail(f"redis-server did not start: {log[-2000:]}")
                time.sleep(0.05)
        yield found
    finally:
        server.terminate()
        server.wait(timeout=30)


def _pmail(dsn: str, *args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--dsn", dsn, *args], input=stdin)
    assert "Traceback" not in result.stderr, result.stderr
    return result.exit_code, result.stdout, result.stderr


def _one_pair(err: str) -> None:
    """Exactly one error: line and one hint: line, no password."""
    lines = err.strip().splitlines()
    assert [x.split(":")[0] for x in lines] == ["error", "hint"], err
    assert PASSWORD not in err


def test_a_queue_with_a_password_from_the_environment_or_the_file(
    secure_redis: SecureRedis,
    queue_env: QueueEnv,
    dsn: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PMAIL_QUEUE_PASSWORD (or [queue] password) lets enqueue and worker in; a
    missing or wrong one, or one given both in the URL and apart, is one
    error/hint pair that never shows the password."""
    monkeypatch.setenv("PMAIL_QUEUE_URL", f"redis://127.0.0.1:{secure_redis.port}/0")
    assert _pmail(dsn, "tenant", "add", "acme")[0] == 0
    code, _, err = _pmail(dsn, "queue", "status")
    assert code == 75 and "needs a password" in err and "PMAIL_QUEUE_PASSWORD" in err
    _one_pair(err)
    monkeypatch.setenv("PMAIL_QUEUE_PASSWORD", "wrong-" + PASSWORD)
    code, _, err = _pmail(dsn, "enqueue", "-", "-t", "acme", stdin=mailgen.simple(1))
    assert code == 75 and "refused the password" in err, err
    assert "wrong-" not in err
    _one_pair(err.replace(PASSWORD, "x"))
    monkeypatch.setenv("PMAIL_QUEUE_PASSWORD", PASSWORD)
    code, _, err = _pmail(dsn, "enqueue", "-", "-t", "acme", stdin=mailgen.simple(1))
    assert code == 0, err
    monkeypatch.delenv("PMAIL_QUEUE_PASSWORD")
    queue_env.configure(claim_after=2, linger_ms=20, password=PASSWORD)
    code, _, err = _pmail(dsn, "worker", "--burst")
    assert code == 0 and "stored 1 message," in err, err
    monkeypatch.setenv(
        "PMAIL_QUEUE_URL", f"redis://:{PASSWORD}@127.0.0.1:{secure_redis.port}/0"
    )
    code, _, err = _pmail(dsn, "queue", "status")
    assert code == 2 and "given twice" in err
    _one_pair(err)


def test_a_queue_over_tls(
    secure_redis: SecureRedis,
    queue_env: QueueEnv,
    dsn: str,
    conn: psycopg.Connection[tuple[object, ...]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """rediss:// to the TLS-only port with tls_ca_file stores mail through a worker;
    without the CA the certificate is refused, rediss:// to the plain port and
    tls_ca_file with redis:// are refused too: each one error/hint pair."""
    monkeypatch.setenv("PMAIL_QUEUE_PASSWORD", PASSWORD)
    monkeypatch.setenv(
        "PMAIL_QUEUE_URL", f"rediss://127.0.0.1:{secure_redis.tls_port}/0"
    )
    assert _pmail(dsn, "tenant", "add", "acme")[0] == 0
    code, _, err = _pmail(dsn, "queue", "status")
    assert code == 75 and "CERTIFICATE_VERIFY_FAILED" in err and "tls_ca_file" in err
    _one_pair(err)
    queue_env.configure(
        claim_after=2, linger_ms=20, tls_ca_file=str(secure_redis.ca_file)
    )
    raw = mailgen.simple(2)
    code, _, err = _pmail(dsn, "enqueue", "-", "-t", "acme", stdin=raw)
    assert code == 0, err
    code, _, err = _pmail(dsn, "worker", "--burst")
    assert code == 0 and "stored 1 message," in err, err
    row = conn.execute("SELECT encode(raw_sha256, 'hex') FROM email_content").fetchone()
    assert row == (hashlib.sha256(raw).hexdigest(),)
    monkeypatch.setenv("PMAIL_QUEUE_URL", f"rediss://127.0.0.1:{secure_redis.port}/0")
    code, _, err = _pmail(dsn, "queue", "status")
    assert code == 75 and "rediss://" in err
    _one_pair(err)
    monkeypatch.setenv("PMAIL_QUEUE_URL", f"redis://127.0.0.1:{secure_redis.port}/0")
    code, _, err = _pmail(dsn, "queue", "status")
    assert code == 2 and "tls_ca_file" in err and "not rediss://" in err
    _one_pair(err)


def test_hostile_jobs_on_a_queue_with_a_password_over_tls(
    secure_redis: SecureRedis,
    queue_env: QueueEnv,
    dsn: str,
    conn: psycopg.Connection[tuple[object, ...]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A real `pmail worker` process on the TLS port with a password, fed a command
    in a job, a spool path outside the spool and a malformed id between good
    jobs: no command runs, the outside file is untouched, the three are dead
    letters and the good jobs are stored."""
    monkeypatch.setenv("PMAIL_QUEUE_PASSWORD", PASSWORD)
    monkeypatch.setenv(
        "PMAIL_QUEUE_URL", f"rediss://127.0.0.1:{secure_redis.tls_port}/0"
    )
    queue_env.configure(
        claim_after=2, linger_ms=20, tls_ca_file=str(secure_redis.ca_file)
    )
    assert _pmail(dsn, "tenant", "add", "acme")[0] == 0
    marker = tmp_path / "pwned"
    outside = tmp_path / "outside.eml"
    outside.write_bytes(mailgen.simple(1, subject="private"))
    client = secure_redis.client()
    stream = f"{queue_env.prefix}:jobs:normal"
    base = {"tenant": "acme", "priority": "normal", "origin": "h", "direction": "auto"}
    hostile: list[dict[str, str | bytes]] = [
        {
            "type": "import-imap",
            "account": json.dumps({"host": "x", "password_cmd": f"touch {marker}"}),
        },
        {"type": "store", "spool": str(outside)},
        {"type": "store", "raw": mailgen.simple(2), "job": "1; DROP TABLE job_log"},
    ]
    for n, fields in enumerate(hostile):
        entry = {**base, "job": str(uuid.uuid4()), "origin": f"h{n}", **fields}
        client.xadd(stream, entry)  # type: ignore[arg-type]
    good = [mailgen.simple(10 + n) for n in range(4)]
    for raw in good:
        code, _, err = _pmail(dsn, "enqueue", "-", "-t", "acme", stdin=raw)
        assert code == 0, err
    done = subprocess.run(
        [sys.executable, "-m", "pmail_cli", "--dsn", dsn, "worker", "--burst"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert (
        "stored 4 messages" in done.stderr
        and "3 jobs to the dead letters" in done.stderr
    )
    assert not marker.exists() and outside.exists()
    code, out, _ = _pmail(dsn, "queue", "dead", "list", "--format", "json")
    errors = sorted(d["error"] for d in json.loads(out))
    assert len(errors) == 3 and any("job id" in e for e in errors), errors
    assert any("no accounts file" in e for e in errors), errors
    assert any("spool directory" in e for e in errors), errors
    stored = conn.execute("SELECT count(*) FROM email_messages").fetchone()
    assert stored == (4,)
    client.close()
