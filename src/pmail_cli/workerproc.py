"""Worker processes for CPU work (prepare, verify): a pool that leaves nothing behind.

`WorkerPool` starts one helper process (`python -c ...`) that imports the workers'
modules once and forks the workers; each worker talks to pmail over its own Unix
socket pair. There is no multiprocessing machinery: no named semaphores (which the
`multiprocessing` resource tracker must clean up, with a "leaked semaphore" warning,
when pmail is killed), no fork-server socket in a temporary directory, no resource
tracker process. A worker exits when its socket closes (pmail shut the pool down) or
the moment the pmail process that owns it is gone (a pidfd watch), so a `kill -9` of
pmail leaves no process, file or warning behind. Workers ignore Ctrl-C: the main
process handles it and shuts the pool down.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import Connection, wait
from typing import Any

_DIED = (
    "a worker process died while running a task (killed, or out of memory); "
    "its result is lost"
)


class WorkerPool:
    """`workers` processes running module-level functions: submit() gives a Future.

    Tasks go to idle workers in submission order; a worker that dies breaks the
    pool: its task and every waiting one fail with BrokenProcessPool."""

    def __init__(self, workers: int, preload: Sequence[str]) -> None:
        self._socks: dict[Connection, socket.socket] = {}
        child_fds: list[int] = []
        for _ in range(workers):
            mine, theirs = socket.socketpair()
            self._socks[Connection(os.dup(mine.fileno()))] = mine
            child_fds.append(theirs.detach())
        argv = [str(os.getpid()), ",".join(map(str, child_fds)), *preload]
        try:
            self._starter = subprocess.Popen(
                [sys.executable, "-c", _STARTER, *argv],
                pass_fds=child_fds,
                stdin=subprocess.DEVNULL,
                # the workers import tasks' modules by name, as this process would
                env={**os.environ, _SYS_PATH: os.pathsep.join(sys.path)},
            )
        finally:
            for fd in child_fds:
                os.close(fd)
        self._lock = threading.Lock()
        self._idle: list[Connection] = list(self._socks)
        self._busy: dict[Connection, Future[Any]] = {}
        self._waiting: deque[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]]
        self._waiting = deque()
        self._broken = False
        self._closing = False
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(
            target=self._collect, name="pmail-pool", daemon=True
        )
        self._thread.start()

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future[Any]:
        """Run fn(*args) in a worker (fn must be importable by its module's name)."""
        future: Future[Any] = Future()
        with self._lock:
            if self._broken:
                raise BrokenProcessPool(_DIED)
            if self._closing:
                raise RuntimeError("the worker pool is shut down")
            if not self._idle:
                self._waiting.append((future, fn, args))
                return future
            conn = self._idle.pop()
            self._busy[conn] = future
        self._send(conn, future, fn, args)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = True) -> None:
        """Cancel the tasks not started, let running ones finish, end the workers."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            waiting = list(self._waiting) if cancel_futures else []
            self._waiting.clear()
        for future, _, _ in waiting:
            future.cancel()
        for sock in self._socks.values():
            with contextlib.suppress(OSError):  # the worker reads EOF and exits
                sock.shutdown(socket.SHUT_WR)
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")
        if wait:
            self._thread.join()
            self._starter.wait()
            os.close(self._wake_r)
            os.close(self._wake_w)

    # --- the collector thread --------------------------------------------------

    def _send(
        self,
        conn: Connection,
        future: Future[Any],
        fn: Callable[..., Any],
        args: tuple[Any, ...],
    ) -> None:
        if not future.set_running_or_notify_cancel():
            self._release(conn)
            return
        try:
            conn.send((fn, args))
        except (OSError, EOFError):  # the worker is gone; the collector says so
            pass
        except Exception as exc:  # the task cannot be pickled
            with self._lock:
                self._busy.pop(conn, None)
            future.set_exception(exc)
            self._release(conn)

    def _release(self, conn: Connection) -> None:
        """`conn`'s worker is free: give it the next waiting task."""
        with self._lock:
            if not self._waiting or self._broken:
                self._idle.append(conn)
                return
            future, fn, args = self._waiting.popleft()
            self._busy[conn] = future
        self._send(conn, future, fn, args)

    def _collect(self) -> None:
        live = set(self._socks)
        while live:
            ready = wait([*live, self._wake_r])
            for conn in ready:
                if not isinstance(conn, Connection):
                    os.read(self._wake_r, 1)  # shutdown: the EOFs follow
                    continue
                try:
                    ok, value, remote = conn.recv()
                except (EOFError, OSError):
                    live.discard(conn)
                    self._lost(conn)
                    continue
                with self._lock:
                    future = self._busy.pop(conn)
                if ok:
                    future.set_result(value)
                else:
                    value.add_note(f"in the worker process:\n{remote}")
                    future.set_exception(value)
                self._release(conn)
        for conn, sock in self._socks.items():
            conn.close()
            sock.close()

    def _lost(self, conn: Connection) -> None:
        """A worker's socket closed: expected at shutdown, else the pool is broken."""
        with self._lock:
            future = self._busy.pop(conn, None)
            if conn in self._idle:
                self._idle.remove(conn)
            if self._closing and future is None:
                return
            self._broken = True
            waiting = [f for f, _, _ in self._waiting]
            self._waiting.clear()
        if future is not None:  # running: its worker is the one that died
            future.set_exception(BrokenProcessPool(_DIED))
        for f in waiting:
            if f.set_running_or_notify_cancel():
                f.set_exception(BrokenProcessPool(_DIED))


