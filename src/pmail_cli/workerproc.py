"""Housekeeping of the prepare worker processes: they never outlive pmail.

Workers are started by a fork server, so their parent is not the pmail process
that uses them; each watches that process itself and exits the moment it is gone
(a `kill -9` of pmail leaves no worker behind). Ctrl-C is the main process's to
handle: it stops the pool, so workers ignore SIGINT instead of printing tracebacks.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import multiprocessing.forkserver
import os
import select
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor


def forkserver(preload: Sequence[str]) -> multiprocessing.context.BaseContext:
    """The forkserver context, its server importing `preload` once for every worker."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["pmail_cli.workerproc", *preload])
    return context


def worker_pool(workers: int, preload: Sequence[str]) -> ProcessPoolExecutor:
    """A pool of worker processes that ignore Ctrl-C and die with this process."""
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=forkserver(preload),
        initializer=init_worker,
        initargs=(os.getpid(),),
    )


def worker_count(jobs: int) -> int:
    """Worker processes for --jobs (0: one per CPU)."""
    return jobs if jobs > 0 else max(1, os.cpu_count() or 1)


def init_worker(owner: int) -> None:
    """Run first in every worker: ignore Ctrl-C, exit when `owner` exits."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(
        target=_exit_with, args=(owner,), name="pmail-owner-watch", daemon=True
    ).start()


def _exit_with(owner: int) -> None:
    try:
        handle = os.pidfd_open(owner)
    except (AttributeError, OSError):  # no pidfd here: look once a second
        while _alive(owner):
            time.sleep(1.0)
    else:
        select.select([handle], [], [])  # readable once the process has exited
    os._exit(0)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
