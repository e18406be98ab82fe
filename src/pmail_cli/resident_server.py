"""The resident server: a process that has imported pmail and forks one child per
command (`pmail resident start`; the client is `resident.py`).

The server listens on a Unix socket in a directory only its user may enter, and
serves only its own user (SO_PEERCRED; Linux). For each connection it forks a
session process, so a slow or hostile client never holds up the server: the session
reads the request (bounded in size and time), checks that the client runs the code
this server loaded, and forks the command's process. That process takes the
client's descriptors, working directory, umask, environment and arguments, tells
the client its pid, and runs pmail's normal entry point; the session sends its exit
status back, or kills it if the client goes away first. Every command is a fresh
fork of the server: nothing one command sets is seen by the next.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import importlib
import os
import select
import signal
import socket
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

from pmail_cli import resident
from pmail_cli.errors import PmailError

REQUEST_SECONDS = 5.0  # a client must send its whole request within this
CHECK_SECONDS = 30.0  # how often an idle server checks its socket and its code
KILL_GRACE_SECONDS = 2.0
# What the everyday commands import (tests/cli/test_startup_imports.py lists what
# they must not): imported once here, shared by every child. pmail_cli.cli is not:
# it registers the commands the child's own command line names when imported.
PRELOAD = (
    "typer",
    "typer.core",
    "typer.main",
    "typer.completion",
    "typer._click.termui",
    "typer._click.decorators",
    "rich.console",  # the commands' stderr console, when a line has markup
    "rich.markup",
    "psycopg",
    "psycopg.rows",
    "psycopg.sql",
    "psycopg.conninfo",
    "tabulate",
    "pmail_cli.__main__",
    "pmail_cli.interrupt",
    "pmail_cli.charts",
    "pmail_cli.config",
    "pmail_cli.db",
    "pmail_cli.output",
    "pmail_cli.query",
    "pmail_cli.vocab",
    "pmail_cli.targets",
    "pmail_cli.services.search",
    "pmail_cli.services.show",
    "pmail_cli.services.reports",
    "pmail_cli.services.tenants",
    "pmail_cli.services.audit",
    "pmail_cli.repository.suppressions",
)
_kept: list[object] = []  # the server's stdio objects, never closed in a child


class ResidentError(PmailError):
    """The resident server cannot start or be reached."""


class _Stop(Exception):
    """SIGTERM, SIGINT or SIGHUP reached the server."""


@dataclass(frozen=True, slots=True)
class Request:
    """A command line to run, as the client sent it."""

    fingerprint: bytes
    umask: int
    stdio: tuple[tuple[str, str], ...]
    argv: list[str]
    env: dict[str, str]
    fds: tuple[int, ...]


def prepare_directory(where: str) -> None:
    """Create the socket directory (mode 700) if it is missing, and refuse one that
    is not this user's alone."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(where, 0o700)
    why = resident.untrusted(where)
    if why is not None:
        raise ResidentError(
            f"cannot use {where} for the resident server: {why}",
            hint=f"remove it, or set {resident.DIR_VARIABLE} to a directory of "
            "your own with mode 700",
        )


def ask(path: str) -> tuple[int, bool] | None:
    """(pid, runs the installed code) of the server at `path`; None if none answers."""
    try:
        sock = resident.connect(path)
    except OSError:
        return None
    try:
        payload = resident.encode([resident.fingerprint()])
        hello = resident.read_frame(sock)
        if hello is None or hello[0] != resident.READY:
            return None
        sock.sendall(resident.HEADER.pack(resident.ASK, len(payload)) + payload)
        first, second = resident.read_frame(sock), resident.read_frame(sock)
    except OSError:
        return None
    finally:
        sock.close()
    if first is None or second is None or first[0] != resident.PID:
        return None
    return first[1], second[0] == resident.EXITED


