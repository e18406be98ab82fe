"""Ctrl-C: one error/hint pair on stderr, exit 130, whenever it comes.

The handler writes the pair itself (with os.write, which cannot collide with a
half-written line of Python's stderr buffer) the moment SIGINT arrives, then raises
KeyboardInterrupt as Python's own handler does. So the user sees the same two
lines whether the interrupt lands while modules import, while typer parses, while a
batch is written or while output is printed; nothing else is printed after it.
"""

from __future__ import annotations

import contextlib
import os
import signal
from types import FrameType

MESSAGE = (
    "error: interrupted; committed batches are kept\n"
    "hint: run the same command again to finish\n"
)
_reported = False


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    report_once()
    raise KeyboardInterrupt


def install() -> None:
    """Let SIGINT report itself before it unwinds the program."""
    signal.signal(signal.SIGINT, _on_sigint)


def report_once() -> None:
    """Write the interrupted error/hint pair to stderr, once per process."""
    global _reported
    if not _reported:
        _reported = True
        with contextlib.suppress(OSError):  # stderr closed: nothing more to say
            os.write(2, MESSAGE.encode())