def worker_pool(workers: int, preload: Sequence[str]) -> WorkerPool:
    """A pool of worker processes that ignore Ctrl-C and die with this process."""
    return WorkerPool(workers, ["pmail_cli.workerproc", *preload])


def worker_count(jobs: int) -> int:
    """Worker processes for --jobs (0: one per CPU)."""
    return jobs if jobs > 0 else max(1, os.cpu_count() or 1)


# --- inside the helper process and the workers --------------------------------------

_STARTER = "import sys; from pmail_cli.workerproc import start; start(sys.argv[1:])"
_SYS_PATH = "PMAIL_WORKER_SYS_PATH"


def start(argv: list[str]) -> None:
    """The helper process: import the modules once, fork one worker per socket,
    reap them, and exit when they have."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    paths = os.environ.pop(_SYS_PATH, "")
    if paths:
        sys.path[:] = paths.split(os.pathsep)
    owner, fds, preload = int(argv[0]), [int(f) for f in argv[1].split(",")], argv[2:]
    for module in preload:
        importlib.import_module(module)
    for i, fd in enumerate(fds):
        if os.fork() == 0:
            for other in fds[i + 1 :]:  # the earlier ones are closed already
                os.close(other)
            _serve(owner, fd)  # never returns
        os.close(fd)
    for _ in fds:
        os.wait()
    os._exit(0)


def _serve(owner: int, fd: int) -> None:
    """A worker: run the tasks that arrive until the socket or the owner is gone."""
    code = 0
    try:
        init_worker(owner)
        conn = Connection(fd)
        while True:
            try:
                fn, args = conn.recv()
            except EOFError:
                break
            try:
                reply = (True, fn(*args), "")
            except Exception as exc:
                reply = (False, exc, traceback.format_exc())
            try:
                conn.send(reply)
            except (OSError, EOFError):
                break
            except Exception as exc:  # the result or error cannot be pickled
                conn.send((False, RuntimeError(repr(exc)), traceback.format_exc()))
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def init_worker(owner: int) -> None:
    """Run first in every worker: ignore Ctrl-C, exit when `owner` exits."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watch_owner(owner, lambda: os._exit(0))


def watch_owner(owner: int, on_gone: Callable[[], object]) -> None:
    """Call `on_gone` (in a daemon thread) as soon as process `owner` has exited."""
    threading.Thread(
        target=_wait_for_exit,
        args=(owner, on_gone),
        name="pmail-owner-watch",
        daemon=True,
    ).start()


def _wait_for_exit(owner: int, on_gone: Callable[[], object]) -> None:
    try:
        handle = os.pidfd_open(owner)
    except (AttributeError, OSError):  # no pidfd here: look once a second
        while _alive(owner):
            time.sleep(1.0)
    else:
        select.select([handle], [], [])  # readable once the process has exited
    on_gone()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
