"""Housekeeping of the prepare worker processes: they never outlive pmail.

Workers are started by a fork server, so their parent is not the pmail process
that uses them; each watches that process itself and exits the moment it is gone
(a `kill -9` of pmail leaves no worker behind). Ctrl-C is the main process's to
handle: it stops the pool, so workers ignore SIGINT instead of printing tracebacks.
"""

from __future__ import annotations

import os
import select
import signal
import threading
import time


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
