"""Hostile input: stored and exported exactly, or flagged; never a crash, never lost."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import random
import string
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from pmail_cli.cli import app
from pmail_cli.config import Settings
from pmail_cli.db import connect
from pmail_cli.mail.prepare import storage_key_for
from pmail_cli.services import export, ingest, tenants, validate
from pmail_cli.services.pipeline import PipelineOptions
from tests import mailgen

pytestmark = pytest.mark.db
runner = CliRunner()
Conn = psycopg.Connection[tuple[object, ...]]
SAMPLES = Path(__file__).resolve().parents[1] / "data" / "sample"

NASTY = "'; DROP TABLE email_messages; -- $(rm -rf ~) `id` \x1b[2J\x1b]0;owned\x07 \r"


def _pmail(dsn: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--dsn", dsn, *args])
    return result.exit_code, result.stdout, result.stderr


def _nested(depth: int) -> bytes:
    """A message whose MIME parts nest `depth` levels deep."""
    head = [
        b"From: deep@example.org",
        b"To: bob@example.com",
        b"Subject: nested",
        b"MIME-Version: 1.0",
    ]
    out = head[:]
    for level in range(depth):
        out += [f'Content-Type: multipart/mixed; boundary="b{level}"'.encode(), b""]
        out += [f"--b{level}".encode()]
    out += [b"Content-Type: text/plain", b"", b"the bottom"]
    for level in reversed(range(depth)):
        out += [f"--b{level}--".encode()]
    return b"\r\n".join(out) + b"\r\n"


# letters that do not compress: the index entry stays over PostgreSQL's limit
NOISE = "".join(random.Random(1).choices(string.ascii_letters, k=4000))
UTF7_BOUNCE = (
    b"From: MAILER-DAEMON@mx.example.org\r\nTo: kdoyle@example.com\r\n"
    b"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <utf7@mx>\r\n"
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="R"'
    b"\r\n\r\n--R\r\nContent-Type: text/plain; charset=utf-7\r\n\r\n+2AA-\r\n"
    b"--R\r\nContent-Type: message/delivery-status\r\n\r\n"
    b"Reporting-MTA: dns; mx.example.org\r\n\r\n"
    b"Final-Recipient: rfc822; m.okafor@example.net\r\nAction: failed\r\n"
    b"Status: 5.1.1\r\n\r\n--R--\r\n"
)


def _hostile() -> dict[str, bytes]:
    """Name -> raw message, every kind the issue lists."""
    evil_names = [
        "../../etc/passwd",
        "/etc/shadow",
        "a\x00b.pdf",
        "x" * 300 + ".pdf",
        NASTY + ".pdf",
    ]
    attached = {
        f"filename-{i}": mailgen.with_attachment(
            100 + i, mailgen.pdf_bytes(i), filename=name
        )
        for i, name in enumerate(evil_names)
    }
    return {
        "sql-shell-terminal": mailgen.simple(
            1, subject=NASTY, body=NASTY * 3, extra=f"X-Evil: {NASTY}\nX-Null: a\x00b"
        ),
        **attached,
        "nested-1000": _nested(1000),
        # a content type past PostgreSQL's index-entry limit once stopped every
        # ingest at the same message, and a UTF-7 body decoding to a lone surrogate
        # lost the whole message's fields (a bounce went unclassified)
        "long-content-type": mailgen.with_attachment(
            4, b"x", filename="a.bin", mime_type="application/x-" + NOISE
        ),
        "utf7-bounce": UTF7_BOUNCE,
        "only-headers": b"From: a@example.org\r\nSubject: nothing else",
        "long-header-line": mailgen.simple(2, extra="X-Long: " + "y" * 65536),
        "50mb": mailgen.with_attachment(3, b"\x00\xff" * (25 * 1024 * 1024)),
        "not-mail": bytes(range(256)) * 64,
    }


def test_hostile_messages_are_stored_and_exported_exactly(
    dsn: str, tmp_path: Path
) -> None:
    """Every hostile message in one batch: all stored, byte-exact on export, flagged
    where broken; an empty file is reported, not stored; validate --deep is clean."""
    raws = _hostile()
    folder = tmp_path / "in"
    folder.mkdir()
    for name, raw in raws.items():
        (folder / f"{name}.eml").write_bytes(raw)
    (folder / "empty.eml").write_bytes(b"")
    assert _pmail(dsn, "tenant", "add", "acme")[0] == 0
    code, _, err = _pmail(dsn, "ingest", str(folder), "-t", "acme")
    assert code == 0, err
    assert f"ingested {len(raws)} messages" in err and "1 empty input" in err, err

    out = tmp_path / "out"
    code, _, err = _pmail(dsn, "export", "-t", "acme", "--out", str(out))
    assert code == 0, err
    written = {hashlib.sha256(p.read_bytes()).hexdigest() for p in out.iterdir()}
    assert written == {hashlib.sha256(r).hexdigest() for r in raws.values()}
    assert [p.parent for p in out.rglob("*")] == [out] * len(raws)  # nothing outside
    assert not (tmp_path / "etc").exists()

    with psycopg.connect(dsn) as conn:
        subjects = {
            str(r[0]) for r in conn.execute("SELECT subject FROM email_messages")
        }
        assert NASTY.replace("\r", "").strip() in {
            s.replace("\r", "").strip() for s in subjects
        }
        assert conn.execute("SELECT count(*) FROM email_messages").fetchone() == (
            len(raws),
        )
        names = [str(r[0]) for r in conn.execute("SELECT filename FROM attachments")]
        assert any(n.startswith("../") for n in names)
        assert all("\x00" not in n for n in names)  # TEXT cannot hold NUL: replaced
        fields = {
            name: conn.execute(
                "SELECT subject, message_type FROM email_messages "
                "WHERE storage_key = %s",
                (storage_key_for(_tenant_id(dsn), raws[name]),),
            ).fetchone()
            for name in ("nested-1000", "utf7-bounce")
        }
        assert fields == {
            "nested-1000": ("nested", "email"),  # its headers kept, tree or not
            "utf7-bounce": ("Undelivered Mail Returned to Sender", "bounce"),
        }
        types = conn.execute(
            "SELECT length(mime_type) FROM attachments WHERE mime_type LIKE %s",
            (f"application/x-{NOISE[:50].lower()}%",),
        ).fetchall()
        assert types == [(255,)]
        flagged = conn.execute(
            "SELECT count(*) FROM email_messages WHERE parse_problems IS NOT NULL"
        ).fetchone()
        assert flagged is not None and isinstance(flagged[0], int) and flagged[0] >= 3
    code, show_out, err = _pmail(
        dsn,
        "show",
        "-t",
        "acme",
        "--format",
        "json",
        storage_key_for(_tenant_id(dsn), raws["sql-shell-terminal"]),
    )
    assert code == 0, err
    assert json.loads(show_out)["subject"].strip() == NASTY.strip()
    code, _, err = _pmail(dsn, "validate", "--deep")
    assert code == 0, err


def _tenant_id(dsn: str) -> str:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT tenant_id::text FROM tenants WHERE name = 'acme'"
        ).fetchone()
        assert row is not None
        return str(row[0])


def _seeds() -> list[bytes]:
    seeds = [
        mailgen.simple(1),
        mailgen.with_attachment(2, mailgen.pdf_bytes(2, 3000)),
        mailgen.dsn(3, mailgen.outbound(3)),
    ]
    seeds += [p.read_bytes() for p in sorted(SAMPLES.rglob("*.eml"))[:12]]
    return seeds


SEEDS = _seeds()
_counter = itertools.count()


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    """A real message mutated (bytes flipped, cut, spliced, duplicated), or noise."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(min_size=1, max_size=2000))
    raw = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 6))):
        at = draw(st.integers(0, len(raw)))
        kind = draw(st.sampled_from(["flip", "cut", "insert", "repeat"]))
        if kind == "flip" and raw:
            raw[min(at, len(raw) - 1)] = draw(st.integers(0, 255))
        elif kind == "cut":
            del raw[at : at + draw(st.integers(1, 200))]
        elif kind == "insert":
            raw[at:at] = draw(
                st.sampled_from(
                    [
                        b"\r\n",
                        b"\n--",
                        b"\x00",
                        b"=?utf-8?b?",
                        b"\r\n\r\n",
                        b"\xff\xfe",
                        b"--b0--",
                    ]
                )
            )
        else:
            raw[at:at] = raw[at : at + draw(st.integers(1, 300))]
    return bytes(raw) or b"x"


