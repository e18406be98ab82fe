"""The resident server (`pmail resident`, resident.py, resident_server.py): real
processes, a real database. A command gives the same output and exit status through
the server as without it; anything wrong with the server and the command runs in
its own process as before; and each defence of the server holds against an attack.

Every test has its own socket directory (PMAIL_RESIDENT_DIR under its tmp_path), so
runs never meet, and stops the servers it started.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import resource
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pmail_cli import cli, resident, resident_server

PMAIL = str(Path(sys.executable).with_name("pmail"))
SRC = Path(resident.__file__).resolve().parents[1]
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
BOUNCES = (
    SAMPLE / "sisimai-set-of-emails" / "lhost-postfix-01.eml",
    SAMPLE / "sisimai-set-of-emails" / "lhost-qmail-01.eml",
)
# `pmail` as the program runs it, that also writes to PMAIL_TEST_WAY whether the
# resident server ran the command ("served") or this process did ("here").
LAUNCH = (
    "import os, sys\n"
    "from pmail_cli import __main__ as entry, resident\n"
    "real = resident.run\n"
    "def run(argv):\n"
    "    status = real(argv)\n"
    "    with open(os.environ['PMAIL_TEST_WAY'], 'w') as fh:\n"
    "        fh.write('here' if status is None else 'served')\n"
    "    return status\n"
    "resident.run = run\n"
    "sys.argv = ['pmail', *sys.argv[1:]]\n"
    "entry.main()\n"
)


class Run:
    """How one command ended, and which process ran it."""

    def __init__(self, done: subprocess.CompletedProcess[bytes], way: str) -> None:
        self.code, self.out, self.err, self.way = (
            done.returncode,
            done.stdout,
            done.stderr,
            way,
        )

    def result(self) -> tuple[int, bytes, bytes]:
        return self.code, self.out, self.err


def pmail(
    env: dict[str, str],
    *args: str,
    stdin: bytes | None = None,
    cwd: Path | None = None,
) -> Run:
    """`pmail ARGS` in a new process with `env`; which way it ran."""
    way = Path(env["PMAIL_RESIDENT_DIR"]).parent / "way.txt"
    way.unlink(missing_ok=True)
    done = subprocess.run(
        [sys.executable, "-c", LAUNCH, *args],
        input=stdin,
        capture_output=True,
        env={**env, "PMAIL_TEST_WAY": str(way)},
        cwd=cwd,
        timeout=120,
    )
    return Run(done, way.read_text() if way.exists() else "")


def control(env: dict[str, str], *args: str) -> str:
    """`pmail resident ARGS`, which must succeed: its stdout and stderr."""
    done = subprocess.run(
        [PMAIL, "resident", *args], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def server_pid(env: dict[str, str]) -> int | None:
    """The pid `pmail resident status` gives (None: stopped)."""
    for line in control(env, "status").splitlines():
        if line.startswith("pid: "):
            return int(line[5:])
    return None


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """This environment with a socket directory of the test's own (mode 700); the
    server started in it is stopped at the end."""
    where = tmp_path / "r"
    where.mkdir(mode=0o700)
    environ = {**os.environ, resident.DIR_VARIABLE: str(where)}
    yield environ
    pid = server_pid(environ)
    if pid is not None:
        os.kill(pid, signal.SIGKILL)
    for path in where.glob("*.sock"):
        path.unlink()


@pytest.fixture
def direct(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The same environment with no server to find (its directory is empty)."""
    empty = tmp_path / "none" / "r"
    empty.mkdir(mode=0o700, parents=True)
    return {**env, resident.DIR_VARIABLE: str(empty)}


@pytest.fixture
def stored(dsn: str, env: dict[str, str]) -> str:
    """A database with two bounces stored for tenant `acme`."""
    for args in (
        ["tenant", "add", "acme"],
        ["ingest", *map(str, BOUNCES), "-t", "acme"],
    ):
        done = subprocess.run(
            [PMAIL, "--dsn", dsn, "-q", *args], capture_output=True, env=env
        )
        assert done.returncode == 0, done.stderr
    return dsn


def started(env: dict[str, str]) -> int:
    """Start the server; its pid."""
    said = control(env, "start")
    assert "resident server running (pid" in said, said
    pid = server_pid(env)
    assert pid is not None
    return pid


def test_client_knows_the_global_options_of_the_cli() -> None:
    """The client finds the command name past the same global options as the CLI."""
    assert resident.GLOBAL_FLAGS == cli.GLOBAL_FLAGS
    assert resident.GLOBAL_WITH_VALUE == cli.GLOBAL_WITH_VALUE
    assert resident.command_of(["--dsn", "x", "-v", "list", "-t", "a"]) == "list"
    assert resident.command_of(["--", "list"]) is None
    assert set(resident.ROUTED) <= set(cli.COMMAND_MODULES)
    assert "resident" not in resident.ROUTED and "worker" not in resident.ROUTED


