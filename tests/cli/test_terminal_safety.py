"""Untrusted text from mail never reaches the terminal raw (escape sequences shown
escaped in tables, records and messages; control pictures in csv; escaped in JSON)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pmail_cli.cli import app
from pmail_cli.mail.prepare import storage_key_for
from tests import mailgen

pytestmark = pytest.mark.db
runner = CliRunner()
EVIL = "\x1b[31mRED \x1b]0;pwned-title\x07 \x9b2J '); DROP TABLE x;--\r"
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # tab and newline aside


def _run(dsn: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--dsn", dsn, *args])
    return result.exit_code, result.stdout, result.stderr


def _assert_clean(*texts: str) -> None:
    for text in texts:
        found = RAW_CONTROL.findall(text.replace("\t", ""))
        assert not found, (found, text[:500])


def test_hostile_text_through_every_command_that_prints_mail(
    dsn: str, tmp_path: Path
) -> None:
    header = EVIL.replace("\r", "")  # a header value cannot hold a bare CR
    raw = mailgen.simple(1, subject=header, extra=f"X-Evil: {header}").replace(
        b"From: Ann Example <ann@example.org>",
        b"From: Evil \x1b[31mRed\x1b[0m <evil@example.org>",
    )
    attached = mailgen.with_attachment(
        2, mailgen.pdf_bytes(2), filename=f"{header}.pdf"
    )
    bounce = mailgen.dsn(3, mailgen.outbound(3), text=header)
    folder = tmp_path / "in"
    folder.mkdir()
    for i, message in enumerate((raw, attached, bounce)):
        (folder / f"{i}.eml").write_bytes(message)
    assert _run(dsn, "tenant", "add", "acme")[0] == 0
    code, out, err = _run(dsn, "ingest", str(folder), "-t", "acme", "-v")
    assert code == 0, err
    _assert_clean(out, err)
    tid = _run(dsn, "tenant", "list", "--format", "json")[1]
    tenant_id = json.loads(tid)[0]["tenant_id"]

    for key in (storage_key_for(tenant_id, raw), storage_key_for(tenant_id, attached)):
        for fmt in ("table", "csv", "markdown"):
            code, out, err = _run(
                dsn, "show", key, "-t", "acme", "--format", fmt, "--headers"
            )
            assert code == 0, err
            _assert_clean(out, err)
        code, out, err = _run(
            dsn, "show", key, "-t", "acme", "--format", "json", "--headers"
        )
        assert code == 0
        _assert_clean(out, err)
        record = json.loads(out)
        assert record["subject"] == header or [
            a["filename"] for a in record["attachments"]
        ] == [header + ".pdf"]  # stored exactly: 8-bit and controls included
    code, out, _ = _run(
        dsn, "show", storage_key_for(tenant_id, raw), "-t", "acme", "--format", "json"
    )
    assert (
        json.loads(out)["from_name"] == "Evil \x1b[31mRed\x1b[0m"
    )  # parsed right, stored exactly
    code, out, _ = _run(dsn, "show", storage_key_for(tenant_id, raw), "-t", "acme")
    assert "\\x1b[31mRED" in out  # shown escaped in the table
    code, out, _ = _run(
        dsn, "show", storage_key_for(tenant_id, raw), "-t", "acme", "--format", "csv"
    )
    assert "\u241b[31mRED" in out  # control pictures in csv

    for args in (
        ("classify", str(folder / "2.eml")),
        ("classify", str(folder / "2.eml"), "--format", "csv"),
        ("classify", str(folder / "2.eml"), "--explain"),
        ("report", "bounces", "-t", "acme", "--since", "2020-01-01"),
        ("report", "bounces", "-t", "acme", "--since", "2020-01-01", "--by", "domain"),
        ("export", "-t", "acme", "--out", str(tmp_path / "out")),
        ("validate", "-t", "acme"),
        ("hold", "add", "-t", "acme", "--reason", header),
        ("hold", "list", "-t", "acme"),
        ("show", header, "-t", "acme"),
    ):
        code, out, err = _run(dsn, *args)
        assert code in (0, 1, 2), (args, err)
        _assert_clean(out, err)


def test_a_file_name_cannot_forge_a_line_of_output(dsn: str, tmp_path: Path) -> None:
    """A newline in a file name (ingest -v names flagged, empty and skipped inputs)
    used to reach stderr raw: the name's second part stood on a line of its own,
    reading like pmail's own `error:` or summary line. It is shown as `\\n` now."""
    folder = tmp_path / "in"
    folder.mkdir()
    forged = "ingested 0 messages, all is well"
    (folder / f"a\nerror: {forged}.eml").write_bytes(b"From: x@example.org\n\n")
    (folder / f"b\n{forged}.eml").write_bytes(b"")
    (folder / f"c\n{forged}.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    assert _run(dsn, "tenant", "add", "acme")[0] == 0
    code, out, err = _run(dsn, "ingest", str(folder), "-t", "acme", "-v")
    assert code == 0, err
    lines = (out + err).splitlines()
    assert not [line for line in lines if forged in line and "\\n" not in line], err
    assert sum("\\n" in line for line in lines) == 3, err
    _assert_clean(out, err)