def preload() -> None:
    """Import what the commands share; drop pmail's CLI (each child imports it)."""
    for name in [
        m for m in sys.modules if m == "pmail_cli.cli" or m.startswith("pmail_cli.cli.")
    ]:
        del sys.modules[name]
    with contextlib.suppress(AttributeError):
        del sys.modules["pmail_cli"].cli
    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def serve(where: str, *, ready: Callable[[], None] | None = None) -> None:
    """Serve commands on this installation's socket in `where` until stopped."""
    if not hasattr(socket, "SO_PEERCRED"):
        raise ResidentError(
            "the resident server needs Linux (SO_PEERCRED)",
            hint="run pmail without it",
        )
    prepare_directory(where)
    path = resident.socket_path(where)
    if ask(path) is not None:
        raise ResidentError(
            f"a resident server already runs on {path}",
            hint="`pmail resident stop` stops it",
        )
    code = resident.fingerprint()  # before importing: a change later is seen
    preload()
    listener = _listen(path)
    inode = os.stat(path).st_ino
    server_pid = os.getpid()

    def stop(signum: int, frame: FrameType | None) -> None:
        raise _Stop

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # sessions are reaped by the kernel
    listener.settimeout(CHECK_SECONDS)
    try:
        if ready is not None:
            ready()
        while True:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                if _moved(path, inode) or resident.fingerprint() != code:
                    return
                continue
            except OSError:  # out of descriptors: the client runs it itself
                select.select([], [], [], 0.1)
                continue
            _fork_session(conn, listener, code, server_pid)
    except _Stop:
        pass
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            # a second stop (`pmail resident stop` repeats its signal) must not
            # cut the clean-up short and leave the socket file behind
            signal.signal(signum, signal.SIG_IGN)
        listener.close()
        if not _moved(path, inode):
            with contextlib.suppress(OSError):
                os.unlink(path)