@pytest.mark.db
def test_same_output_and_status_through_the_server(
    stored: str, env: dict[str, str], direct: dict[str, str]
) -> None:
    """list, search, show, tenant list, a report, an unknown tenant (error/hint,
    exit 1) and a bad value (exit 2): byte-identical stdout and stderr and the same
    exit status through the server as in-process."""
    started(env)
    key = pmail(direct, "--dsn", stored, "list", "-t", "acme", "-f", "json").out
    key_prefix = key.split(b'"key": "', 1)[1][:12].decode()
    commands = [
        ["list", "-t", "acme"],
        ["search", "undelivered", "-t", "acme", "-f", "json"],
        ["show", key_prefix, "-t", "acme"],
        ["tenant", "list"],
        ["report", "volume", "-t", "acme", "-f", "csv"],
        ["list", "-t", "nosuch"],
        ["list", "--type", "nonsense", "-t", "acme"],
    ]
    for args in commands:
        here = pmail(direct, "--dsn", stored, *args)
        served = pmail(env, "--dsn", stored, *args)
        assert (here.way, served.way) == ("here", "served"), args
        assert served.result() == here.result(), args
    codes = [pmail(env, "--dsn", stored, *a).code for a in commands[-2:]]
    assert codes == [1, 2]
    failed = pmail(env, "--dsn", stored, "list", "-t", "nosuch")
    assert failed.err.startswith(b"error: tenant 'nosuch' does not exist\nhint: ")


@pytest.mark.db
def test_a_closed_stdout_ends_the_same_through_the_server(
    stored: str, env: dict[str, str]
) -> None:
    """A reader that has gone (`| head -0`): the served command ends quietly with
    exit 141, as in-process (tests/cli/test_closed_stdout.py)."""
    started(env)
    way = Path(env["PMAIL_RESIDENT_DIR"]).parent / "way.txt"
    for args in (["list", "-t", "acme"], ["tenant", "list", "-f", "csv"]):
        read_end, write_end = os.pipe()
        os.close(read_end)
        with os.fdopen(write_end, "wb") as closed:
            done = subprocess.run(
                [sys.executable, "-c", LAUNCH, "--dsn", stored, *args],
                stdout=closed,
                stderr=subprocess.PIPE,
                env={**env, "PMAIL_TEST_WAY": str(way)},
                timeout=120,
            )
        assert (way.read_text(), done.returncode, done.stderr) == ("served", 141, b"")


@pytest.mark.db
def test_stdin_and_working_directory_reach_the_command(
    env: dict[str, str], direct: dict[str, str], tmp_path: Path
) -> None:
    """`pmail classify -` reads the client's stdin, and a relative path is read
    from the client's working directory."""
    started(env)
    message = BOUNCES[0].read_bytes()
    here = pmail(direct, "classify", "-", stdin=message)
    served = pmail(env, "classify", "-", stdin=message)
    assert served.way == "served" and served.code == 0
    assert served.result() == here.result()
    assert b"bounce" in served.out
    (tmp_path / "work").mkdir()
    shutil.copy(BOUNCES[1], tmp_path / "work" / "one.eml")
    here = pmail(direct, "classify", "one.eml", cwd=tmp_path / "work")
    served = pmail(env, "classify", "one.eml", cwd=tmp_path / "work")
    assert served.way == "served" and served.code == 0
    assert served.result() == here.result()


@pytest.mark.db
def test_no_environment_leaks_between_requests(
    stored: str, env: dict[str, str], tmp_path: Path
) -> None:
    """A command sees the client's environment only: neither the server's nor an
    earlier request's PMAIL_DSN."""
    started({**env, "PMAIL_DSN": stored})  # the server's own environment
    good = pmail({**env, "PMAIL_DSN": stored}, "tenant", "list")
    assert (good.way, good.code) == ("served", 0) and b"acme" in good.out
    config = tmp_path / "bad.toml"
    config.write_text('dsn = "host=127.0.0.1 port=1 connect_timeout=2"\n')
    bare = {k: v for k, v in env.items() if k != "PMAIL_DSN"}
    bad = pmail({**bare, "PMAIL_CONFIG": str(config)}, "tenant", "list")
    assert bad.way == "served" and bad.code == 1
    assert bad.err.startswith(b"error: cannot connect to PostgreSQL"), bad.err


@pytest.mark.db
def test_status_and_stop(env: dict[str, str], direct: dict[str, str]) -> None:
    """status names the socket and pid; stop ends the server and removes the
    socket; the next command runs in its own process."""
    assert "state: stopped" in control(env, "status")
    pid = started(env)
    said = control(env, "status")
    assert "state: running" in said and f"pid: {pid}" in said
    assert "already" not in control(env, "start") and server_pid(env) == pid
    assert f"stopped the resident server (pid {pid})" in control(env, "stop")
    assert "state: stopped" in control(env, "status")
    assert list(Path(env[resident.DIR_VARIABLE]).glob("*.sock")) == []
    assert "was not running" in control(env, "stop")
    run = pmail(env, "classify", str(BOUNCES[0]))
    assert (run.way, run.code) == ("here", 0)


