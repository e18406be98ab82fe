"""Queue jobs are data, never instructions (issue 23): hostile entries written
straight into the Redis stream, a real worker (in-process, as `pmail worker --burst`
runs it), a real PostgreSQL. Whatever a job says, the worker runs no command of
its, connects to no host of its, reads and deletes nothing outside the spool
directory; a bad job goes to the dead letters alone, at once, with its reason, and
the good jobs beside it are stored."""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from pmail_cli.cli import app
from pmail_cli.queue_job import signature
from pmail_cli.sources.spool import tenant_folder
from pmail_cli.streams import QueueUnavailable, Streams
from tests import mailgen
from tests.conftest import QueueEnv

pytestmark = pytest.mark.db
runner = CliRunner()
Conn = psycopg.Connection[tuple[object, ...]]


def _pmail(dsn: str, *args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--dsn", dsn, *args], input=stdin)
    assert "Traceback" not in result.stderr, result.stderr
    return result.exit_code, result.stdout, result.stderr


def _entry(tenant: str | bytes = "acme", **fields: object) -> dict[str, Any]:
    """A store job's stream fields as `pmail enqueue` writes them, changed by fields
    (None removes one)."""
    out: dict[str, Any] = {
        "type": "store",
        "tenant": tenant,
        "priority": "normal",
        "origin": "hostile",
        "direction": "auto",
        "job": str(uuid.uuid4()),
        "enqueued": repr(time.time()),
        "attempts": "0",
    }
    for key, value in fields.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def _add(env: QueueEnv, fields: dict[Any, Any], priority: str = "normal") -> str:
    """Write an entry into a job stream directly, as anyone who can reach Redis."""
    entry_id = env.client.xadd(f"{env.prefix}:jobs:{priority}", fields)
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


def _good(env: QueueEnv, n: int) -> list[bytes]:
    """n innocent store jobs on the normal stream."""
    raws = [mailgen.simple(5000 + i) for i in range(n)]
    for raw in raws:
        _add(env, _entry(raw=raw, origin="good"))
    return raws


def _dead(dsn: str) -> list[dict[str, Any]]:
    code, out, err = _pmail(dsn, "queue", "dead", "list", "--format", "json")
    assert code == 0, err
    rows: list[dict[str, Any]] = json.loads(out)
    return rows


def _hashes(conn: Conn, tenant: str) -> list[str]:
    rows = conn.execute(
        "SELECT encode(c.raw_sha256, 'hex') FROM email_content c JOIN tenants t "
        "USING (tenant_id) WHERE t.name = %s ORDER BY 1",
        (tenant,),
    ).fetchall()
    conn.commit()
    return [str(r[0]) for r in rows]


def _sha(raws: list[bytes]) -> list[str]:
    return sorted(hashlib.sha256(r).hexdigest() for r in raws)


def _worker(dsn: str, *args: str) -> str:
    code, _, err = _pmail(dsn, "worker", "--burst", *args)
    assert code == 0, err
    return err


def _enqueue_one(
    env: QueueEnv, dsn: str, tmp_path: Path, raw: bytes
) -> tuple[str, dict[bytes, bytes]]:
    """`pmail enqueue` one message for acme; its entry's id and fields as Redis
    holds them (the only entry of the normal stream)."""
    inputs = tmp_path / "in"
    inputs.mkdir(exist_ok=True)
    (inputs / "a.eml").write_bytes(raw)
    code, _, err = _pmail(dsn, "enqueue", str(inputs / "a.eml"), "-t", "acme")
    assert code == 0, err
    entries: Any = env.client.xrange(f"{env.prefix}:jobs:normal")
    ((entry_id, fields),) = entries
    return entry_id.decode(), fields


class Bait:
    """A TCP listener standing in for a host of the attacker's choosing: it greets
    like an IMAP server and records every byte it is sent."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.received = b""
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            conn.settimeout(2)
            conn.sendall(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n")
            try:
                while chunk := conn.recv(4096):
                    self.received += chunk
                    for line in chunk.split(b"\r\n"):
                        words = line.split(b" ")
                        if len(words) < 2:
                            continue
                        if words[1].upper() == b"CAPABILITY":
                            conn.sendall(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n")
                            conn.sendall(words[0] + b" OK done\r\n")
                        else:
                            conn.sendall(words[0] + b" NO go away\r\n")
            except OSError:
                pass
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.sock.close()


@pytest.fixture
def bait() -> Iterator[Bait]:
    listener = Bait()
    yield listener
    listener.close()


# --- 1. an IMAP job names an account; it never carries one ----------------------------


def test_an_imap_job_cannot_run_a_command_or_pick_a_host(
    queue_env: QueueEnv,
    dsn: str,
    conn: Conn,
    tmp_path: Path,
    bait: Bait,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """import-imap jobs that carry whole accounts (a password_cmd that touches a
    file, a host of the attacker's with the worker's secret variable as password):
    the command never runs, nothing connects to the host, both jobs are dead letters
    with their reasons at the first delivery, the job log records them, and the
    store jobs beside them are stored."""
    assert _pmail(dsn, "tenant", "add", "acme")[0] == 0
    marker = tmp_path / "pwned"
    monkeypatch.setenv("WORKER_SECRET", "s3cret-of-the-worker")
    hostile = [
        {
            "host": "127.0.0.1",
            "port": bait.port,
            "user": "victim",
            "security": "none",
            "password_cmd": f"touch {marker}",
            "tenant": "acme",
        },
        {
            "host": "127.0.0.1",
            "port": bait.port,
            "user": "victim2",
            "security": "none",
            "password_env": "WORKER_SECRET",
            "tenant": "acme",
        },
    ]
    for account in hostile:
        fields = _entry(type="import-imap", origin="x", account=json.dumps(account))
        _add(queue_env, fields)
    raws = _good(queue_env, 5)
    err = _worker(dsn)
    assert not marker.exists(), "the job's password_cmd ran on the worker"
    assert bait.connections == 0 and b"s3cret" not in bait.received
    assert "stored 5 messages" in err and "2 jobs to the dead letters" in err, err
    dead = _dead(dsn)
    assert [d["type"] for d in dead] == ["import-imap", "import-imap"]
    assert all(d["deliveries"] == 1 for d in dead)
    assert all("no accounts file" in d["error"] for d in dead), dead
    assert _hashes(conn, "acme") == _sha(raws)
    logged = conn.execute(
        "SELECT job_type, outcome, error FROM job_log WHERE outcome = 'dead'"
    ).fetchall()
    assert len(logged) == 2 and all("no accounts file" in str(r[2]) for r in logged)


def test_an_imap_job_names_an_account_of_the_worker(
    queue_env: QueueEnv,
    dsn: str,
    conn: Conn,
    tmp_path: Path,
    bait: Bait,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the worker's own accounts file (`--accounts`): a job naming an account it
    does not define, or one of another tenant, is dead-lettered at once; a job that
    names a defined account connects to the host of the worker's file only (the
    bait stands in for the real server and sees the worker's own password)."""
    assert _pmail(dsn, "tenant", "add", "acme")[0] == 0
    assert _pmail(dsn, "tenant", "add", "other")[0] == 0
    marker = tmp_path / "pwned"
    accounts = tmp_path / "worker-accounts.toml"
    accounts.write_text(
        "[[account]]\n"
        f'host = "127.0.0.1"\nport = {bait.port}\nsecurity = "none"\n'
        'user = "sdr1@acme.test"\npassword_env = "WORKER_IMAP_PW"\n'
        'tenant = "acme"\nfolders = ["INBOX"]\n'
    )
    monkeypatch.setenv("WORKER_IMAP_PW", "the-workers-own")
    _add(queue_env, _entry(type="import-imap", account="nobody@acme.test"))
    _add(
        queue_env,
        _entry(tenant="other", type="import-imap", account="sdr1@acme.test"),
    )
    _add(
        queue_env,
        _entry(
            type="import-imap",
            account=json.dumps({"host": "evil", "user": "x", "password_cmd": "touch "}),
        ),
    )
    _add(queue_env, _entry(type="import-imap", account="sdr1@acme.test"))
    queue_env.configure(claim_after=2, linger_ms=20, max_deliveries=1)
    _worker(dsn, "--accounts", str(accounts))
    assert not marker.exists()
    errors = sorted(d["error"] for d in _dead(dsn))
    assert len(errors) == 4, errors
    assert any("no account 'nobody@acme.test'" in e for e in errors), errors
    assert any("belongs to tenant 'acme'" in e for e in errors), errors
    assert any('no account \'{"host"' in e for e in errors), errors
    # the named one was tried against the worker's host with the worker's password
    # (the bait refuses the login, and max_deliveries = 1 buries it)
    assert bait.connections >= 1 and b"the-workers-own" in bait.received
    assert any("go away" in e for e in errors), errors


def test_enqueue_names_the_account_and_checks_it_when_it_can(
    queue_env: QueueEnv, dsn: str, tmp_path: Path
) -> None:
    """`pmail enqueue --imap-account` puts only the account's name (and its tenant)
    in the job, never its host, port or password settings; with an accounts file an
    unknown name is refused before anything is enqueued."""
    accounts = tmp_path / "accounts.toml"
    accounts.write_text(
        '[[account]]\nhost = "imap.secret-host.test"\nuser = "sdr1@acme.test"\n'
        'password_cmd = "pass show sdr1"\ntenant = "acme"\n'
    )
    code, _, err = _pmail(
        dsn, "enqueue", "--imap-account", "sdr1@acme.test", "--accounts", str(accounts)
    )
    assert code == 0 and "1 IMAP sync job" in err, err
    code, _, err = _pmail(
        dsn, "enqueue", "--imap-account", "nobody", "--accounts", str(accounts)
    )
    assert code == 1 and "error: no account 'nobody'" in err and "hint: " in err
    entries: Any = queue_env.client.xrange(f"{queue_env.prefix}:jobs:normal")
    assert len(entries) == 1
    fields = {k.decode(): v.decode() for k, v in entries[0][1].items()}
    assert fields["account"] == "sdr1@acme.test" and fields["tenant"] == "acme"
    carried = "".join(fields.values())
    assert "secret-host" not in carried and "pass show" not in carried


# --- 2. the spool: only regular files inside the spool directory ----------------------


def test_a_spooled_job_reads_only_files_inside_the_spool(
    queue_env: QueueEnv, dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """Store jobs whose spool names a file outside the spool (absolute path, `..`),
    a symbolic link in the spool pointing out, a path through a linked directory, a
    hard link to an outside file, a FIFO, a file over max_message_bytes, a missing
    file: none is read, nothing outside the spool is deleted, each is a dead letter
    with its reason; a good spooled job in the same stream is stored and only its
    file removed."""
    queue_env.configure(
        claim_after=2, linger_ms=20, max_job_bytes=1000, max_message_bytes=50_000
    )
    assert _pmail(dsn, "tenant", "add", "acme")[0] == 0
    spool = queue_env.config.parent / "spool" / tenant_folder("acme")
    spool.mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.eml"
    secret_raw = mailgen.simple(1, subject="the worker's private file")
    secret.write_bytes(secret_raw)
    (spool / "link.eml").symlink_to(secret)
    (spool / "dir").symlink_to(outside)
    os.link(secret, spool / "hard.eml")
    os.mkfifo(spool / "fifo.eml")
    big = spool / "big.eml"
    big.write_bytes(mailgen.simple(2, body="b" * 60_000))
    good_raw = mailgen.simple(3, body="g" * 3000)
    (spool / "good.eml").write_bytes(good_raw)
    (spool / "bystander.eml").write_bytes(mailgen.simple(4))
    cases = {
        str(secret): "spool",
        "../outside/secret.eml": "spool",
        f"{spool}/../outside/secret.eml": "spool",
        "link.eml": "symbolic link",
        "dir/secret.eml": "spool",
        "hard.eml": "link",
        "fifo.eml": "not a regular file",
        "big.eml": "max_message_bytes",
        "missing.eml": "no such file",
    }
    for name in cases:
        _add(queue_env, _entry(spool=name, origin=name))
    _add(queue_env, _entry(spool="good.eml", origin="good"))
    raws = _good(queue_env, 3)
    err = _worker(dsn)
    assert "stored 4 messages" in err, err
    assert secret.read_bytes() == secret_raw
    assert hashlib.sha256(secret_raw).hexdigest() not in _hashes(conn, "acme")
    assert _hashes(conn, "acme") == _sha([*raws, good_raw])
    assert sorted(p.name for p in spool.iterdir()) == sorted(
        ["link.eml", "dir", "hard.eml", "fifo.eml", "big.eml", "bystander.eml"]
    )
    dead = {d["origin"]: d for d in _dead(dsn)}
    assert sorted(dead) == sorted(cases)
    for name, reason in cases.items():
        assert reason in dead[name]["error"], (name, dead[name]["error"])
        assert dead[name]["deliveries"] == 1


def test_the_producer_spools_by_name_and_refuses_oversized_mail(
    queue_env: QueueEnv, dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """`pmail enqueue` writes a message over max_job_bytes to the spool and the job
    names the file only (no directory); a message over max_message_bytes is refused
    (exit 1, the others enqueued) instead of being spooled for a worker to refuse."""
    queue_env.configure(
        claim_after=2, linger_ms=20, max_job_bytes=1000, max_message_bytes=20_000
    )
    assert _pmail(dsn, "tenant", "add", "acme")[0] == 0
    inputs = tmp_path / "in"
    inputs.mkdir()
    spooled = mailgen.simple(1, body="s" * 5000)
    (inputs / "a.eml").write_bytes(spooled)
    (inputs / "b.eml").write_bytes(mailgen.simple(2, body="h" * 30_000))
    code, _, err = _pmail(dsn, "enqueue", str(inputs), "-t", "acme")
    assert code == 1 and "enqueued 1 message " in err and "max_message_bytes" in err
    entries: Any = queue_env.client.xrange(f"{queue_env.prefix}:jobs:normal")
    assert [e[1][b"spool"].decode().count("/") for e in entries] == [0]
    _worker(dsn)
    assert _hashes(conn, "acme") == _sha([spooled])


def test_a_spooled_message_is_stored_only_into_the_tenant_it_was_enqueued_for(
    queue_env: QueueEnv, dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """acme's producer spools a large message; a job written straight into the
    stream names that file (as the real job does, and as its `.part` while being
    written) for tenant evil. Before, the first job to come stored acme's message
    into evil and deleted the file: whoever could write to Redis and read evil's mail
    read acme's large mail. Now each job reads only its own tenant's spool files;
    the forged jobs are dead letters and acme's job stores it into acme."""
    queue_env.configure(
        claim_after=2, linger_ms=20, max_job_bytes=1000, max_message_bytes=50_000
    )
    for name in ("acme", "evil"):
        assert _pmail(dsn, "tenant", "add", name)[0] == 0
    private = mailgen.simple(1, subject="acme's large private mail", body="p" * 5000)
    real_id, real = _enqueue_one(queue_env, dsn, tmp_path, private)
    stream = f"{queue_env.prefix}:jobs:normal"
    name = real[b"spool"].decode()
    queue_env.client.xdel(stream, real_id)
    # the forged jobs come first; the real one after them
    _add(queue_env, _entry("evil", spool=name, origin="forged"))
    _add(queue_env, _entry("evil", spool=f"{name}.part", origin="forged part"))
    spool = queue_env.config.parent / "spool"
    _add(queue_env, _entry("evil", spool=f"{spool}/{name}", origin="forged path"))
    queue_env.client.xadd(stream, {k.decode(): v for k, v in real.items()})
    _worker(dsn)
    assert _hashes(conn, "evil") == []
    assert _hashes(conn, "acme") == _sha([private])
    dead = {d["origin"]: d for d in _dead(dsn)}
    assert sorted(dead) == ["forged", "forged part", "forged path"]
    assert "tenant 'evil'" in dead["forged"]["error"], dead["forged"]
    assert "tenant 'evil'" in dead["forged path"]["error"], dead["forged path"]
    assert ".part" in dead["forged part"]["error"], dead["forged part"]


# --- 3. every field is checked when it is read -----------------------------------------


def test_malformed_jobs_go_to_the_dead_letters_alone_and_at_once(
    queue_env: QueueEnv, dsn: str, conn: Conn
) -> None:
    """Jobs with a malformed id, an unknown type, unknown fields, oversized or
    ill-typed fields, an impossible direction, priority, tenant, time or attempt
    count, or a store job without a message (or with two): each is a dead letter
    after one delivery, with its reason in `queue dead list` and, where its tenant
    exists, in the job log; no batch is retried and the good jobs are stored."""
    queue_env.configure(claim_after=2, linger_ms=20, max_job_bytes=100_000)
    assert _pmail(dsn, "tenant", "add", "acme")[0] == 0
    raw = mailgen.simple(1)
    bad: dict[str, tuple[dict[str, Any], str]] = {
        "id": (_entry(raw=raw, job="not-a-uuid"), "job id"),
        "no-id": (_entry(raw=raw, job=None), "job id"),
        "type": (_entry(raw=raw, type="exec"), "unknown job type"),
        "field": (_entry(raw=raw, command="rm -rf /"), "unknown field"),
        "origin": (_entry(raw=raw, origin="o" * 100_000), "origin"),
        "tenant-nul": (_entry(tenant="ac\x00me", raw=raw), "tenant"),
        "tenant-long": (_entry(tenant="t" * 5000, raw=raw), "tenant"),
        "tenant-bytes": (_entry(tenant=b"\xff\xfe", raw=raw), "UTF-8"),
        "direction": (_entry(raw=raw, direction="sideways"), "direction"),
        "priority": (_entry(raw=raw, priority="urgent"), "priority"),
        "other-stream": (_entry(raw=raw, priority="bulk"), "priority"),
        "attempts": (_entry(raw=raw, attempts="many"), "attempts"),
        "attempts-big": (_entry(raw=raw, attempts="99999999999"), "attempts"),
        "enqueued": (_entry(raw=raw, enqueued="1e300"), "enqueued"),
        "enqueued-nan": (_entry(raw=raw, enqueued="nan"), "enqueued"),
        "no-message": (_entry(), "without a message"),
        "two-messages": (_entry(raw=raw, spool="x.eml"), "both"),
        "raw-big": (_entry(raw=b"x" * 100_001), "max_job_bytes"),
        "raw-on-analytics": (_entry(type="analytics", raw=raw), "raw"),
        "account-on-store": (_entry(raw=raw, account="sdr1"), "account"),
        "imap-no-account": (_entry(type="import-imap"), "account"),
    }
    for origin, (fields, _) in bad.items():
        if "origin" in fields and origin != "origin":
            fields["origin"] = origin
        _add(queue_env, fields)
    raws = _good(queue_env, 10)
    err = _worker(dsn)
    assert "stored 10 messages" in err and "0 batches retried" in err, err
    assert f"{len(bad)} jobs to the dead letters" in err, err
    assert _hashes(conn, "acme") == _sha(raws)
    dead = _dead(dsn)
    assert len(dead) == len(bad) and all(d["deliveries"] == 1 for d in dead)
    by_origin = {d["origin"]: d["error"] for d in dead}
    for origin, (_, reason) in bad.items():
        key = (
            origin
            if origin != "origin"
            else next(o for o in by_origin if o.startswith("ooo"))
        )
        assert reason in by_origin[key], (origin, by_origin[key])
    logged = {
        str(r[0]): str(r[1])
        for r in conn.execute(
            "SELECT source, error FROM job_log WHERE outcome = 'dead'"
        ).fetchall()
    }
    assert "job id" in logged["id"] and "direction" in logged["direction"]
    assert "tenant-nul" not in logged  # no tenant to file it under: dead letters only


def test_a_redriven_bad_job_is_kept_as_it_was(queue_env: QueueEnv, dsn: str) -> None:
    """`queue dead retry` puts a malformed job back exactly as it came (its bad
    fields are evidence, not repaired), and it is dead-lettered again at once."""
    assert _pmail(dsn, "tenant", "add", "acme")[0] == 0
    _add(queue_env, _entry(raw=b"x", job="not-a-uuid", origin="evidence"))
    _worker(dsn)
    assert _pmail(dsn, "queue", "dead", "retry")[0] == 0
    entries: Any = queue_env.client.xrange(f"{queue_env.prefix}:jobs:normal")
    assert entries[0][1][b"job"] == b"not-a-uuid"
    _worker(dsn)
    dead = _dead(dsn)
    assert len(dead) == 1 and "job id" in dead[0]["error"]


# --- 4. an entry's size is known before it is read --------------------------------------

HUGE = 48 * 1024 * 1024  # an entry this large must never reach a worker's memory


def _sent(env: QueueEnv) -> int:
    """Bytes Redis has written to all its clients so far."""
    stats: Any = env.client.info("stats")
    return int(stats["total_net_output_bytes"])


def _huge(**fields: Any) -> dict[str, Any]:
    """A store job for acme carrying HUGE bytes, as anyone who can reach Redis
    writes it."""
    return _entry(raw=b"h" * HUGE, **fields)


def _streams(env: QueueEnv) -> Streams:
    streams = Streams.connect(env.url, env.prefix, max_raw=100_000)
    streams.ensure_groups()
    return streams


def test_an_oversized_entry_is_buried_inside_redis_unread(
    queue_env: QueueEnv, dsn: str, conn: Conn
) -> None:
    """An entry of 48 MiB and one of 40,000 tiny fields, beside good jobs: the worker
    never receives either (Redis sends it a few kilobytes, not 48 MiB); each is a
    dead letter at once, with its size, its small fields (origin, tenant) and no raw,
    and is in acme's job log; the good jobs are stored. Before, the worker read the
    whole entry into memory and only then refused it."""
    queue_env.configure(claim_after=2, linger_ms=20, max_job_bytes=100_000)
    assert _pmail(dsn, "tenant", "add", "acme")[0] == 0
    _add(queue_env, _huge(origin="huge"))
    many = _entry(raw=b"x", origin="many")
    many.update({f"f{i}": "v" for i in range(40_000)})
    _add(queue_env, many)
    raws = _good(queue_env, 5)
    before = _sent(queue_env)
    err = _worker(dsn)
    assert _sent(queue_env) - before < HUGE // 4
    assert "stored 5 messages" in err and "2 jobs to the dead letters" in err, err
    assert _hashes(conn, "acme") == _sha(raws)
    dead = {d["origin"]: d for d in _dead(dsn)}
    assert sorted(dead) == ["huge", "many"]
    size = re.search(r"an entry of about (\d+) bytes", dead["huge"]["error"])
    assert size is not None and int(size[1]) > HUGE, dead["huge"]
    for row in dead.values():
        assert "over the limit" in row["error"] and row["tenant"] == "acme", row
    buried: Any = queue_env.client.xrange(f"{queue_env.prefix}:dead")
    kept = {f[b"origin"]: f for _, f in buried}  # a job's known fields only
    assert sorted(kept) == [b"huge", b"many"]
    assert all(b"raw" not in f and b"f0" not in f for f in kept.values())
    logged = conn.execute(
        "SELECT source FROM job_log WHERE outcome = 'dead' ORDER BY 1"
    ).fetchall()
    assert [r[0] for r in logged] == ["huge", "many"]


def test_an_oversized_entry_met_while_waiting_or_claiming_is_refused_unread(
    queue_env: QueueEnv,
) -> None:
    """The two reads Redis cannot screen for pmail: the blocking wait for new jobs
    (an entry of 48 MiB arrives while the worker waits) and the claim of a dead
    worker's entry. The worker's connection refuses the reply at its length, before
    reading it, and Redis buries the entry; the next job is read as usual."""
    streams = _streams(queue_env)
    stream = f"{queue_env.prefix}:jobs:normal"
    before = _sent(queue_env)
    threading.Timer(0.5, lambda: _add(queue_env, _huge(origin="late"))).start()
    got = streams.read("w1", 10, block_ms=10_000)
    assert _sent(queue_env) - before < HUGE // 2
    assert [(d.job.origin, d.dead_id is not None) for d in got] == [("late", True)]
    assert got[0].problem is not None and "over the limit" in got[0].problem
    threading.Timer(
        0.5, lambda: _add(queue_env, _entry(raw=b"ok", origin="next"))
    ).start()
    got = streams.read("w1", 10, block_ms=10_000)
    assert [(d.job.origin, d.job.raw, d.dead_id) for d in got] == [
        ("next", b"ok", None)
    ]
    streams.ack(got)

    _add(queue_env, _huge(origin="orphan"))
    queue_env.client.xreadgroup("workers", "gone", {stream: ">"}, count=1)
    before = _sent(queue_env)
    claimed, exhausted = streams.claim_due("w2", claim_after=0, max_deliveries=5)
    assert _sent(queue_env) - before < HUGE // 2
    assert exhausted == [] and [(d.job.origin, bool(d.dead_id)) for d in claimed] == [
        ("orphan", True)
    ]
    assert queue_env.client.xlen(stream) == 0
    pending: Any = queue_env.client.xpending(stream, "workers")
    assert pending["pending"] == 0
    dead = streams.dead()
    assert [d.job.origin for d in dead] == ["late", "orphan"]
    assert all(b"raw" not in d.entry for d in dead)


def test_status_and_the_dead_letters_show_an_oversized_entry_without_reading_it(
    queue_env: QueueEnv, dsn: str
) -> None:
    """An entry of 48 MiB waiting in a stream, and one written straight into the
    dead letters: `queue status` and `queue dead list` answer without Redis
    sending either (the list shows the dead one's small fields and its size)."""
    _add(queue_env, _huge(origin="waiting"))
    queue_env.client.xadd(f"{queue_env.prefix}:dead", _huge(origin="planted"))  # type: ignore[arg-type]
    before = _sent(queue_env)
    code, out, err = _pmail(dsn, "queue", "status", "--format", "json")
    assert code == 0, err
    assert {r["priority"]: r["waiting"] for r in json.loads(out)}["normal"] == 1
    dead = _dead(dsn)
    assert _sent(queue_env) - before < HUGE // 4
    assert [d["origin"] for d in dead] == ["planted"]
    assert "over the limit" in dead[0]["error"]


# --- 5. signed jobs: a Redis writer without a tenant's key cannot speak for it ----------

KEYS = {"acme": "a1" * 32, "evil": "e5" * 32, "later": "7c" * 32}


def _sign_with_keys(env: QueueEnv, *, required: bool, **queue: object) -> None:
    """The tenants' job keys in the config file (producers and the worker share it
    here; in production each producer holds only its own tenant's key)."""
    env.configure(claim_after=2, linger_ms=20, **queue)
    with env.config.open("a") as config:
        config.write(f"require_signed = {'true' if required else 'false'}\n")
        config.write("[queue.job_keys]\n")
        config.writelines(f'{name} = "{key}"\n' for name, key in KEYS.items())


def _signed(tenant: str, key: str, raw: bytes, origin: str) -> dict[bytes, bytes]:
    """A store job's fields signed with key, as a producer holding it writes them."""
    entry = {
        k.encode(): v if isinstance(v, bytes) else str(v).encode()
        for k, v in _entry(tenant, raw=raw, origin=origin).items()
    }
    entry[b"sig"] = signature(entry, bytes.fromhex(key)).encode()
    return entry


def test_only_jobs_signed_with_the_tenants_key_are_stored(
    queue_env: QueueEnv, dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """With job keys and require_signed: `pmail enqueue` signs acme's mail with
    acme's key and it is stored; for a tenant without a key it refuses. Written
    straight into Redis, each of these is a dead letter at once with its reason: an
    unsigned job for acme; one signed with evil's key; acme's real job re-addressed
    to evil, or with its message or job id changed; one for a tenant without a key.
    A job whose attempts was changed (a re-drive does that) is stored, and so is a
    signed job re-driven after its tenant was created."""
    _sign_with_keys(queue_env, required=True)
    for name in ("acme", "evil", "keyless"):
        assert _pmail(dsn, "tenant", "add", name)[0] == 0
    inputs = tmp_path / "in"
    inputs.mkdir()
    real = mailgen.simple(1, subject="acme's own mail")
    (inputs / "a.eml").write_bytes(real)
    code, _, err = _pmail(dsn, "enqueue", str(inputs), "-t", "keyless")
    assert code == 2 and "no job key for tenant 'keyless'" in err and "hint:" in err
    code, _, err = _pmail(dsn, "enqueue", str(inputs), "-t", "acme")
    assert code == 0, err
    stream = f"{queue_env.prefix}:jobs:normal"
    entries: Any = queue_env.client.xrange(stream)
    ((_, enqueued),) = entries
    assert enqueued[b"sig"].startswith(b"v1:")
    forged: list[tuple[dict[Any, Any], str]] = [  # buried in stream order
        (_entry("acme", raw=mailgen.simple(2), origin="unsigned"), "unsigned job"),
        (_signed("acme", KEYS["evil"], mailgen.simple(3), "evil's key"), "not match"),
        ({**enqueued, b"tenant": b"evil"}, "does not match tenant 'evil'"),
        ({**enqueued, b"raw": mailgen.simple(4)}, "does not match tenant 'acme'"),
        ({**enqueued, b"job": str(uuid.uuid4()).encode()}, "does not match"),
        (_signed("keyless", KEYS["acme"], mailgen.simple(5), "no key"), "no job key"),
    ]
    for fields, _ in forged:
        _add(queue_env, fields)
    _add(queue_env, {**enqueued, b"attempts": b"3"})  # not signed: stored
    err = _worker(dsn)
    assert f"{len(forged)} jobs to the dead letters" in err, err
    assert _hashes(conn, "acme") == _sha([real])
    assert _hashes(conn, "evil") == [] and _hashes(conn, "keyless") == []
    dead = _dead(dsn)
    assert len(dead) == len(forged)
    for row, (_, reason) in zip(dead, forged, strict=True):
        assert reason in row["error"], (row, reason)
    logged = conn.execute(
        "SELECT count(*) FROM job_log j JOIN tenants t USING (tenant_id) "
        "WHERE t.name = 'acme' AND j.outcome = 'dead'"
    ).fetchone()
    assert logged == (4,)  # the forged jobs that name acme are in its job log

    late = mailgen.simple(6, subject="for a tenant made later")
    _add(queue_env, _signed("later", KEYS["later"], late, "before its tenant"))
    assert "1 job to the dead letters" in _worker(dsn)
    assert _pmail(dsn, "tenant", "add", "later")[0] == 0
    assert _pmail(dsn, "queue", "dead", "retry")[0] == 0  # rewrites attempts
    assert "stored 1 message" in _worker(dsn)
    assert _hashes(conn, "later") == _sha([late])


def test_without_require_signed_a_tenant_with_a_key_still_takes_only_signed_jobs(
    queue_env: QueueEnv, dsn: str, conn: Conn
) -> None:
    """require_signed off: a tenant without a key takes unsigned jobs as before, but
    one with a key (acme) refuses an unsigned job, and one naming it with spaces
    around; a signed one is stored."""
    _sign_with_keys(queue_env, required=False)
    for name in ("acme", "open"):
        assert _pmail(dsn, "tenant", "add", name)[0] == 0
    _add(queue_env, _entry("acme", raw=mailgen.simple(1), origin="unsigned"))
    # refused either way: the worker finds tenants by exact name, and acme's key
    # also covers ' acme ' should that lookup ever strip names as --tenant does
    _add(queue_env, _entry(" acme ", raw=mailgen.simple(4), origin="padded"))
    _add(queue_env, _entry("open", raw=mailgen.simple(2), origin="open"))
    _add(queue_env, _signed("acme", KEYS["acme"], mailgen.simple(3), "signed"))
    err = _worker(dsn)
    assert "stored 2 messages" in err and "2 jobs to the dead letters" in err, err
    assert _hashes(conn, "acme") == _sha([mailgen.simple(3)])
    assert _hashes(conn, "open") == _sha([mailgen.simple(2)])
    assert [d["origin"] for d in _dead(dsn)] == ["unsigned", "padded"]


def test_a_job_key_is_changed_without_losing_queued_jobs(
    queue_env: QueueEnv, dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """While acme's key is changed its keys are a list, newest first: `pmail
    enqueue` signs with the new key, and jobs still queued under the old one are
    stored. Once the old key is dropped, a job signed with it is refused."""
    new, old = "b2" * 32, KEYS["acme"]

    def keys(value: str) -> None:
        queue_env.configure(claim_after=2, linger_ms=20)
        with queue_env.config.open("a") as config:
            config.write(f"require_signed = true\n[queue.job_keys]\nacme = {value}\n")

    keys(f'["{new}", "{old}"]')
    assert _pmail(dsn, "tenant", "add", "acme")[0] == 0
    fresh = mailgen.simple(1, subject="signed with the new key")
    _, enqueued = _enqueue_one(queue_env, dsn, tmp_path, fresh)
    assert enqueued[b"sig"] == signature(enqueued, bytes.fromhex(new)).encode()
    queued = mailgen.simple(2, subject="queued under the old key")
    _add(queue_env, _signed("acme", old, queued, "old key"))
    assert "stored 2 messages" in _worker(dsn)
    assert _hashes(conn, "acme") == _sha([fresh, queued])

    keys(f'"{new}"')
    _add(queue_env, _signed("acme", old, mailgen.simple(3), "retired key"))
    assert "1 job to the dead letters" in _worker(dsn)
    assert "does not match tenant 'acme'" in _dead(dsn)[0]["error"]


def test_a_spooled_file_swapped_under_a_signed_job_is_refused(
    queue_env: QueueEnv, dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """A signed job's signature covers its spooled message's bytes (the job's
    sha256), not only the file's name. Whoever can write into the spool (a producer
    of another tenant running as the same user) replaces the file under acme's
    queued signed job: refused, the planted bytes stored nowhere, the file left for
    the operator. The real file stores; after it, a file planted under the name of
    that stored job with its entry replayed is refused too. Before, the worker
    stored whatever bytes the named file held into acme."""
    _sign_with_keys(
        queue_env, required=True, max_job_bytes=1000, max_message_bytes=50_000
    )
    assert _pmail(dsn, "tenant", "add", "acme")[0] == 0
    real = mailgen.simple(1, subject="acme's large mail", body="r" * 5000)
    _, enqueued = _enqueue_one(queue_env, dsn, tmp_path, real)
    stream = f"{queue_env.prefix}:jobs:normal"
    assert enqueued[b"sha256"] == hashlib.sha256(real).hexdigest().encode()
    folder = queue_env.config.parent / "spool" / tenant_folder("acme")
    path = folder / enqueued[b"spool"].decode()

    planted = mailgen.simple(2, subject="planted", body="x" * 5000)
    path.unlink()
    path.write_bytes(planted)  # a new file of one link, as a rename would leave
    assert "1 job to the dead letters" in _worker(dsn)
    assert _hashes(conn, "acme") == []
    ((dead,),) = [_dead(dsn)]
    assert "SHA-256 differs" in dead["error"], dead
    assert path.read_bytes() == planted  # kept for the operator to look at

    path.write_bytes(real)  # the operator puts the real file back and re-drives
    assert _pmail(dsn, "queue", "dead", "retry")[0] == 0
    assert "stored 1 message" in _worker(dsn)
    assert _hashes(conn, "acme") == _sha([real]) and not path.exists()

    path.write_bytes(planted)  # then a replay of the stored job's entry
    queue_env.client.xadd(stream, {k.decode(): v for k, v in enqueued.items()})
    assert "1 job to the dead letters" in _worker(dsn)
    assert _hashes(conn, "acme") == _sha([real])
    assert "SHA-256 differs" in _dead(dsn)[0]["error"]


# --- 6. the red team's cases: nothing of an entry, a name or an error comes whole ------


def _flat_add(env: QueueEnv, key: str, pairs: list[bytes]) -> str:
    """XADD with the fields as given (repeated and empty names included)."""
    got: Any = env.client.execute_command("XADD", key, "*", *pairs)  # type: ignore[no-untyped-call]
    return _text(got)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def test_a_refused_entry_is_always_buried_and_the_batch_around_it_is_read(
    queue_env: QueueEnv,
) -> None:
    """Entries whose fields alone are under the limit but whose reply is over it (a
    job padded with 40,000 empty fields; before, the worker refused it and Lua,
    counting fields only, never buried it: the worker never finished), between good
    jobs in one batch: one read buries it and returns every good job, those after it
    too (before, they waited claim_after); a claim of one pending to a dead worker
    buries it too."""
    streams = _streams(queue_env)
    stream = f"{queue_env.prefix}:jobs:normal"
    raws = [mailgen.simple(100 + i) for i in range(6)]
    padded = [b"", b""] * 40_000
    for raw in raws[:3]:
        _add(queue_env, _entry(raw=raw, origin="good"))
    fields = _entry(raw=b"x", origin="padded")
    flat = [
        v if isinstance(v, bytes) else str(v).encode()
        for kv in fields.items()
        for v in kv
    ]
    _flat_add(queue_env, stream, [*flat, *padded])
    for raw in raws[3:]:
        _add(queue_env, _entry(raw=raw, origin="good"))
    got = streams.read("w1", 10, 0)
    assert sorted(d.job.raw or b"" for d in got if d.dead_id is None) == sorted(raws)
    assert [d.job.origin for d in got if d.dead_id] == ["padded"]
    assert [d.job.origin for d in streams.dead()] == ["padded"]
    streams.ack([d for d in got if d.dead_id is None])
    assert queue_env.client.xlen(stream) == 0

    _flat_add(queue_env, stream, [*flat, *padded])
    queue_env.client.xreadgroup("workers", "gone", {stream: ">"}, count=1)
    claimed, exhausted = streams.claim_due("w2", claim_after=0, max_deliveries=1)
    assert exhausted == [] and [bool(d.dead_id) for d in claimed] == [True]
    assert queue_env.client.xlen(stream) == 0


def test_names_and_errors_planted_in_redis_are_never_read_whole(
    queue_env: QueueEnv, dsn: str
) -> None:
    """A consumer name of 4 MB holding pending entries, an error-hash field name of
    8 MB, an error of 8 MB for a real entry, a dead letter of 200,000 tiny fields:
    claims, status, the last error, `queue dead list` get a few kilobytes (before:
    the claim loop read every name and key whole, twice a second). `queue dead
    retry` puts a 48 MiB dead letter back inside Redis, never sending it."""
    streams = _streams(queue_env)
    stream = f"{queue_env.prefix}:jobs:normal"
    errors = f"{queue_env.prefix}:errors"
    entry_id = _add(queue_env, _entry(raw=b"x", origin="held"))
    queue_env.client.xreadgroup("workers", "c" * (4 << 20), {stream: ">"}, count=1)
    queue_env.client.hset(errors, "e" * (8 << 20), "x")
    queue_env.client.hset(errors, f"normal/{entry_id}", "E" * (8 << 20))
    dead = f"{queue_env.prefix}:dead"
    _flat_add(queue_env, dead, [b"origin", b"tiny", *[b"f", b"v"] * 200_000])
    before = _sent(queue_env)
    claimed, _ = streams.claim_due("w1", claim_after=3600, max_deliveries=5)
    statuses, _ = streams.status()
    code, out, err = _pmail(dsn, "queue", "dead", "list", "--format", "json")
    assert _sent(queue_env) - before < 1 << 20
    assert claimed == [] and {s.priority: s.in_flight for s in statuses}["normal"] == 1
    assert code == 0 and [r["origin"] for r in json.loads(out)] == ["tiny"], err
    time.sleep(1)  # its error marks it failed: it waits out its first backoff
    claimed, _ = streams.claim_due("w1", claim_after=0, max_deliveries=5)
    assert [d.job.origin for d in claimed] == ["held"]
    error = streams.last_error(claimed[0])
    assert error is not None and error == "E" * 4096

    queue_env.client.delete(dead)
    back: Any = {**_huge(origin="back"), "original": "bulk/1-0"}
    queue_env.client.xadd(dead, back)
    before = _sent(queue_env)
    assert _pmail(dsn, "queue", "dead", "retry")[0] == 0
    assert _sent(queue_env) - before < HUGE // 4
    assert queue_env.client.xlen(f"{queue_env.prefix}:jobs:bulk") == 1


def test_a_worker_carries_on_when_redis_loses_its_streams(queue_env: QueueEnv) -> None:
    """The streams and their consumer group vanish (Redis restarted without
    persistence, or flushed): the next read makes them again instead of failing
    every read until the worker is restarted, and new jobs are read. One stream
    gone does not cost the jobs already read from another."""
    streams = _streams(queue_env)
    _add(queue_env, _entry(raw=b"first", origin="first", priority="high"), "high")
    queue_env.client.delete(f"{queue_env.prefix}:jobs:bulk")
    assert [d.job.origin for d in streams.read("w1", 10, 0)] == ["first"]
    for priority in ("high", "normal", "bulk"):
        queue_env.client.delete(f"{queue_env.prefix}:jobs:{priority}")
    assert streams.claim_due("w1", claim_after=0, max_deliveries=5) == ([], [])
    for priority in ("high", "normal", "bulk"):
        queue_env.client.delete(f"{queue_env.prefix}:jobs:{priority}")
    assert streams.read("w1", 10, 0) == []
    _add(queue_env, _entry(raw=b"after", origin="after"))
    assert [d.job.origin for d in streams.read("w1", 10, 0)] == ["after"]


# --- 7. the second red-team pass ----------------------------------------------------------


def test_a_delivery_count_set_by_anyone_does_not_stall_the_workers(
    queue_env: QueueEnv, dsn: str, conn: Conn
) -> None:
    """Anyone can set an entry's delivery count (XCLAIM RETRYCOUNT) and mark it
    failed: before, the backoff of 2**(count-1) overflowed and every claim pass of
    every worker failed, so no job was stored again. Now the entry is a dead letter
    and the good job is stored."""
    queue_env.configure(claim_after=2, linger_ms=20, max_deliveries=3)
    assert _pmail(dsn, "tenant", "add", "acme")[0] == 0
    stream = f"{queue_env.prefix}:jobs:bulk"
    _add(queue_env, _entry(raw=mailgen.simple(1), priority="bulk"), "bulk")
    assert _worker(dsn)  # makes the group; stores the entry
    poisoned = _add(queue_env, _entry(raw=mailgen.simple(2), priority="bulk"), "bulk")
    queue_env.client.xreadgroup("workers", "gone", {stream: ">"}, count=1)
    queue_env.client.hset(f"{queue_env.prefix}:errors", f"bulk/{poisoned}", "x")
    queue_env.client.execute_command(  # type: ignore[no-untyped-call]
        "XCLAIM", stream, "workers", "gone", 0, poisoned, "RETRYCOUNT", 2**31
    )
    good = mailgen.simple(3)
    _add(queue_env, _entry(raw=good, origin="good"))
    time.sleep(1)
    claimed, exhausted = _streams(queue_env).claim_due(
        "probe", claim_after=3600, max_deliveries=2**32
    )  # before: OverflowError here, in every worker's every claim pass
    assert claimed == exhausted == []
    err = _worker(dsn)
    assert "0 batches retried" in err and "1 job to the dead letters" in err, err
    assert _hashes(conn, "acme") == _sha([mailgen.simple(1), good])


def test_a_forged_entry_with_a_real_jobs_id_does_not_take_its_log_row(
    queue_env: QueueEnv, dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """acme signs its jobs; a forged entry on the high stream carries the id of
    acme's real job (ids are in the stream). The forged one is a dead letter and
    the real one is stored; acme's job log says so under the real id (before, the
    forged entry's `dead` row took the id first)."""
    _sign_with_keys(queue_env, required=True)
    assert _pmail(dsn, "tenant", "add", "acme")[0] == 0
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "a.eml").write_bytes(mailgen.simple(1))
    assert _pmail(dsn, "enqueue", str(inputs), "-t", "acme")[0] == 0
    entries: Any = queue_env.client.xrange(f"{queue_env.prefix}:jobs:normal")
    job_id = entries[0][1][b"job"].decode()
    _add(queue_env, _entry(raw=mailgen.simple(2), job=job_id, priority="high"), "high")
    err = _worker(dsn)
    assert "stored 1 message" in err and "1 job to the dead letters" in err, err
    rows = conn.execute(
        "SELECT outcome FROM job_log WHERE job_id = %s", (job_id,)
    ).fetchall()
    assert rows == [("stored",)]


def test_recovery_goes_past_an_entry_deleted_while_pending(queue_env: QueueEnv) -> None:
    """After a refused reply the worker reads its pending entries one by one; one
    of them deleted meanwhile (XDEL) used to end that read, leaving the good ones
    after it to wait claim_after. Now it is acknowledged and the read goes on."""
    streams = _streams(queue_env)
    stream = f"{queue_env.prefix}:jobs:normal"
    ids = [
        _add(queue_env, _entry(raw=mailgen.simple(i), origin=f"g{i}")) for i in range(4)
    ]
    queue_env.client.xreadgroup("workers", "w1", {stream: ">"}, count=4)
    queue_env.client.xdel(stream, ids[1])
    got = streams._recover("w1", ["normal"], 10)
    assert [d.job.origin for d in got] == ["g0", "g2", "g3"]
    pending: Any = queue_env.client.xpending(stream, "workers")
    assert pending["pending"] == 3  # the deleted one left the pending list


def test_one_read_takes_at_most_its_byte_budget(queue_env: QueueEnv) -> None:
    """300 entries just under the entry limit (48 MB): one read stops after about
    32 MB of replies instead of holding the whole batch; the next read takes the
    rest, and none is lost or buried."""
    streams = _streams(queue_env)
    for i in range(300):
        _add(queue_env, _entry(raw=b"%05d" % i + b"r" * 160_000, origin=f"e{i}"))
    first = streams.read("w1", 500, 0)
    rest = streams.read("w1", 500, 0)
    assert 150 < len(first) < 300 and all(d.dead_id is None for d in first + rest)
    assert sorted(d.job.origin for d in first + rest) == sorted(
        f"e{i}" for i in range(300)
    )


# --- 8. the third red-team pass -----------------------------------------------------------


def test_an_error_cut_inside_a_character_does_not_stall_the_workers(
    queue_env: QueueEnv, dsn: str, conn: Conn
) -> None:
    """An exhausted entry whose last error (anyone may write the errors hash) is
    4,095 bytes and an "é": streams.lua cuts it at 4,096 bytes, inside the "é".
    Before, decoding it raised in every claim pass of every worker, so no batch was
    stored; now the entry is a dead letter with the text it could show, and the
    good job beside it is stored."""
    queue_env.configure(claim_after=2, linger_ms=20, max_deliveries=3)
    assert _pmail(dsn, "tenant", "add", "acme")[0] == 0
    stream = f"{queue_env.prefix}:jobs:normal"
    _add(queue_env, _entry(raw=mailgen.simple(1)))
    assert _worker(dsn)  # makes the group; stores the entry
    poisoned = _add(queue_env, _entry(raw=mailgen.simple(2), origin="poisoned"))
    queue_env.client.xreadgroup("workers", "gone", {stream: ">"}, count=1)
    queue_env.client.execute_command(  # type: ignore[no-untyped-call]
        "XCLAIM", stream, "workers", "gone", 0, poisoned, "RETRYCOUNT", 10
    )
    queue_env.client.hset(
        f"{queue_env.prefix}:errors", f"normal/{poisoned}", ("x" * 4095 + "é").encode()
    )
    good = mailgen.simple(3)
    _add(queue_env, _entry(raw=good, origin="good"))
    err = _worker(dsn)
    assert "a batch failed" not in err and "1 job to the dead letters" in err, err
    assert _hashes(conn, "acme") == _sha([mailgen.simple(1), good])
    (dead,) = _dead(dsn)
    assert dead["origin"] == "poisoned" and dead["error"].startswith("x" * 4095)


def test_a_key_of_another_type_where_the_errors_hash_goes_is_moved_aside(
    queue_env: QueueEnv, dsn: str, conn: Conn
) -> None:
    """One XADD makes the errors hash's key a stream: before, every HSET, HDEL and
    HEXISTS there failed (WRONGTYPE), the first worker exited with its jobs pending
    and every later one failed each batch. Now a worker moves the key aside when it
    starts, says so, and stores the jobs; a bad job beside them is buried."""
    assert _pmail(dsn, "tenant", "add", "acme")[0] == 0
    errors_key = f"{queue_env.prefix}:errors"
    queue_env.client.xadd(errors_key, {"x": "y"})
    raws = _good(queue_env, 3)
    _add(queue_env, _entry(job="not-a-uuid", raw=b"x", origin="bad"))
    err = _worker(dsn)
    assert "stored 3 messages" in err and "1 job to the dead letters" in err, err
    assert _hashes(conn, "acme") == _sha(raws)
    assert queue_env.client.type(errors_key) in (b"none", b"hash")
    aside = list(queue_env.client.scan_iter(f"{errors_key}:aside:*"))
    assert len(aside) == 1 and queue_env.client.type(aside[0]) == b"stream"


def test_a_move_redis_refuses_loses_no_job(queue_env: QueueEnv) -> None:
    """Burying or giving back an entry used to run as MULTI: when Redis refused the
    XADD, the XACK and XDEL after it ran anyway and the job was gone. Now the move
    stops at the refused XADD: here the dead letters' key is made a string, the
    bury fails with an error/hint, the entry stays pending, the key is moved aside,
    and the bury then goes through."""
    streams = _streams(queue_env)
    stream = f"{queue_env.prefix}:jobs:normal"
    _add(queue_env, _entry(raw=mailgen.simple(1), origin="g1"))
    (got,) = streams.read("w1", 10, 0)
    queue_env.client.delete(f"{queue_env.prefix}:dead")
    queue_env.client.set(f"{queue_env.prefix}:dead", "not a stream")
    with pytest.raises(QueueUnavailable) as refused:
        streams.bury(got, "refused")
    assert "moved" in str(refused.value.hint)
    pending: Any = queue_env.client.xpending(stream, "workers")
    assert pending["pending"] == 1 and queue_env.client.xlen(stream) == 1
    streams.bury(got, "refused")
    assert queue_env.client.xlen(stream) == 0
    assert queue_env.client.xlen(f"{queue_env.prefix}:dead") == 1


def test_a_stream_at_the_largest_id_loses_no_job(
    queue_env: QueueEnv, dsn: str, tmp_path: Path
) -> None:
    """An entry added with the largest id a stream can have makes Redis refuse every
    new one there. A bury into such a dead-letter stream, or a give-back into such a
    job stream, used to run as MULTI, and the XACK and XDEL after the refused XADD
    went through: the jobs were gone. Now the move stops at the refused XADD and the
    jobs stay pending; the error's hint gives the repair (pmail does not repair it
    itself: a second pass showed that deleting the entry at the largest id deletes
    pmail's own job once one lands there). `pmail enqueue` says the same instead of
    asking for a newer Redis."""
    streams = _streams(queue_env)
    stream = f"{queue_env.prefix}:jobs:normal"
    largest = "18446744073709551615-18446744073709551615"
    for i in range(3):
        _add(queue_env, _entry(raw=mailgen.simple(i), origin=f"g{i}"))
    got = streams.read("w1", 10, 0)
    assert len(got) == 3
    queue_env.client.xadd(f"{queue_env.prefix}:dead", {"x": "y"}, id=largest)
    with pytest.raises(QueueUnavailable) as buried:
        streams.bury(got[0], "refused")
    assert "XGROUP SETID" in str(buried.value.hint)
    queue_env.client.xadd(stream, {"x": "y"}, id=largest)
    with pytest.raises(QueueUnavailable):
        streams.release(got)
    pending: Any = queue_env.client.xpending(stream, "workers")
    assert pending["pending"] == 3
    kept = {e[0].decode() for e in queue_env.client.xrange(stream)}  # type: ignore[union-attr]
    assert {d.entry_id for d in got} <= kept
    assert _pmail(dsn, "tenant", "add", "acme")[0] == 0
    (tmp_path / "a.eml").write_bytes(mailgen.simple(9))
    code, _, err = _pmail(dsn, "enqueue", str(tmp_path / "a.eml"), "-t", "acme")
    assert code == 75 and "largest id" in err and "Redis 6.2" not in err, err


def test_an_entry_of_thousands_of_fields_costs_no_other_job(
    queue_env: QueueEnv, dsn: str, conn: Conn
) -> None:
    """An entry of 4,001 extra fields (136 KB, under the size limit, so read and
    refused): burying it failed in streams.lua (too many values to unpack), and the
    failure left the read with the good job read beside it, which was claimed again
    until it was buried as never acknowledged; `--burst` never ended. Now the dead
    letter keeps the entry's known fields, and the good job is stored."""
    queue_env.configure(claim_after=2, linger_ms=20, max_deliveries=3)
    assert _pmail(dsn, "tenant", "add", "acme")[0] == 0
    wide = _entry(raw=b"From: x\n\nbody\n", origin="wide")
    wide.update({f"x{i}": "v" for i in range(4001)})
    _add(queue_env, wide)
    good = mailgen.simple(1)
    _add(queue_env, _entry(raw=good, origin="good"))
    err = _worker(dsn)
    assert "could not be buried" not in err and "1 job to the dead letters" in err, err
    assert _hashes(conn, "acme") == _sha([good])
    (dead,) = _dead(dsn)
    assert dead["origin"] == "wide" and "unknown field" in dead["error"]


def test_a_producer_allowed_only_the_job_streams_can_enqueue(
    queue_env: QueueEnv, dsn: str, tmp_path: Path
) -> None:
    """docs/queue.md gives producers rights on the job streams only (a Redis ACL
    `~<prefix>:jobs:*`). Such a producer must still enqueue: the check of pmail's
    other keys (move_aside_wrong_types) is the workers' and the queue commands'."""
    user, password = f"pmailtest_{os.getpid()}_{uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    queue_env.client.acl_setuser(
        user,
        enabled=True,
        passwords=[f"+{password}"],
        keys=[f"{queue_env.prefix}:jobs:*"],
        commands=["+@all"],
    )
    try:
        assert _pmail(dsn, "tenant", "add", "acme")[0] == 0
        url = queue_env.url.replace("redis://", f"redis://{user}:{password}@", 1)
        (tmp_path / "a.eml").write_bytes(mailgen.simple(1))
        result = runner.invoke(
            app,
            ["--dsn", dsn, "enqueue", str(tmp_path / "a.eml"), "-t", "acme"],
            env={"PMAIL_QUEUE_URL": url},
        )
        assert result.exit_code == 0, result.stderr
        assert queue_env.client.xlen(f"{queue_env.prefix}:jobs:normal") == 1
    finally:
        queue_env.client.acl_deluser(user)


def test_a_dead_letter_with_a_nul_is_redriven_and_audited(
    queue_env: QueueEnv, dsn: str, conn: Conn
) -> None:
    """A job whose tenant field holds a NUL is buried; `queue dead retry` used to
    move it back in Redis and then fail writing its audit entry (jsonb refuses
    NUL), with a traceback and no entry. Now the entry is written first, with the
    NUL shown as \\x00, and the job is back on its stream."""
    assert _pmail(dsn, "tenant", "add", "acme")[0] == 0
    _add(queue_env, _entry(tenant=b"ac\x00me", raw=b"x", origin="nul"))
    err = _worker(dsn)
    assert "1 job to the dead letters" in err, err
    code, _, err = _pmail(dsn, "queue", "dead", "retry")
    assert code == 0, err
    assert queue_env.client.xlen(f"{queue_env.prefix}:jobs:normal") == 1
    row = conn.execute(
        "SELECT result FROM admin_audit_log WHERE action = 'queue dead retry'"
    ).fetchone()
    assert row is not None
    (job,) = row[0]["jobs"]  # type: ignore[index]
    assert job["tenant"] == "ac\\x00me"