def _listen(path: str) -> socket.socket:
    """A listening socket at `path` (a stale one left by a killed server replaced)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    mask = os.umask(0o177)
    try:
        listener.bind(path)
    except OSError as exc:
        listener.close()
        raise ResidentError(
            f"cannot listen on {path}: {exc.strerror}",
            hint=f"set {resident.DIR_VARIABLE} to a short directory of your own",
        ) from None
    finally:
        os.umask(mask)
    listener.listen(64)
    return listener


def _moved(path: str, inode: int) -> bool:
    """Whether our socket file was removed or replaced."""
    try:
        return os.stat(path).st_ino != inode
    except OSError:
        return True


SO_PEERGROUPS = getattr(socket, "SO_PEERGROUPS", 59)  # Linux 4.13; not in socket


def _same_credentials(conn: socket.socket) -> bool:
    """Whether the peer runs as this user with this group and these supplementary
    groups: a command runs with the server's, so a process of this user that dropped
    a group (to read less) gets it back through the server otherwise."""
    creds = conn.getsockopt(
        socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")
    )
    _, uid, gid = struct.unpack("3i", creds)
    if uid != os.getuid() or gid != os.getgid():
        return False
    ours = set(os.getgroups()) - {gid}
    try:  # room for one more than ours: a peer with more groups differs too
        data = conn.getsockopt(socket.SOL_SOCKET, SO_PEERGROUPS, 4 * (len(ours) + 2))
    except OSError as exc:  # ERANGE: more groups than ours
        return exc.errno == errno.ENOPROTOOPT  # a kernel before 4.13: uid and gid
    theirs = set(struct.unpack(f"{len(data) // 4}I", data[: len(data) // 4 * 4]))
    return theirs - {gid} == ours


def _fork_session(
    conn: socket.socket, listener: socket.socket, code: bytes, server_pid: int
) -> None:
    """A session process for `conn` if its peer is this user; else close it."""
    with conn:
        try:
            if not _same_credentials(conn):
                return
        except OSError:
            return
        for stream in (sys.stdout, sys.stderr):
            # not Exception: a SIGTERM arriving here raises _Stop, which must end
            # the server, not vanish with a flush error
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        try:
            if os.fork() != 0:
                return
        except OSError:  # out of processes: the client runs the command itself
            return
        status = 1
        try:
            listener.close()
            status = _session(conn, code, server_pid)
        finally:
            os._exit(status)


def _session(conn: socket.socket, code: bytes, server_pid: int) -> int:
    """Read one request, run it in a child, report how it ended."""
    os.setsid()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD):
        signal.signal(signum, signal.SIG_DFL)
    _send(conn, resident.READY, 0)  # the client sends its descriptors now
    try:
        kind, body, fds = _receive(conn, time.monotonic() + REQUEST_SECONDS)
    except (OSError, ValueError):
        return 2  # malformed, oversized, too slow: closed, the server unaffected
    conn.settimeout(REQUEST_SECONDS)  # for the client's go
    if kind == resident.ASK:
        same = resident.decode(body)[:1] == [code]
        _send(conn, resident.PID, server_pid)
        _send(conn, resident.EXITED if same else resident.OTHER_CODE, 0)
        return 0
    try:
        req = _parse(body, fds)
    except ValueError:
        _close(fds)
        return 2
    if req.fingerprint != code:  # the client would run other code: it runs it
        _send(conn, resident.OTHER_CODE, 0)
        _close(fds)
        # the server stops only if its own code changed (pmail upgraded), not for a
        # client with another import path (PYTHONPATH) or python flags
        if resident.fingerprint() != code:
            os.kill(server_pid, signal.SIGTERM)
        return 0
    go_read, go_write = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(go_write)
        conn.close()
        os._exit(_command(req, go_read))
    os.close(go_read)
    _close(fds)
    with contextlib.suppress(OSError):
        os.setpgid(child, child)  # before the client can signal the group
    # The command starts only once the client has the pid and says go: a client
    # that gave up waiting (and runs the command itself) never gets it run twice.
    _send(conn, resident.PID, child)
    try:
        go = conn.recv(1)
    except OSError:
        go = b""
    if go != resident.GO:
        os.close(go_write)
        _kill(child)
        return 0
    with contextlib.suppress(OSError):  # it ended already (a bad descriptor)
        os.write(go_write, resident.GO)
    os.close(go_write)
    return _watch(conn, child)  # and its status reaches the client


def _receive(
    conn: socket.socket, deadline: float
) -> tuple[bytes, bytes, tuple[int, ...]]:
    """(magic, fields, descriptors) of one request, whole by `deadline` (a client
    that sends a byte now and then is not waited for longer: TimeoutError);
    ValueError when malformed."""
    fds: list[int] = []
    _until(conn, deadline)
    header, ancillary, flags, _ = conn.recvmsg(
        resident.HEADER.size, socket.CMSG_SPACE(resident.FDS * 4)
    )
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            usable = len(data) - len(data) % 4
            fds += struct.unpack(f"{usable // 4}i", data[:usable])
    try:
        while 0 < len(header) < resident.HEADER.size:
            _until(conn, deadline)
            more = conn.recv(resident.HEADER.size - len(header))
            if not more:
                break
            header += more
        if len(header) != resident.HEADER.size or flags & socket.MSG_CTRUNC:
            raise ValueError("short header or too many descriptors")
        magic, size = resident.HEADER.unpack(header)
        wanted = {resident.RUN: resident.FDS, resident.ASK: 0}.get(magic)
        if wanted is None or len(fds) != wanted or size > resident.MAX_REQUEST:
            raise ValueError("bad request")
        body = bytearray()
        while len(body) < size:
            _until(conn, deadline)
            chunk = conn.recv(min(1 << 16, size - len(body)))
            if not chunk:
                raise ValueError("truncated request")
            body += chunk
    except BaseException:
        _close(tuple(fds))
        raise
    return magic, bytes(body), tuple(fds)


def _until(conn: socket.socket, deadline: float) -> None:
    """The next read waits until `deadline` at most (TimeoutError once past)."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the request took too long")
    conn.settimeout(left)


