"""Every `pmail …` example of the README and docs/commands.md, run as written against a
real database (and a real Redis), in the order the documents give them.

The sandbox holds what the examples name: tenant acme with its account, inbox.mbox,
Maildir/, one.eml, bounce.eml, reply.eml, more.eml, message.eml, accounts.toml,
tests/data/sample. Only what cannot exist here is substituted: the servers in DSNs
(the test database), `<uuid>` (the lead the mail names), the key prefix 3f2a9c0d (a
stored message's), a login role's name (roles are shared by every database of the
server), and `--watch` gets `--watch-for 2` (it runs until stopped). Every example
must exit 0, except those in EXPECTED, which need the outside
world (an IMAP server at imap.example.com, legacy tables) or name a thing that does
not exist: they must fail with their documented exit code and one error/hint pair.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from pmail_cli.cli import app
from tests import mailgen
from tests.cli.test_docs_options import REPO, _examples
from tests.conftest import QueueEnv

pytestmark = pytest.mark.db
runner = CliRunner()
DOCUMENTS = ("README.md", "commands.md")
SERVER_DSNS = (
    "postgresql://localhost/pmail",
    "postgresql://db/content",
    "postgresql://db/platform",
)
# (document, the example's start) → (exit code, a phrase of its error): why it fails
EXPECTED: dict[tuple[str, str], tuple[int, str]] = {
    # no IMAP server by that name here
    ("README.md", "pmail import-imap --host imap.acme.com"): (1, "imap.acme.com"),
    ("commands.md", "pmail import-imap --host imap.example.com"): (
        1,
        "imap.example.com",
    ),
    ("commands.md", "pmail import-imap --accounts"): (1, "imap.example.com"),
    # no legacy tables in a pmail database
    ("README.md", "pmail migrate-legacy"): (1, "legacy"),
    ("commands.md", "pmail migrate-legacy"): (1, "legacy"),
    # the example of a value outside a closed vocabulary
    ("commands.md", "pmail list --type nonsense"): (2, "nonsense"),
    # the example of a blank tenant name
    ("commands.md", 'pmail ingest --tenant ""'): (2, "--tenant is empty"),
    # an id from the documentation's own output
    ("commands.md", "pmail queue dead retry 1795873165687-0"): (2, "1795873165687-0"),
}


@pytest.fixture
def sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dsn: str, queue_env: QueueEnv
) -> Iterator[Path]:
    """A working directory holding what the examples name; PMAIL_DSN set."""
    home = tmp_path / "docs"
    home.mkdir()
    outbound = [mailgen.outbound(n) for n in range(1, 4)]
    (home / "inbox.mbox").write_bytes(
        b"".join(
            b"From sdr1@acme.test Tue Mar  5 10:00:00 2024\n" + m for m in outbound
        )
    )
    for sub in ("cur", "new", "tmp"):
        (home / "Maildir" / sub).mkdir(parents=True)
    (home / "Maildir" / "new" / "1.eml").write_bytes(
        mailgen.reply(1, "<out-1@acme.test>")
    )
    for n in range(100, 160):  # enough mail for `dict train` (50 messages at least)
        (home / "Maildir" / "cur" / f"{n}.eml").write_bytes(mailgen.outbound(n))
    (home / "one.eml").write_bytes(mailgen.with_attachment(5, mailgen.pdf_bytes(5)))
    (home / "bounce.eml").write_bytes(
        mailgen.dsn(6, outbound[1], status="4.2.2", code=452, text="mailbox full")
    )
    (home / "reply.eml").write_bytes(mailgen.reply(7, "<out-2@acme.test>"))
    (home / "more.eml").write_bytes(mailgen.simple(8))
    (home / "message.eml").write_bytes(mailgen.simple(9))
    (home / "accounts.toml").write_text(  # as docs/imap.md shows it
        '[[account]]\nhost = "imap.example.com"\nuser = "sdr1@acme.com"\n'
        'tenant = "acme"\npassword_env = "ACME_SDR1_PASSWORD"\n'
        'folders = ["INBOX", "Sent"]\n'
    )
    monkeypatch.setenv("ACME_SDR1_PASSWORD", "secret")
    monkeypatch.setenv("PMAIL_IMAP_PASSWORD", "secret")  # as the README sets it
    (home / "tests" / "data").mkdir(parents=True)
    shutil.copytree(
        REPO / "tests" / "data" / "sample", home / "tests" / "data" / "sample"
    )
    monkeypatch.chdir(home)
    monkeypatch.setenv("PMAIL_DSN", dsn)
    yield home


def _documented() -> list[tuple[str, str]]:
    """(document, example) in document order, README first."""
    return [(doc, line) for doc, line in _examples() if doc in DOCUMENTS]


def _argv(line: str, dsn: str, key: str, role: str) -> tuple[list[str], bytes | None]:
    line = re.split(r"\s#\s", line, maxsplit=1)[0].strip()
    line = line.replace("<uuid>", mailgen.LEAD).replace("3f2a9c0d", key[:8])
    stdin = None
    redirect = re.search(r"\s<\s*(\S+)", line)
    if redirect:
        stdin = Path(redirect.group(1)).read_bytes()
        line = line[: redirect.start()]
    line = re.sub(r"\s>\s*\S+", "", line)
    for server in SERVER_DSNS:
        line = line.replace(server, shlex.quote(dsn))
    line = line.replace("acme_app", role)
    argv = shlex.split(line)[1:]
    if "--watch" in argv:
        argv += ["--watch-for", "2"]
    if "-" in argv and stdin is None:
        stdin = Path("message.eml").read_bytes()
    return argv, stdin


def _expected(doc: str, line: str) -> tuple[int, str] | None:
    """The outcome of the longest EXPECTED start the example begins with."""
    starts = [k for k in EXPECTED if k[0] == doc and line.startswith(k[1])]
    return EXPECTED[max(starts, key=lambda k: len(k[1]))] if starts else None


def test_every_documented_example_runs_as_written(
    sandbox: Path, dsn: str, conn: psycopg.Connection[tuple[object, ...]]
) -> None:
    examples = _documented()
    assert len(examples) > 50
    role = f"pmail_docs_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    key = ""
    failures = []
    try:
        for doc, line in examples:
            if not key and "show 3f2a9c0d" in line:
                row = conn.execute(
                    "SELECT m.storage_key FROM email_messages m JOIN tenants t "
                    "USING (tenant_id) WHERE t.name = 'acme' LIMIT 1"
                ).fetchone()
                assert row is not None, "the examples before `show` stored nothing"
                key = str(row[0])
            argv, stdin = _argv(line, dsn, key or "3f2a9c0d", role)
            result = runner.invoke(app, argv, input=stdin)
            want = _expected(doc, line)
            code = result.exit_code
            err = result.stderr
            if "Traceback" in err or (
                result.exception and not isinstance(result.exception, SystemExit)
            ):
                failures.append(f"{doc}: {line!r} crashed: {result.exception!r}")
            elif want is None and code != 0:
                failures.append(f"{doc}: {line!r} exit {code}: {err[-400:]}")
            elif want is not None and (
                code != want[0] or want[1] not in err or "hint: " not in err
            ):
                failures.append(
                    f"{doc}: {line!r} exit {code} (want {want}): {err[-400:]}"
                )
    finally:
        conn.execute(f"DROP ROLE IF EXISTS {role}")
        conn.commit()
    assert failures == [], "\n".join(failures)


def test_the_migration_guide_runs_as_written(
    dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/migrate-legacy.md's commands, in order, on a database holding the legacy
    tables: dry run, run, status, verify, archive all succeed."""
    from tests.db.test_migrate import _drop, _new_database

    examples = [line for doc, line in _examples() if doc == "migrate-legacy.md"]
    assert len(examples) == 5
    legacy = _new_database(dsn)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PMAIL_DSN", legacy.dsn)
    try:
        for line in examples:
            argv, stdin = _argv(line, legacy.dsn, "", "")
            result = runner.invoke(app, argv, input=stdin)
            assert result.exit_code == 0, (line, result.stderr[-600:])
            assert "Traceback" not in result.stderr
        with psycopg.connect(legacy.dsn) as conn:
            archived = conn.execute(
                "SELECT count(*) FROM pg_tables WHERE tablename LIKE '%\\_archived'"
            ).fetchone()
        assert archived is not None and archived[0] >= 3
    finally:
        _drop(legacy.dsn)
