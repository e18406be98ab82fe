"""The resident server's client: hand a `pmail` command line to a running server.

`pmail resident start` leaves a process running that has already imported pmail,
typer and psycopg (`resident_server.py`). The `pmail` program asks it first: if its
socket is there, in a private directory of this user, answers, and runs the same
code as is installed now, the server forks a child that takes this process's stdin,
stdout, stderr, working directory, umask, environment and arguments, runs the
command, and this process exits with the child's status. Anything else (no server,
no answer, another version, a directory that is not private) and the command runs
in this process as it always did; `-v` says why when a server was there but not used.

This module is imported before anything else of pmail, on every run, so it imports
only what the interpreter has already loaded or costs nothing: os, sys, _socket,
struct (and signal once the server has taken the command; not array either, which
imports collections). The server reads its requests with the same functions.
"""

from __future__ import annotations

import _socket
import os
import struct
import sys

TYPE_CHECKING = False  # typing's costs 10 ms; mypy reads this name the same
if TYPE_CHECKING:
    from collections.abc import Mapping

DIR_VARIABLE = "PMAIL_RESIDENT_DIR"
RUN = b"PMR1"  # a command line to run, with four descriptors
ASK = b"PMRQ"  # status: the server's pid and whether it runs this code
HEADER = struct.Struct("!4sI")  # magic, length of the fields that follow
FRAME = struct.Struct("!ci")  # the server's answers: tag, value
PID, EXITED, SIGNALLED, OTHER_CODE = b"P", b"X", b"S", b"V"
# The server's first word on every connection, once a process of its own reads it:
# only then does the client send its descriptors. Sent to a server that does not
# accept (stopped with Ctrl-Z, out of descriptors), they would wait in the
# connection's queue after the client gave up and ran the command itself, and keep
# its stdout open: `x=$(pmail list)` or `pmail list | less` would never see its end.
READY = b"R"
GO = b"G"  # the client's answer to PID: it relays from now on
MAX_REQUEST = 4 << 20  # argv + environment; larger requests are refused unread
MAX_FIELDS = 65_536
FDS = 4  # stdin, stdout, stderr, the working directory
ANSWER_SECONDS = 3.0  # a server that takes longer to start a command is not used
# The commands served. Others run in-process: the server itself, commands that
# may prompt for a password (getpass needs a controlling terminal, which a child
# of the server has not), long-running daemons (worker, --watch) and schema work.
ROUTED = frozenset(
    {
        "list",
        "search",
        "show",
        "report",
        "analytics",
        "suppressions",
        "tenant",
        "account",
        "dict",
        "hold",
        "audit",
        "validate",
        "classify",
        "ingest",
        "export",
        "enqueue",
        "queue",
    }
)
# cli.GLOBAL_FLAGS / GLOBAL_WITH_VALUE (a test keeps them equal): the command name
# is the first word that is neither one of these nor an option.
GLOBAL_FLAGS = frozenset({"-v", "--verbose", "-q", "--quiet", "--debug", "--no-debug"})
GLOBAL_WITH_VALUE = frozenset({"--dsn", "--config"})


def directory(env: Mapping[str, str] = os.environ) -> str:
    """The directory of this user's sockets: PMAIL_RESIDENT_DIR, else
    $XDG_RUNTIME_DIR/pmail, else /tmp/pmail-UID."""
    if env.get(DIR_VARIABLE):  # absolute: the server runs from inside it
        return os.path.abspath(env[DIR_VARIABLE])
    runtime = env.get("XDG_RUNTIME_DIR", "")
    if runtime and os.path.isabs(runtime) and os.path.isdir(runtime):
        return os.path.join(runtime, "pmail")
    return f"/tmp/pmail-{os.getuid()}"