def _parse(body: bytes, fds: tuple[int, ...]) -> Request:
    fields = resident.decode(body)
    if len(fields) < 6:
        raise ValueError("too few fields")
    argc = int(fields[5])
    if not 0 < argc <= len(fields) - 6:
        raise ValueError("bad argument count")
    stdio = []
    for field in fields[2:5]:
        encoding, _, errors = field.decode("ascii").partition(":")
        stdio.append((encoding, errors or "strict"))
    env = {}
    for pair in fields[6 + argc :]:
        name, sep, value = pair.partition(b"=")
        if not sep or not name:
            raise ValueError("bad environment entry")
        env[os.fsdecode(name)] = os.fsdecode(value)
    return Request(
        fingerprint=fields[0],
        umask=int(fields[1]) & 0o777,
        stdio=tuple(stdio),
        argv=[os.fsdecode(a) for a in fields[6 : 6 + argc]],
        env=env,
        fds=fds,
    )


def _send(conn: socket.socket, tag: bytes, value: int) -> None:
    with contextlib.suppress(OSError):
        conn.sendall(resident.FRAME.pack(tag, value))


def _close(fds: tuple[int, ...]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _watch(conn: socket.socket, child: int) -> int:
    """Wait for the command to end (send its status) or the client to go away
    (kill the command's process group)."""
    conn.settimeout(None)
    try:
        pidfd: int | None = os.pidfd_open(child)
    except (AttributeError, OSError):
        pidfd = None
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN)
    if pidfd is not None:
        poller.register(pidfd, select.POLLIN)
    while True:
        events = poller.poll(None if pidfd is not None else 200)
        done, status = os.waitpid(child, os.WNOHANG)
        if done:
            if os.WIFSIGNALED(status):
                _send(conn, resident.SIGNALLED, os.WTERMSIG(status))
            else:
                _send(conn, resident.EXITED, os.waitstatus_to_exitcode(status))
            return 0
        if any(fd == conn.fileno() for fd, _ in events) and not _drain(conn):
            _kill(child)
            return 0


def _drain(conn: socket.socket) -> bool:
    """Read what the client sent after its request; False once it has gone."""
    try:
        return bool(conn.recv(4096))
    except OSError:
        return False


def _kill(child: int) -> None:
    """End the command's process group: SIGTERM, then SIGKILL after a grace."""
    with contextlib.suppress(OSError):
        os.killpg(child, signal.SIGTERM)
    for _ in range(int(KILL_GRACE_SECONDS / 0.05)):
        if os.waitpid(child, os.WNOHANG)[0]:
            return
        select.select([], [], [], 0.05)
    with contextlib.suppress(OSError):
        os.killpg(child, signal.SIGKILL)
    os.waitpid(child, 0)


def _command(req: Request, go: int) -> int:
    """In the command's process: become the client's command and, once the
    session says go, run it."""
    try:
        with contextlib.suppress(OSError):  # the session may have done it first
            os.setpgid(0, 0)
        for target, fd in enumerate(req.fds[:3]):
            os.dup2(fd, target)
        os.fchdir(req.fds[3])
        _close(req.fds)
        os.umask(req.umask)
        os.environ.clear()
        os.environ.update(req.env)
        sys.argv = req.argv
        _new_stdio(req.stdio)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # as the interpreter sets it
        for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(signum, signal.SIG_DFL)
        if os.read(go, 1) != resident.GO:
            return 1
        os.close(go)
    except (OSError, LookupError, ValueError):  # LookupError: an unknown encoding
        return 1
    return _run_main()


def _new_stdio(stdio: tuple[tuple[str, str], ...]) -> None:
    """sys.stdin/stdout/stderr on the client's descriptors, with the client's
    encodings; line-buffered on a terminal, as the interpreter opens them."""
    _kept.extend([sys.stdin, sys.stdout, sys.stderr])
    streams = []
    for fd, (encoding, errors) in enumerate(stdio):
        lines = fd > 0 and (fd == 2 or os.isatty(fd))
        stream = open(  # noqa: SIM115 (the process's stdio, open until it ends)
            fd,
            "r" if fd == 0 else "w",
            buffering=1 if lines else -1,
            encoding=encoding,
            errors=errors,
            newline="\n",
            closefd=False,
        )
        streams.append(stream)
    for name, stream in zip(("stdin", "stdout", "stderr"), streams, strict=True):
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


