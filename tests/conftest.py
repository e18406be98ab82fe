"""Shared fixtures: a real PostgreSQL (PMAIL_TEST_DSN, else the embedded one), fresh per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import redis
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pytest_postgresql import factories

from pmail_cli import migrations
from tests.support import leftovers

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("PMAIL_CORPUS", REPO.parent / "shared" / "corpus"))
DATA = REPO / "tests" / "data"


EMBEDDED_ROOT: Path | None = None  # this run's embedded server, if it has one


def _server() -> dict[str, str]:
    """Return host/port/user/password of the server the suite runs against."""
    global EMBEDDED_ROOT
    dsn = os.environ.get("PMAIL_TEST_DSN")
    if not dsn:  # a server of this run's own, removed at the end (support/leftovers)
        EMBEDDED_ROOT, dsn = leftovers.start_server()
        leftovers.at_session_end(leftovers.stop_server, EMBEDDED_ROOT)
    params = {k: str(v) for k, v in conninfo_to_dict(dsn).items() if v is not None}
    return {
        "host": params.get("host", "127.0.0.1"),
        "port": params.get("port", "5432"),
        "user": params.get("user", "postgres"),
        "password": params.get("password", ""),
    }


SERVER = _server()


def load_schema(
    host: str, port: int, user: str, dbname: str, password: str | None, **_: object
) -> None:
    """Build the template database with pmail's real migrations."""
    dsn = make_conninfo(
        host=host, port=port, user=user, dbname=dbname, password=password or None
    )
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrations.apply_pending(conn)


pg_server = factories.postgresql_noproc(
    host=SERVER["host"],
    port=SERVER["port"],
    user=SERVER["user"],
    password=SERVER["password"] or None,
    dbname=f"pmail_test_{os.getpid()}",  # concurrent runs never share a template
    load=[load_schema],
)
pg = factories.postgresql("pg_server")


@pytest.fixture
def dsn(pg: psycopg.Connection) -> str:
    """A DSN for a fresh database holding pmail's schema."""
    return make_conninfo(pg.info.dsn, password=pg.info.password or None)


@pytest.fixture
def conn(dsn: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A connection to the fresh database (superuser: row-level security is bypassed)."""
    with psycopg.connect(dsn) as connection:
        yield connection


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Never read the developer's PMAIL_* variables or config file; an embedded
    server a test started in its data directory is stopped after it."""
    for name in ("PMAIL_DSN", "PMAIL_DEBUG", "PMAIL_IMAP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PMAIL_CONFIG", str(tmp_path / "config.toml"))
    # never the developer's resident server: a directory that does not exist
    monkeypatch.setenv("PMAIL_RESIDENT_DIR", str(tmp_path / "resident"))
    # outside pytest's temp root: pytest makes that root private again when another
    # run starts, and the embedded server (a system user of its own under root)
    # could then no longer reach its data
    data = leftovers.data_dir()
    monkeypatch.setenv("PMAIL_DATA_DIR", str(data))
    yield
    leftovers.stop_server(data)


@pytest.fixture
def corpus() -> Path:
    """The shared real-mail corpus; missing means a broken checkout, so fail."""
    if not (CORPUS / "MANIFEST.tsv").is_file():
        pytest.fail(f"the shared corpus is missing at {CORPUS} (set PMAIL_CORPUS)")
    return CORPUS


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that reads the shared corpus carries the `corpus` marker."""
    for item in items:
        if "corpus" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.corpus)


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Show which PostgreSQL the run talks to."""
    source = "PMAIL_TEST_DSN" if os.environ.get("PMAIL_TEST_DSN") else "embedded"
    where = f"host={SERVER['host']} port={SERVER['port']}"
    try:
        dsn = make_conninfo(
            host=SERVER["host"],
            port=SERVER["port"],
            user=SERVER["user"],
            password=SERVER["password"] or None,
            dbname="postgres",
        )
        with psycopg.connect(dsn) as c:
            row = c.execute("SHOW server_version").fetchone()
            version = str(row[0]) if row else "?"
    except psycopg.Error as exc:
        version = f"unreachable ({exc})"
    return [f"postgresql: {version} ({source}, {where})"]


pytest_plugins = ["tests.support.pytest_dovecot"]


def pytest_configure(config: pytest.Config) -> None:
    """The leftovers check runs in every session (imported above, so registered
    as a module rather than named in pytest_plugins)."""
    if not config.pluginmanager.is_registered(leftovers):
        config.pluginmanager.register(leftovers, "pmail-leftovers")


# --- a real Redis for the queue (tests/queue, the documented examples) ---------------
# `scripts/test.sh` starts a private Redis when none answers on 127.0.0.1:6379 and sets
# PMAIL_TEST_REDIS_URL. Each test gets its own key prefix (two runs on one machine, or
# two tests, never share a stream) and its keys are deleted after it.

REDIS_URL = os.environ.get("PMAIL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@dataclass
class QueueEnv:
    """Where a test's queue lives and how to change its settings."""

    url: str
    prefix: str
    config: Path
    client: redis.Redis

    def configure(self, **queue: object) -> None:
        """Write the [queue] table of the test's config file."""
        lines = [
            f'prefix = "{self.prefix}"',
            f'spool_dir = "{self.config.parent / "spool"}"',
        ]
        lines += [
            f"{k} = {v!r}" if not isinstance(v, str) else f'{k} = "{v}"'
            for k, v in queue.items()
        ]
        self.config.write_text("[queue]\n" + "\n".join(lines) + "\n")
        self.config.chmod(0o600)  # it may hold the Redis password and job keys


@pytest.fixture
def queue_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[QueueEnv]:
    """A private prefix on a real Redis, PMAIL_QUEUE_URL set, short timings."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        pytest.fail(
            f"no Redis at {REDIS_URL} ({exc}); run the tests with scripts/test.sh, which "
            "starts one, or set PMAIL_TEST_REDIS_URL"
        )
    env = QueueEnv(
        REDIS_URL,
        f"pmailtest-{os.getpid()}-{uuid.uuid4().hex[:8]}",
        Path(os.environ["PMAIL_CONFIG"]),
        client,
    )
    env.configure(claim_after=2, linger_ms=20)
    monkeypatch.setenv("PMAIL_QUEUE_URL", REDIS_URL)
    yield env
    keys = list(client.scan_iter(match=f"{env.prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()