def untrusted(path: str) -> str | None:
    """Why directory `path` cannot hold this user's sockets (None: it can): it must
    be a real directory, owned by this user, that nobody else may enter, and nobody
    else may move it or a directory above it away (and put their own in its place
    between a check and its use): each one above belongs to this user or root, and
    one that others may write to has the sticky bit (as /tmp)."""
    try:
        st = os.lstat(path)
    except OSError as exc:
        return f"{path}: {exc.strerror}"
    if (st.st_mode & 0o170000) != 0o040000:
        return f"{path} is not a directory"
    if st.st_uid != os.getuid():
        return f"{path} belongs to uid {st.st_uid}, not to this user"
    if st.st_mode & 0o077:
        return f"{path} is open to others (mode {st.st_mode & 0o777:o}; 700 needed)"
    full = os.path.abspath(path)
    above = set()
    for start in (full, os.path.realpath(full)):  # as written and as resolved
        while start != os.path.dirname(start):
            start = os.path.dirname(start)
            above.add(start)
    for place in sorted(above):
        try:
            st = os.stat(place)
        except OSError as exc:
            return f"{place}: {exc.strerror}"
        if st.st_uid not in (0, os.getuid()):
            return f"{place} belongs to uid {st.st_uid}, who could replace {path}"
        if st.st_mode & 0o022 and not st.st_mode & 0o1000:
            mode = st.st_mode & 0o7777
            return f"{place} is writable by others (mode {mode:o}), who could replace {path}"
    return None


def _package() -> str:
    return os.path.dirname(os.path.abspath(__file__))


def _interpreter() -> str:
    """This python and its environment (`python` and `python3` of one venv alike)."""
    return f"{os.path.realpath(sys.executable)} {sys.prefix}"


def socket_path(where: str) -> str:
    """The socket of this installation (this python, this pmail) in `where`: two
    installations of one user have two servers."""
    key = f"{_interpreter()}\0{_package()}".encode("utf-8", "surrogateescape")
    value = 0xCBF29CE484222325  # FNV-1a, 64 bits: stable across processes
    for byte in key:
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return os.path.join(where, f"{value:016x}.sock")


def fingerprint() -> bytes:
    """What the code that would run is: the interpreter, its flags and import path,
    the modification time of every import directory, and the name, size and
    modification time of every file of the pmail package. A server whose code
    differs from the code installed now is not used."""
    parts = [_interpreter(), sys.version, repr(sys.flags)]
    for place in sys.path[1:]:  # [0] is the script's directory: not the code
        try:
            parts.append(f"{place} {os.stat(place).st_mtime_ns}")
        except OSError:
            parts.append(place)
    pending = [_package()]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.name == "__pycache__":
                    continue
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                    continue
                st = entry.stat(follow_symlinks=False)
                parts.append(f"{entry.path} {st.st_size} {st.st_mtime_ns}")
    return "\n".join(parts).encode("utf-8", "surrogateescape")


