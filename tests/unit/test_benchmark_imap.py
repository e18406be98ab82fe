"""Tests of the IMAP benchmark's pure helpers; nothing here times anything."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email import policy
from pathlib import Path

import pytest
from benchmarks import imap

from tests.support.dovecot import ImapAccount

ACCOUNT = ImapAccount("user1@acme.test", 'pw-"1"\\secret', "127.0.0.1", 10143, 10993)


def test_percentile_is_nearest_rank() -> None:
    """p95 of 20 samples is the 19th smallest; p50 of 4 is the 2nd; empty is None."""
    values = [float(v) for v in range(20, 0, -1)]
    assert imap.percentile(values, 95) == 19.0
    assert imap.percentile(values, 100) == 20.0
    assert imap.percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.0
    assert imap.percentile([0.5], 95) == 0.5
    assert imap.percentile([], 95) is None


def test_median_and_rate_handle_missing_values() -> None:
    """No samples give no median; a missing or zero time gives no rate."""
    assert imap.median([3.0, 1.0, 2.0]) == 2.0
    assert imap.median([]) is None
    assert imap.rate(10_000, 4.0) == 2500.0
    assert imap.rate(10_000, None) is None
    assert imap.rate(10_000, 0.0) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("isync 1.4.4", (1, 4, 4)), ("isync 1.5.0", (1, 5, 0)), ("mbsync 1.3", (1, 3, 0))],
)
def test_version_tuple(text: str, expected: tuple[int, int, int]) -> None:
    """The first dotted number of a --version line is read, the patch level defaulting to 0."""
    assert imap.version_tuple(text) == expected


def test_version_tuple_without_a_number_is_an_error() -> None:
    """A --version line without a version is refused rather than guessed."""
    with pytest.raises(ValueError, match="no version"):
        imap.version_tuple("isync")


def test_mbsyncrc_uses_the_keywords_of_the_installed_version() -> None:
    """isync 1.4 gets SSLType and Far/Near, 1.5 TLSType, 1.3 Master/Slave."""
    maildir = Path("/tmp/bench mail")
    v14 = imap.mbsyncrc(version=(1, 4, 4), account=ACCOUNT, maildir=maildir)
    v15 = imap.mbsyncrc(version=(1, 5, 0), account=ACCOUNT, maildir=maildir)
    v13 = imap.mbsyncrc(version=(1, 3, 0), account=ACCOUNT, maildir=maildir)
    assert "SSLType None" in v14.splitlines() and "TLSType" not in v14
    assert "TLSType None" in v15.splitlines() and "SSLType" not in v15
    assert {"Far :bench-far:", "Near :bench-near:", "Create Near"} <= set(
        v14.splitlines()
    )
    assert {"Master :bench-far:", "Slave :bench-near:", "Create Slave"} <= set(
        v13.splitlines()
    )


def test_mbsyncrc_quotes_values_and_pulls_inbox_only() -> None:
    """Password and paths are quoted with escapes; INBOX is pulled, state kept locally."""
    lines = imap.mbsyncrc(
        version=(1, 4, 4), account=ACCOUNT, maildir=Path("/tmp/bench mail")
    ).splitlines()
    assert 'Pass "pw-\\"1\\"\\\\secret"' in lines
    assert 'Path "/tmp/bench mail/"' in lines
    assert 'Inbox "/tmp/bench mail/INBOX"' in lines
    assert "Port 10143" in lines
    assert {"Patterns INBOX", "Sync Pull", "SyncState *", "AuthMechs LOGIN"} <= set(
        lines
    )


def test_latency_message_is_unique_and_parses() -> None:
    """Each latency message has its own Message-ID, CRLF line ends and a valid header."""
    when = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    first_id, first = imap.latency_message(1, to="user1@acme.test", when=when)
    second_id, _ = imap.latency_message(1, to="user1@acme.test", when=when)
    assert first_id != second_id
    assert b"\n" not in first.replace(b"\r\n", b"")
    parsed = email.message_from_bytes(first, policy=policy.default)
    assert parsed["Message-ID"] == first_id
    assert parsed["To"] == "user1@acme.test"
    assert parsed["Date"].datetime == when


def test_verdict_and_safe_dsn() -> None:
    """Verdicts read PASS/FAIL/n/a; a reported DSN never carries the password."""
    assert [imap.verdict(v) for v in (True, False, None)] == ["PASS", "FAIL", "n/a"]
    shown = imap.safe_dsn("host=db user=u password=hunter2 dbname=x")
    assert "hunter2" not in shown and "host=db" in shown


def test_summary_ratio_and_verdicts() -> None:
    """The summary takes medians per tool and corpus; the ratios compare pmail to mbsync."""
    report = imap.Report(
        command="c",
        date="d",
        machine={},
        corpora={"generated": {"messages": 100}, "from real": {"messages": 50}},
    )
    for run, (pm, mb) in enumerate([(2.0, 4.0), (3.0, 4.0), (10.0, 5.0)], 1):
        report.runs.append(imap.ImportRun("pmail", run, pm, 100))
        report.runs.append(imap.ImportRun("mbsync", run, mb, 100))
        report.runs.append(imap.ImportRun("pmail", run, 2 * pm, 50, corpus="from real"))
        report.runs.append(imap.ImportRun("mbsync", run, mb, 50, corpus="from real"))
    report.latency = [0.4, 0.6, 0.5]
    summary = report.summary()
    generated = summary["corpora"]["generated"]
    assert generated["pmail_seconds"] == 3.0
    assert generated["throughput_ratio_pmail_mbsync"] == pytest.approx(4.0 / 3.0)
    assert generated["time_ratio_pmail_mbsync"] == pytest.approx(3.0 / 4.0)
    assert generated["import_verdict"] == "PASS"
    real = summary["corpora"]["from real"]
    assert real["pmail_seconds"] == 6.0
    assert real["pmail_msgs_per_s"] == pytest.approx(50 / 6.0)
    assert real["import_verdict"] == "FAIL"
    assert summary["latency_p95_s"] == 0.6
    assert summary["latency_verdict"] == "PASS"
    assert generated["fetch_only_seconds"] is None
    assert "from real: pmail time / mbsync time" in _rendered(report)


def _rendered(report: imap.Report) -> str:
    report.machine = {
        "cpus": 2,
        "cpu_model": "x",
        "platform": "p",
        "postgresql": "15",
        "dsn": "host=db",
        "dovecot": "2.3",
        "mbsync": "isync 1.4",
        "python": "3.11",
    }
    report.corpora["generated"].update(megabytes=1.0, seed=1)
    report.corpora["from real"].update(megabytes=2.0, found=60, distinct=48)
    return imap.render(report)


def test_from_dirs_are_read_as_pmail_ingest_reads_them(tmp_path: Path) -> None:
    """--from takes files, mbox files and Maildirs; what is not mail is left out."""
    (tmp_path / "cur").mkdir()
    (tmp_path / "cur" / "1.eml").write_bytes(b"From: a@b.example\nSubject: one\n\nhi\n")
    (tmp_path / "box.mbox").write_bytes(
        b"From a@b Mon Jan  1 00:00:00 2024\nSubject: two\n\nx\n\n"
        b"From a@b Mon Jan  1 00:00:00 2024\nSubject: three\n\ny\n"
    )
    (tmp_path / "README.md").write_bytes(b"# notes, not mail\n")
    found = sorted(imap.messages_under([str(tmp_path)]))
    assert len(found) == 3
    assert any(b"Subject: one" in raw for raw in found)


def test_from_must_name_directories_and_something_must_be_measured(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing --from directory, or no corpus at all, is a usage error."""
    with pytest.raises(SystemExit):
        imap.parse_args(["--from", str(tmp_path / "nope")])
    assert "not a directory" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        imap.parse_args(["--messages", "0"])
    assert "nothing to measure" in capsys.readouterr().err
    args = imap.parse_args(["--messages", "0", "--from", str(tmp_path), "--from", "."])
    assert args.from_dirs == [str(tmp_path), "."]