@settings(
    max_examples=40,
    deadline=None,
    derandomize=bool(os.environ.get("CI")),  # CI: the same examples every run
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(messages(), min_size=1, max_size=6))
def test_random_and_mutated_mail_round_trips(
    dsn: str, tmp_path: Path, batch: list[bytes]
) -> None:
    """Whatever the bytes: ingest -> export gives them back exactly, validate is clean."""
    run = next(_counter)
    folder = tmp_path / f"in-{run}"
    folder.mkdir()
    for i, raw in enumerate(batch):
        (folder / f"{i}.eml").write_bytes(raw)
    with connect(Settings(dsn=dsn, dsn_source="test")) as conn:
        tenant = tenants.use_tenant(conn, None)
        result = ingest.ingest_paths(
            conn, [str(folder)], tenant=tenant, options=PipelineOptions(), jobs=1
        )
        # only whitespace is no message: reported as an empty input, never dropped silently
        blank = {i for i, raw in enumerate(batch) if raw.isspace()}
        assert sorted(result.empty) == sorted(str(folder / f"{i}.eml") for i in blank)
        batch = [raw for i, raw in enumerate(batch) if i not in blank]
        if not batch:
            return
        keys = sorted({storage_key_for(str(tenant.tenant_id), raw) for raw in batch})
        out = tmp_path / f"out-{run}"
        export.export_messages(
            conn, tenant, out_dir=out, mbox=None, since=None, keys=keys
        )
        got = {hashlib.sha256(p.read_bytes()).digest() for p in out.iterdir()}
        assert got == {hashlib.sha256(raw).digest() for raw in batch}
        report = validate.validate(conn, tenant, deep=True, jobs=1)
        assert report.problems == 0, [o for o in report.outcomes if o.count]