def command_of(args: list[str]) -> str | None:
    """The first word of a command line that is not a global option (or None)."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return None
        if arg in GLOBAL_WITH_VALUE:
            i += 2
        elif arg.startswith("-"):
            i += 1
        else:
            return arg
    return None


def encode(fields: list[bytes]) -> bytes:
    """Fields as count + (length, bytes) each."""
    out = [struct.pack("!I", len(fields))]
    for field in fields:
        out += [struct.pack("!I", len(field)), field]
    return b"".join(out)


def decode(data: bytes) -> list[bytes]:
    """The fields of `encode`; ValueError for anything else (a hostile request)."""
    if len(data) < 4:
        raise ValueError("short request")
    (count,) = struct.unpack_from("!I", data, 0)
    if count > MAX_FIELDS:
        raise ValueError("too many fields")
    fields, at = [], 4
    for _ in range(count):
        if at + 4 > len(data):
            raise ValueError("truncated field")
        (size,) = struct.unpack_from("!I", data, at)
        at += 4
        if at + size > len(data):
            raise ValueError("truncated field")
        fields.append(data[at : at + size])
        at += size
    if at != len(data):
        raise ValueError("trailing bytes")
    return fields


def _stdio() -> list[bytes]:
    """Each of stdin, stdout, stderr as 'encoding:errors', as this python chose."""
    out = []
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None) or "utf-8"
        errors = getattr(stream, "errors", None) or "strict"
        out.append(f"{encoding}:{errors}".encode())
    return out


def request(argv: list[str], env: Mapping[str, str]) -> bytes:
    """The fields of a run request: fingerprint, umask, stdio, argc, argv, env."""
    mask = os.umask(0o022)
    os.umask(mask)
    args = [os.fsencode(a) for a in argv]
    pairs = [os.fsencode(k) + b"=" + os.fsencode(v) for k, v in env.items()]
    fields = [fingerprint(), b"%d" % mask, *_stdio(), b"%d" % len(args)]
    return encode([*fields, *args, *pairs])


def read_frame(sock: _socket.socket) -> tuple[bytes, int] | None:
    """One answer of the server; None at end of stream."""
    data = b""
    while len(data) < FRAME.size:
        chunk = sock.recv(FRAME.size - len(data))
        if not chunk:
            return None
        data += chunk
    tag, value = FRAME.unpack(data)
    return tag, value


def connect(path: str) -> _socket.socket:
    """A connection to the server at `path`, checked to run as this user (OSError
    when it cannot be made or runs as someone else)."""
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(ANSWER_SECONDS)
        sock.connect(path)
        if hasattr(_socket, "SO_PEERCRED"):
            creds = sock.getsockopt(
                _socket.SOL_SOCKET, _socket.SO_PEERCRED, struct.calcsize("3i")
            )
            _, uid, _ = struct.unpack("3i", creds)
            if uid != os.getuid():
                raise PermissionError(f"the server at {path} runs as uid {uid}")
    except BaseException:
        sock.close()
        raise
    return sock


def _note(verbose: bool, why: str) -> None:
    if verbose:
        os.write(2, f"note: resident server not used: {why}\n".encode(errors="replace"))


def run(argv: list[str]) -> int | None:
    """The exit status of `argv` run by the resident server, or None when this
    process must run it itself (nothing of the command has run then)."""
    args = argv[1:]
    cut = args.index("--") if "--" in args else len(args)
    verbose = any(a in ("-v", "--verbose") for a in args[:cut])
    if command_of(args) not in ROUTED:
        return None
    where = directory()
    path = socket_path(where)
    if not os.path.lexists(path):
        return None  # no server: the usual case, said nowhere
    why = untrusted(where)
    if why is not None:
        _note(verbose, why)
        return None
    try:
        sock = connect(path)
    except OSError as exc:
        _note(verbose, f"{path}: {exc.strerror or exc}")
        return None
    try:
        return _served(sock, argv, verbose)
    finally:
        sock.close()


def _served(sock: _socket.socket, argv: list[str], verbose: bool) -> int | None:
    try:
        payload = request(argv, os.environ)  # while the server forks its session
        if len(payload) > MAX_REQUEST:
            _note(verbose, "the command line and environment are too large")
            return None
        hello = read_frame(sock)
        if hello is None or hello[0] != READY:
            _note(verbose, "no answer")
            return None
        flags = os.O_RDONLY | getattr(os, "O_PATH", 0) | os.O_DIRECTORY
        cwd = os.open(".", flags | os.O_CLOEXEC)
        try:
            fds = struct.pack("4i", 0, 1, 2, cwd)  # array would import collections
            rights = [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)]
            sock.sendmsg([HEADER.pack(RUN, len(payload))], rights)
            sock.sendall(payload)
        finally:
            os.close(cwd)
        answer = read_frame(sock)
    except OSError as exc:  # descriptors closed, no answer in time: run here
        _note(verbose, f"no answer ({exc.strerror or exc})")
        return None
    if answer is None or answer[0] != PID or answer[1] <= 1:
        other = answer is not None and answer[0] == OTHER_CODE
        _note(verbose, "it runs another version of pmail" if other else "no answer")
        return None
    try:
        sock.sendall(GO)
    except OSError as exc:  # the command waits for this: it has not run
        _note(verbose, f"no answer ({exc.strerror or exc})")
        return None
    return _relay(sock, answer[1])


def _relay(sock: _socket.socket, pid: int) -> int:
    """Forward Ctrl-C and termination to the command's process group until it
    ends; its exit status, or its signal raised here."""
    import signal  # not before: the command already runs in the server's child

    def forward(signum: int, frame: object) -> None:
        try:
            os.killpg(pid, signum)
        except OSError:  # already ended
            return

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    sock.settimeout(None)
    try:
        answer = read_frame(sock)
    except OSError:
        answer = None
    if answer is None:
        os.write(2, b"error: the resident server ended the command\n")
        os.write(2, b"hint: see `pmail resident status`; run it again\n")
        return 1
    tag, value = answer
    if tag == SIGNALLED and 0 < value < signal.NSIG:
        signal.signal(value, signal.SIG_DFL)
        os.kill(os.getpid(), value)
        return 128 + value
    return value if tag == EXITED else 1