@pytest.mark.db
def test_a_killed_server_leaves_a_socket_that_is_not_used(
    env: dict[str, str], direct: dict[str, str]
) -> None:
    """After kill -9 the socket file stays; commands run in-process with the same
    result (-v says why), and start replaces the stale socket."""
    pid = started(env)
    os.kill(pid, signal.SIGKILL)
    while _alive(pid):
        time.sleep(0.01)
    assert list(Path(env[resident.DIR_VARIABLE]).glob("*.sock"))
    run = pmail(env, "classify", str(BOUNCES[0]))
    assert (
        run.way == "here"
        and run.result() == pmail(direct, "classify", str(BOUNCES[0])).result()
    )
    noted = pmail(env, "-v", "classify", str(BOUNCES[0]))
    assert b"note: resident server not used:" in noted.err and noted.code == 0
    started(env)
    assert pmail(env, "classify", str(BOUNCES[0])).way == "served"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie of ours is not alive
        return os.waitpid(pid, os.WNOHANG)[0] == 0
    except ChildProcessError:
        return True


def test_another_version_is_not_used(tmp_path: Path) -> None:
    """A server runs the code it loaded: once a file of the installed pmail
    changes, commands run in-process (same result) and the server stops."""
    site = tmp_path / "site"
    shutil.copytree(SRC / "pmail_cli", site / "pmail_cli", ignore=_no_pycache)
    shutil.copytree(SRC.parent / "sql", site / "pmail_cli" / "sql")
    where = tmp_path / "r"
    where.mkdir(mode=0o700)
    env = {
        **os.environ,
        "PYTHONPATH": str(site),
        resident.DIR_VARIABLE: str(where),
    }
    try:
        started(env)
        first = pmail(env, "classify", str(BOUNCES[0]))
        assert (first.way, first.code) == ("served", 0)
        changed = site / "pmail_cli" / "vocab.py"
        os.utime(changed, ns=(0, changed.stat().st_mtime_ns + 1_000_000_000))
        second = pmail(env, "-v", "classify", str(BOUNCES[0]))
        assert second.way == "here" and second.out == first.out
        assert b"another version of pmail" in second.err
        for _ in range(500):
            if server_pid(env) is None:
                break
            time.sleep(0.02)
        assert server_pid(env) is None
    finally:
        pid = server_pid(env)
        if pid is not None:
            os.kill(pid, signal.SIGKILL)


def _no_pycache(directory: str, names: list[str]) -> list[str]:
    return [n for n in names if n == "__pycache__"]


