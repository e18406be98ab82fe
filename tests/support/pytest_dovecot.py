"""Pytest fixtures for a real Dovecot IMAP server.

Load with ``pytest_plugins = ["tests.support.pytest_dovecot"]`` in tests/conftest.py.
``dovecot`` is one server per session; ``imap_user`` is a fresh, empty login per
test, so tests never see each other's mail.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.dovecot import DovecotServer, DovecotUnavailable, ImapAccount


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    """One Dovecot server for the session; fails (never skips) without Dovecot."""
    server = DovecotServer()
    problem = ""
    try:
        server.start()
    except DovecotUnavailable as exc:
        problem = str(exc)
    if problem:  # outside `except`, so the message is shown once, plainly
        server.stop()
        pytest.fail(problem, pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def imap_user(dovecot: DovecotServer) -> ImapAccount:
    """A new login with an empty mailbox (INBOX, Sent, Drafts, Trash, Junk)."""
    if not dovecot.running:  # an earlier test stopped it on purpose
        dovecot.start()
    return dovecot.add_user()