def _run_main() -> int:
    """pmail's in-process entry point; the status a normal exit would give."""
    try:
        from pmail_cli.__main__ import run_here

        run_here()
        status = 0
    except SystemExit as exc:
        status = _exit_status(exc.code)
    except BaseException:
        sys.excepthook(*sys.exc_info())
        status = 1
    threading = sys.modules.get("threading")
    if threading is not None:  # as the interpreter does at exit: wait for threads
        with contextlib.suppress(Exception):
            getattr(threading, "_shutdown")()  # noqa: B009 (private, not typed)
    with contextlib.suppress(Exception):
        atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            status = status or 120  # what python exits with when it cannot flush
    return status


def _exit_status(code: object) -> int:
    """The status SystemExit(code) gives a python process."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    with contextlib.suppress(Exception):
        print(code, file=sys.stderr)
    return 1


LAUNCH = (  # in the socket directory: `python -c` imports from where it runs;
    # none of the descriptors of whoever started it (a pipe it waits on, a file it
    # had open) is kept, nor handed to every command
    "import os, sys\n"
    "os.closerange(3, os.sysconf('SC_OPEN_MAX'))\n"
    "os.chdir(sys.argv[1])\n"
    "from pmail_cli.resident_server import main\n"
    "sys.exit(main(sys.argv[1]))\n"
)
START_SECONDS = 30.0


def main(where: str) -> int:
    """The background server's process: serve, or say why not on stderr (its log)."""
    try:
        serve(where)
    except PmailError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


@dataclass(frozen=True, slots=True)
class State:
    """What `pmail resident status` says."""

    socket: str
    pid: int | None
    current: bool  # runs the code installed now


def state(where: str) -> State:
    """The state of this installation's server in `where`."""
    path = resident.socket_path(where)
    answer = ask(path)
    if answer is None:
        return State(socket=path, pid=None, current=False)
    return State(socket=path, pid=answer[0], current=answer[1])


def start_background(where: str) -> State:
    """Start a server in a new session, logging to <socket>.log, and return once
    it answers (a running one is left as it is)."""
    prepare_directory(where)
    before = state(where)
    if before.pid is not None:
        return before
    log = os.open(before.socket + ".log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        pid = os.posix_spawn(
            sys.executable,
            [sys.executable, "-c", LAUNCH, where],
            os.environ,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                (os.POSIX_SPAWN_DUP2, log, 2),
            ],
            setsid=True,
        )
    finally:
        os.close(log)
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        now = state(where)
        if now.pid is not None:
            return now
        if os.waitpid(pid, os.WNOHANG)[0]:
            break
        time.sleep(0.02)
    raise ResidentError(
        f"the resident server did not start: {_last_line(before.socket + '.log')}",
        hint=f"its log is {before.socket}.log",
    )


def _last_line(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().strip().splitlines()
    except OSError:
        return "no log"
    return lines[-1] if lines else "no log"


def stop(where: str) -> State:
    """Stop this installation's server (its running commands finish) and return
    once its socket no longer answers; the state it had."""
    before = state(where)
    if before.pid is None:
        return before
    with contextlib.suppress(ProcessLookupError):
        os.kill(before.pid, signal.SIGTERM)
    signalled = time.monotonic()
    deadline = signalled + 10
    while time.monotonic() < deadline:
        if ask(before.socket) is None:
            return before
        if time.monotonic() - signalled >= 1:
            # it still answers: again each second, so that a signal that came while
            # the server was between two steps is not its only chance (only after
            # an answer, so the pid is still the server's)
            with contextlib.suppress(ProcessLookupError):
                os.kill(before.pid, signal.SIGTERM)
            signalled = time.monotonic()
        time.sleep(0.02)
    raise ResidentError(
        f"the resident server (pid {before.pid}) did not stop within 10 s",
        hint=f"kill {before.pid}",
    )