@pytest.mark.db
def test_the_umask_reaches_the_command(
    stored: str, env: dict[str, str], direct: dict[str, str], tmp_path: Path
) -> None:
    """Files the command creates get the client's umask (077 here), not the
    server's."""
    started(env)
    modes = []
    for name, environ in (("here", direct), ("served", env)):
        out = tmp_path / name
        args = ["--dsn", stored, "-q", "export", "-t", "acme", "--out", str(out)]
        run = subprocess.run(
            [sys.executable, "-c", UMASK_LAUNCH, *args],
            capture_output=True,
            env=environ,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr
        files = sorted(out.iterdir())
        assert len(files) == 2
        modes.append({f.stat().st_mode & 0o777 for f in files})
    assert modes == [{0o600}, {0o600}]


UMASK_LAUNCH = (
    "import os, sys\n"
    "os.umask(0o077)\n"
    "sys.argv = ['pmail', *sys.argv[1:]]\n"
    "from pmail_cli.__main__ import main\n"
    "main()\n"
)


@pytest.mark.db
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_exit_status_and_interrupt_are_relayed(
    signum: int, env: dict[str, str], direct: dict[str, str], dsn: str
) -> None:
    """Ctrl-C (SIGINT to the client) reaches the command: the interrupted
    error/hint pair and exit 130, as in-process; SIGTERM ends it by that signal,
    and the client ends by it too."""
    started(env)
    results = []
    for environ in (direct, env):
        proc = subprocess.Popen(
            [PMAIL, "--dsn", dsn, "-q", "classify", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environ,
        )
        time.sleep(1.5)  # started and reading stdin (nothing is written to it)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
        results.append((proc.returncode, out, err))
    assert results[0] == results[1]
    if signum == signal.SIGINT:
        assert results[1][0] == 130
        assert results[1][2].startswith(b"error: interrupted")
    else:
        assert results[1][0] == -signal.SIGTERM


@pytest.mark.db
def test_a_client_that_dies_takes_its_command_with_it(
    env: dict[str, str], dsn: str
) -> None:
    """kill -9 of the client: the server ends the command it runs for it (its
    stdin then has no reader left)."""
    started(env)
    proc = subprocess.Popen(
        [PMAIL, "--dsn", dsn, "-q", "classify", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    assert proc.stdin is not None
    time.sleep(1.5)
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 30
    with pytest.raises(BrokenPipeError):
        while time.monotonic() < deadline:
            proc.stdin.write(b"x" * 65536)
            proc.stdin.flush()
            time.sleep(0.05)
    with contextlib.suppress(BrokenPipeError):
        proc.stdin.close()


# --- attacks --------------------------------------------------------------------


def _request(env: dict[str, str], argv: list[str]) -> bytes:
    """A well-formed run request's fields, fingerprint included."""
    fields = [_fingerprint(env), b"18", *[b"utf-8:strict"] * 3, b"%d" % len(argv)]
    pairs = [f"{k}={v}".encode() for k, v in env.items()]
    return resident.encode([*fields, *[a.encode() for a in argv], *pairs])


def _fingerprint(env: dict[str, str]) -> bytes:
    """The fingerprint a `python -c` client computes (the server's own: this
    process's import path has pytest's additions)."""
    return subprocess.run(
        [sys.executable, "-c", FINGERPRINT],
        capture_output=True,
        check=True,
        env=env,
    ).stdout


FINGERPRINT = (
    "import sys\n"
    "from pmail_cli import resident\n"
    "sys.stdout.buffer.write(resident.fingerprint())\n"
)


def _ready(sock: socket.socket) -> None:
    """Read the server's first word (a process of its own has the connection)."""
    assert resident.read_frame(sock) == (resident.READY, 0)


def _connected(path: str) -> socket.socket:
    """A connection to the server that has read its first word."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(30)
    sock.connect(path)
    _ready(sock)
    return sock


def _send_run(sock: socket.socket, body: bytes, fd: int) -> None:
    """Send a whole run request with `fd` as its cwd and stdio descriptors."""
    rights = struct.pack("4i", fd, fd, fd, fd)
    header = resident.HEADER.pack(resident.RUN, len(body))
    sock.sendmsg([header], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, rights)])
    sock.sendall(body)


def _send_raw(path: str, header: bytes, body: bytes, fds: list[int]) -> bytes:
    """Send a request as given; what the server answered before closing."""
    with _connected(path) as sock:
        sock.sendmsg(
            [header],
            [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack(f"{len(fds)}i", *fds))]
            if fds
            else [],
        )
        if body:
            with contextlib.suppress(OSError):  # the server may close first
                sock.sendall(body)
        answer = b""
        with contextlib.suppress(ConnectionResetError):  # closed with data unread
            while chunk := sock.recv(4096):
                answer += chunk
        return answer


@pytest.mark.db
def test_hostile_requests_are_closed_and_the_server_stays_up(
    env: dict[str, str], stored: str, tmp_path: Path
) -> None:
    """Oversized, malformed, truncated, with too many or too few descriptors, or a
    connection that never sends: closed unanswered, nothing run, and commands are
    served all along."""
    started(env)
    path = resident.socket_path(env[resident.DIR_VARIABLE])
    argv = ["pmail", "--dsn", stored, "-q", "tenant", "add", "evil"]
    good = _request(env, argv)
    fd = os.open(".", os.O_RDONLY)
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    silent.connect(path)  # holds a connection open, sending nothing
    try:
        four = [fd, fd, fd, fd]
        hostile = [
            (resident.HEADER.pack(resident.RUN, resident.MAX_REQUEST + 1), b"", four),
            (b"GET / HTTP/1.0\r\n", b"\r\n", []),
            (resident.HEADER.pack(b"PMRX", len(good)), good, four),
            (resident.HEADER.pack(resident.RUN, len(good)), good, [fd, fd, fd]),
            (resident.HEADER.pack(resident.RUN, len(good)), good, [fd] * 8),
            (resident.HEADER.pack(resident.RUN, len(good) + 10), good, four),
            (resident.HEADER.pack(resident.RUN, 8), b"\xff" * 8, four),
            (
                resident.HEADER.pack(resident.RUN, 12),
                struct.pack("!III", 1, 9, 0),
                four,
            ),
            (resident.HEADER.pack(resident.ASK, 0), b"", four),
        ]
        for header, body, fds in hostile:
            assert _send_raw(path, header, body, fds) == b"", header
            assert pmail(env, "classify", str(BOUNCES[0])).way == "served"
    finally:
        silent.close()
        os.close(fd)
    listed = pmail(env, "--dsn", stored, "tenant", "list")
    assert listed.way == "served" and b"evil" not in listed.out


@pytest.mark.db
def test_a_client_that_gives_up_before_go_never_has_its_command_run(
    env: dict[str, str], stored: str
) -> None:
    """The command waits for the client's go after the pid: a client that gave up
    (and runs the command itself) never has it run by the server as well."""
    started(env)
    path = resident.socket_path(env[resident.DIR_VARIABLE])
    body = _request(env, ["pmail", "--dsn", stored, "-q", "tenant", "add", "twice"])
    fd = os.open(".", os.O_RDONLY)
    try:
        with _connected(path) as sock:
            _send_run(sock, body, fd)
            tag, pid = resident.FRAME.unpack(sock.recv(resident.FRAME.size))
            assert tag == resident.PID and pid > 1
        while _alive_anywhere(pid):  # the session ends the waiting command
            time.sleep(0.02)
    finally:
        os.close(fd)
    listed = pmail(env, "--dsn", stored, "tenant", "list")
    assert listed.way == "served" and b"twice" not in listed.out


def _alive_anywhere(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _public_python() -> str:
    """A python that user nobody may run (the script needs only the standard
    library): this one, unless it lives under a private directory (/root/.pyenv),
    else the system's."""
    for candidate in (sys.executable, "/usr/bin/python3"):
        path = Path(os.path.realpath(candidate))
        if path.exists() and all(
            p.stat().st_mode & 0o001 for p in (path, *path.parents)
        ):
            return str(path)
    pytest.skip("no python that user nobody may run")


def _as_nobody(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a self-contained python script as user nobody."""
    return subprocess.run(
        [_public_python(), "-I", "-c", script, *args],
        capture_output=True,
        text=True,
        user="nobody",
        cwd="/",
        timeout=60,
    )


ATTACK = """
import array, os, socket, struct, sys
path, request = sys.argv[1], bytes.fromhex(sys.argv[2])
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.settimeout(20)
try:
    sock.connect(path)
except OSError as exc:
    print("refused", exc.errno)
    sys.exit(0)
fds = array.array("i", [0, 1, 2, os.open("/", os.O_RDONLY)])
try:  # the server may close the connection at any point: "answer" and nothing
    sock.sendmsg([b"PMR1" + struct.pack("!I", len(request))],
                 [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds.tobytes())])
    sock.sendall(request)
    answer = sock.recv(64)
except OSError as exc:
    answer = b""
print("answer", answer.hex())
"""


@pytest.fixture
def public_env(env: dict[str, str]) -> Iterator[dict[str, str]]:
    """A socket directory directly under /tmp (which everyone may walk through)."""
    where = tempfile.mkdtemp(prefix="pmail-resident-test-", dir="/tmp")
    environ = {**env, resident.DIR_VARIABLE: where}
    try:
        yield environ
    finally:
        pid = server_pid(environ)
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(where)


@pytest.mark.db
@pytest.mark.skipif(os.getuid() != 0, reason="needs root to act as user nobody")
def test_another_user_is_not_served(public_env: dict[str, str], stored: str) -> None:
    """Another local user cannot reach the socket through its directory (700),
    and, with the directory and socket opened to everyone, is refused by the server
    itself (SO_PEERCRED): no answer, nothing run."""
    env = public_env
    started(env)
    where = env[resident.DIR_VARIABLE]
    path = resident.socket_path(where)
    request = _request(env, ["pmail", "--dsn", stored, "-q", "tenant", "add", "evil"])
    blocked = _as_nobody(ATTACK, path, request.hex())
    assert blocked.stdout.startswith("refused 13"), blocked  # EACCES
    os.chmod(where, 0o755)
    os.chmod(path, 0o777)
    try:
        attacked = _as_nobody(ATTACK, path, request.hex())
    finally:
        os.chmod(where, 0o700)
    assert attacked.stdout.strip() == "answer", attacked
    listed = pmail(env, "--dsn", stored, "tenant", "list")
    assert listed.way == "served" and b"evil" not in listed.out


@pytest.mark.parametrize(
    "damage",
    [
        "group-writable",
        "other-owner",
        "symlink",
        "parent-writable",
        "parent-other-owner",
    ],
)
def test_a_directory_not_ours_alone_is_not_used(
    damage: str, env: dict[str, str], tmp_path: Path
) -> None:
    """A socket directory open to others, owned by someone else or a symbolic link,
    or one inside a directory that someone else owns or may write to (who can then
    rename ours away and put theirs in its place between a check and a use: the
    server imports from its directory): the client does not use it (-v says why)
    and start refuses it."""
    where = Path(env[resident.DIR_VARIABLE])
    started(env)
    if damage == "group-writable":
        os.chmod(where, 0o770)
    elif damage == "parent-writable":
        os.chmod(tmp_path, 0o777)  # no sticky bit: anyone may rename `where`
    elif damage.endswith("other-owner"):
        if os.getuid() != 0:
            pytest.skip("needs root to give the directory to another user")
        os.chown(tmp_path if damage.startswith("parent") else where, 65534, -1)
    else:
        link = tmp_path / "link"
        link.symlink_to(where)
        env = {**env, resident.DIR_VARIABLE: str(link)}
    try:
        run = pmail(env, "-v", "classify", str(BOUNCES[0]))
        assert run.way == "here" and run.code == 0
        assert b"note: resident server not used:" in run.err
        refused = subprocess.run(
            [PMAIL, "resident", "start"], capture_output=True, text=True, env=env
        )
        assert refused.returncode == 1
        assert refused.stderr.startswith("error: cannot use"), refused.stderr
        assert "hint: " in refused.stderr
    finally:
        for place in (where, tmp_path):
            os.chown(place, os.getuid(), -1) if os.getuid() == 0 else None
            os.chmod(place, 0o700)


@pytest.mark.db
def test_the_server_keeps_to_its_socket_directory(env: dict[str, str]) -> None:
    """The directory is created with mode 700 when missing, and the socket with
    mode 600."""
    where = Path(env[resident.DIR_VARIABLE]) / "new"
    env = {**env, resident.DIR_VARIABLE: str(where)}
    try:
        started(env)
        assert where.stat().st_mode & 0o777 == 0o700
        path = Path(resident.socket_path(str(where)))
        assert path.stat().st_mode & 0o777 == 0o600
    finally:
        control(env, "stop")


def test_a_server_started_twice_is_one_server(env: dict[str, str]) -> None:
    """start leaves a running server as it is (same pid)."""
    pid = started(env)
    assert started(env) == pid


def test_commands_that_may_prompt_run_in_their_own_process(env: dict[str, str]) -> None:
    """import-imap (a password prompt) and the resident commands are never sent to
    the server."""
    started(env)
    run = pmail(env, "resident", "status")
    assert run.way == "here" and b"state: running" in run.out
    assert resident.command_of(["import-imap", "--host", "x"]) not in resident.ROUTED


def test_the_client_imports_almost_nothing() -> None:
    """Importing the client (what every `pmail` run does first) loads none of
    pmail's CLI, typer, psycopg, nor socket, typing, signal or collections."""
    done = subprocess.run(
        [sys.executable, "-c", IMPORTED],
        capture_output=True,
        text=True,
        check=True,
    )
    modules = set(done.stdout.strip().split(","))
    assert "pmail_cli.resident" in modules
    heavy_ones = ("typer", "psycopg", "socket", "typing", "signal", "collections")
    for heavy in (*heavy_ones, "pmail_cli.cli"):
        assert heavy not in modules, heavy


IMPORTED = (
    "import sys\nfrom pmail_cli import resident\nprint(','.join(sorted(sys.modules)))\n"
)


def test_a_relative_directory_is_the_same_for_client_and_server(
    tmp_path: Path,
) -> None:
    """PMAIL_RESIDENT_DIR relative to where pmail runs: the server (which runs
    from inside its directory) listens where the client looks."""
    (tmp_path / "rel").mkdir(mode=0o700)
    env = {**os.environ, resident.DIR_VARIABLE: "rel"}
    run = functools.partial(
        subprocess.run, capture_output=True, text=True, env=env, cwd=tmp_path
    )
    try:
        done = run([PMAIL, "resident", "start"], timeout=60)
        assert done.returncode == 0, done.stderr
        assert str(tmp_path / "rel") in done.stderr
        assert "state: running" in run([PMAIL, "resident", "status"]).stdout
        assert list((tmp_path / "rel").glob("*.sock"))
    finally:
        run([PMAIL, "resident", "stop"], timeout=60)


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to change its groups")
@pytest.mark.parametrize("change", ["group", "extra_groups"])
def test_a_client_with_other_groups_is_not_served(
    change: str, env: dict[str, str], direct: dict[str, str], tmp_path: Path
) -> None:
    """A process of this user that runs with another group, or other supplementary
    groups, than the server (one that dropped a group to read less, say) would get
    the server's back in its command: the server does not answer it, and it runs
    the command itself, with the same result."""
    started(env)
    way = tmp_path / "way.txt"
    args = [sys.executable, "-c", LAUNCH, "classify", str(BOUNCES[0])]
    if change == "group":
        ids: dict[str, object] = {"group": 65534}
    else:
        ids = {"extra_groups": [*os.getgroups(), 65534]}
    done = subprocess.run(
        args,
        capture_output=True,
        env={**env, "PMAIL_TEST_WAY": str(way)},
        timeout=120,
        **ids,  # type: ignore[call-overload]
    )
    assert way.read_text() == "here" and done.returncode == 0, done.stderr
    assert done.stdout == pmail(direct, "classify", str(BOUNCES[0])).out
    assert pmail(env, "classify", str(BOUNCES[0])).way == "served"


@pytest.mark.db
def test_a_request_trickled_past_its_time_is_not_run(
    env: dict[str, str], stored: str
) -> None:
    """A request must arrive whole within REQUEST_SECONDS, not each read within it:
    a client that sends a byte now and then (each sooner than that, the whole
    later) is closed and its command never runs."""
    started(env)
    path = resident.socket_path(env[resident.DIR_VARIABLE])
    body = _request(env, ["pmail", "--dsn", stored, "-q", "tenant", "add", "slow"])
    header = resident.HEADER.pack(resident.RUN, len(body))
    pause = resident_server.REQUEST_SECONDS * 1.5 / len(header)
    assert pause < resident_server.REQUEST_SECONDS
    fd = os.open(".", os.O_RDONLY)
    answer = b""
    try:
        with _connected(path) as sock:
            rights = struct.pack("4i", fd, fd, fd, fd)
            sock.sendmsg([header[:1]], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, rights)])
            with contextlib.suppress(OSError):  # closed under the sender
                for byte in header[1:]:
                    time.sleep(pause)
                    sock.sendall(bytes([byte]))
                sock.sendall(body)
                answer = sock.recv(resident.FRAME.size)
                if answer:
                    sock.sendall(resident.GO)
                    answer += sock.recv(resident.FRAME.size)
    finally:
        os.close(fd)
    assert answer == b""
    listed = pmail(env, "--dsn", stored, "tenant", "list")
    assert listed.way == "served" and b"slow" not in listed.out


def _fds(pid: int) -> list[str]:
    """What the process's descriptors point at."""
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            found.append(os.readlink(fd))
    return sorted(found)


def test_a_flood_of_connections_starves_nobody(env: dict[str, str]) -> None:
    """100 connections that send nothing: each is a session process of its own, so
    commands are still served while they are open, and the server holds none of
    them (its descriptors are those it had before)."""
    pid = started(env)
    path = resident.socket_path(env[resident.DIR_VARIABLE])
    before = _fds(pid)
    flood = []
    try:
        for _ in range(100):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            flood.append(sock)
            sock.connect(path)
        run = pmail(env, "classify", str(BOUNCES[0]))
        assert (run.way, run.code) == ("served", 0)
        assert _fds(pid) == before
    finally:
        for sock in flood:
            sock.close()


@pytest.mark.db
def test_the_servers_credentials_never_reach_a_command(
    stored: str, env: dict[str, str], tmp_path: Path
) -> None:
    """The server was started by the owner of pmail's tables (PGUSER, a service
    file, a config file under HOME); a client of the same OS user that works as a
    tenant login, or names no role at all, must get exactly what it would in its
    own process: its tenant only, or no connection, never the owner's reach. And
    the server keeps no connection of its own between commands."""
    owner = conninfo_to_dict(stored)
    add = subprocess.run(
        [PMAIL, "--dsn", stored, "-q", "tenant", "add", "other"],
        capture_output=True,
        env=env,
    )
    assert add.returncode == 0, add.stderr
    role = f"pmail_t{os.getpid()}_{uuid.uuid4().hex[:8]}"
    login = subprocess.run(
        [PMAIL, "--dsn", stored, "-q", "tenant", "login", "acme", "--role", role],
        capture_output=True,
        env=env,
    )
    assert login.returncode == 0, login.stderr
    place = {k: str(owner[k]) for k in ("host", "port", "dbname") if owner.get(k)}
    bare = make_conninfo("", **place)  # names no role: PGUSER, else the OS user
    homes = {}
    for name, user in (("owner", owner["user"]), ("tenant", role)):
        home = tmp_path / name
        (home / ".config" / "pmail").mkdir(parents=True)
        (home / ".config" / "pmail" / "config.toml").write_text(
            f"dsn = {json.dumps(make_conninfo(bare, user=user))}\n"
        )
        (home / "services.conf").write_text(
            "[pmail]\n"
            + "".join(f"{k}={v}\n" for k, v in place.items())
            + f"user={user}\n"
        )
        homes[name] = home
    base = {
        k: v
        for k, v in env.items()
        if not k.startswith("PG") and k not in ("PMAIL_CONFIG", "XDG_CONFIG_HOME")
    }
    server = {
        **base,
        "PGUSER": str(owner["user"]),
        "PGSERVICEFILE": str(homes["owner"] / "services.conf"),
        "HOME": str(homes["owner"]),
    }
    clients = [  # (environment, DSN flag or None, sees other tenants)
        ({**base, "PGUSER": role}, bare, False),
        (
            {**base, "PGSERVICEFILE": str(homes["tenant"] / "services.conf")},
            "service=pmail",
            False,
        ),
        ({**base, "HOME": str(homes["tenant"])}, None, False),
        (base, bare, None),  # no role named: the OS user's, as libpq says
        (server, None, True),  # the owner's own environment, for contrast
    ]
    nowhere = str(tmp_path / "none")
    try:
        pid = started(server)
        for environ, dsn, sees in clients:
            flag = ["--dsn", dsn] if dsn else []
            for tenant in ("other", "acme"):
                served = pmail(environ, *flag, "list", "-t", tenant)
                here = pmail(
                    {**environ, resident.DIR_VARIABLE: nowhere},
                    *flag,
                    "list",
                    "-t",
                    tenant,
                )
                assert (served.way, here.way) == ("served", "here"), environ
                assert served.result() == here.result(), (environ, tenant)
            other = pmail(environ, *flag, "list", "-t", "other")
            if sees is False:
                assert other.code == 1 and other.err.startswith(
                    b"error: tenant 'other' does not exist"
                ), other.err
            elif sees:
                assert other.code == 0, other.err
        sockets = [f for f in _fds(pid) if f.startswith("socket:")]
        assert len(sockets) == 1  # its listener: no connection to PostgreSQL
    finally:
        with psycopg.connect(stored, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


@pytest.mark.db
def test_an_act_through_the_server_is_audited_as_the_clients(
    stored: str, env: dict[str, str], direct: dict[str, str]
) -> None:
    """An audited act (`tenant set`) run by the server is one entry, as it is run in
    its own process, with the OS user the client says (its LOGNAME), not the
    server's: `pmail audit` reads the same log either way."""
    started({**env, "LOGNAME": "server-user"})
    for environ, who, days in ((env, "served-user", "30"), (direct, "own-user", "40")):
        run = pmail(
            {**environ, "LOGNAME": who},
            "--dsn",
            stored,
            "-q",
            "tenant",
            "set",
            "acme",
            "--retention-days",
            days,
        )
        assert run.code == 0, run.err
        assert run.way == ("served" if environ is env else "here")
    log = pmail(env, "--dsn", stored, "audit", "--action", "tenant set", "-f", "json")
    assert log.way == "served" and log.code == 0, log.err
    entries = [(e["os_user"], e["params"]) for e in json.loads(log.out)]
    assert entries == [
        ("served-user", {"name": "acme", "retention_days": 30}),
        ("own-user", {"name": "acme", "retention_days": 40}),
    ]


def test_a_client_with_another_import_path_runs_itself_and_the_server_stays(
    env: dict[str, str], tmp_path: Path
) -> None:
    """A command with its own PYTHONPATH would import other code than the server
    loaded: it runs in its own process (-v says why). The server is not outdated
    by that, and keeps serving everyone else (before, any such command stopped it)."""
    pid = started(env)
    other = {**env, "PYTHONPATH": str(tmp_path / "elsewhere")}
    run = pmail(other, "-v", "classify", str(BOUNCES[0]))
    assert (run.way, run.code) == ("here", 0)
    assert b"note: resident server not used: it runs another version" in run.err
    assert pmail(env, "classify", str(BOUNCES[0])).way == "served"
    assert server_pid(env) == pid


def test_a_server_out_of_descriptors_keeps_serving_once_it_has_them(
    env: dict[str, str],
) -> None:
    """With no descriptor left (its limit lowered to what it holds), the server
    cannot accept a connection: the waiting client runs its command itself, and
    the server, instead of dying on the error, serves again once it may open one."""
    pid = started(env)
    limits = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    numbers = {int(fd.name) for fd in Path(f"/proc/{pid}/fd").iterdir()}
    lowest_free = min(set(range(len(numbers) + 1)) - numbers)
    path = resident.socket_path(env[resident.DIR_VARIABLE])
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (lowest_free, limits[1]))
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as waiting:
            waiting.connect(path)  # queued: the server cannot accept it
            run = pmail(env, "classify", str(BOUNCES[0]))
            assert (run.way, run.code) == ("here", 0)
    finally:
        resource.prlimit(pid, resource.RLIMIT_NOFILE, limits)
    assert pmail(env, "classify", str(BOUNCES[0])).way == "served"
    assert server_pid(env) == pid


def test_the_server_keeps_none_of_its_starters_descriptors(
    env: dict[str, str], tmp_path: Path
) -> None:
    """`pmail resident start` run with a descriptor open beyond stdio (a pipe whose
    reader waits for its end, a file of the caller's): the server does not keep it,
    so the reader is not held up for as long as the server runs, and no command it
    runs is handed it."""
    read, write = os.pipe()
    secret = os.open(tmp_path / "secret", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        done = subprocess.run(
            [PMAIL, "resident", "start"],
            capture_output=True,
            env=env,
            pass_fds=(write, secret),
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        os.close(write)
        # every writer gone, the server too (one that kept it fails here)
        assert select.select([read], [], [], 30)[0] and os.read(read, 1) == b""
    finally:
        os.close(read)
        os.close(secret)
    pid = server_pid(env)
    assert pid is not None
    assert str(tmp_path / "secret") not in _fds(pid)


def test_a_stopped_server_holds_no_clients_output_open(env: dict[str, str]) -> None:
    """A server stopped with Ctrl-Z (SIGSTOP) accepts nothing: the client runs its
    command itself after ANSWER_SECONDS, and its output ends when it exits
    (`x=$(pmail …)`, `pmail … | less` see the end) because it sends its descriptors
    only once the server has answered; before, they waited in the connection's
    queue, holding the pipe open until the server went on. Once continued, the
    server serves again."""
    pid = started(env)
    os.kill(pid, signal.SIGSTOP)
    try:
        run = pmail(env, "-v", "classify", str(BOUNCES[0]))
        assert (run.way, run.code) == ("here", 0)
        assert b"note: resident server not used: no answer" in run.err
    finally:
        os.kill(pid, signal.SIGCONT)
    assert pmail(env, "classify", str(BOUNCES[0])).way == "served"


@pytest.mark.db
def test_a_working_directory_that_is_not_a_directory_runs_nothing(
    env: dict[str, str], stored: str, tmp_path: Path
) -> None:
    """A request whose working-directory descriptor is a file (or whose stdio is
    that file too): the command's process cannot take it, ends with status 1
    before pmail's entry point runs, and nothing of the command happens."""
    started(env)
    path = resident.socket_path(env[resident.DIR_VARIABLE])
    body = _request(env, ["pmail", "--dsn", stored, "-q", "tenant", "add", "cwdfile"])
    fd = os.open(tmp_path / "plain", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        with _connected(path) as sock:
            _send_run(sock, body, fd)
            tag, pid = resident.read_frame(sock) or (b"", 0)
            assert tag == resident.PID and pid > 1
            sock.sendall(resident.GO)
            assert resident.read_frame(sock) == (resident.EXITED, 1)
    finally:
        os.close(fd)
    assert (tmp_path / "plain").read_bytes() == b""
    listed = pmail(env, "--dsn", stored, "tenant", "list")
    assert listed.way == "served" and b"cwdfile" not in listed.out
