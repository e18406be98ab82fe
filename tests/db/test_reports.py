"""Reports and rollups against a real PostgreSQL with known answers."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from typer.testing import CliRunner

from pmail_cli.cli import app
from tests import mailgen

pytestmark = pytest.mark.db
runner = CliRunner()
Conn = psycopg.Connection[tuple[object, ...]]
C1 = "11111111-1111-4111-8111-111111111111"
C2 = "22222222-2222-4222-8222-222222222222"
TODAY = datetime.now(UTC).date()


def _out(n: int, campaign: str, tenant: str = "acme") -> bytes:
    return mailgen.simple(
        n,
        sender=f"sdr1@{tenant}.test",
        to=f"lead{n}@example.com",
        subject=f"Quick question {n}",
        message_id=f"<out-{n}@{tenant}.test>",
        extra=f"X-PM-Campaign-Id: {campaign}",
    )


def _pmail(dsn: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--dsn", dsn, *args])
    return result.exit_code, result.stdout, result.stderr


def _ingest(dsn: str, folder: Path, raws: list[bytes], tenant: str = "acme") -> None:
    folder.mkdir(parents=True)
    for i, raw in enumerate(raws):
        (folder / f"{i:03d}.eml").write_bytes(raw)
    code, _, err = _pmail(dsn, "ingest", str(folder), "--tenant", tenant)
    assert code == 0, err


def _scenario(dsn: str, tmp: Path, tenant: str = "acme") -> None:
    """Two campaigns; a reply that arrives before its parent; bounces after their sends."""
    assert _pmail(dsn, "tenant", "add", tenant)[0] == 0
    assert (
        _pmail(dsn, "account", "add", f"sdr1@{tenant}.test", "--tenant", tenant)[0] == 0
    )
    sent = {n: _out(n, C1 if n <= 4 else C2, tenant) for n in range(1, 8)}
    early = mailgen.reply(7, f"<out-7@{tenant}.test>")  # before out-7 exists
    _ingest(dsn, tmp / f"{tenant}-1", [*(sent[n] for n in range(1, 7)), early], tenant)
    late = [
        sent[7],
        mailgen.dsn(2, sent[2], recipient="lead2@example.com"),
        mailgen.dsn(
            3,
            sent[3],
            status="5.2.2",
            recipient="lead3@example.com",
            text="mailbox full",
        ),
        mailgen.dsn(
            5,
            sent[5],
            status="5.7.1",
            recipient="lead5@example.com",
            text="Message blocked by policy: sender IP blacklisted",
        ),
        mailgen.auto_reply(1, f"<out-1@{tenant}.test>"),
        mailgen.reply(4, f"<out-4@{tenant}.test>"),
    ]
    _ingest(dsn, tmp / f"{tenant}-2", late, tenant)


def _json(dsn: str, *args: str) -> list[dict[str, object]]:
    code, out, err = _pmail(dsn, "report", *args, "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    assert isinstance(rows, list)
    return rows


def test_reports_give_the_known_answers(dsn: str, tmp_path: Path) -> None:
    """Volume, status, campaigns, mailboxes and bounces after late links and late
    bounces moved the outbound statuses."""
    _scenario(dsn, tmp_path)
    volume = _json(dsn, "volume", "--tenant", "acme", "--days", "3")
    assert [r["date"] for r in volume] == [
        (TODAY - timedelta(days=d)).isoformat() for d in (2, 1, 0)
    ]
    assert (
        volume[0]["total_emails"] == volume[1]["total_emails"] == 0
    )  # no mail: zero rows
    assert {k: v for k, v in volume[2].items() if k != "date"} == {
        "total_emails": 13, "inbound_emails": 6, "outbound_emails": 7,
        "delivered_emails": 4, "bounced_emails": 3, "replied_emails": 2,
        "complained_emails": 0,
    }  # fmt: skip
    status = {(r["direction"], r["message_type"], r["status"]): r["email_count"]
              for r in _json(dsn, "status", "--tenant", "acme")}  # fmt: skip
    assert status == {
        ("outbound", "email", "auto_replied"): 1, ("outbound", "email", "bounced"): 3,
        ("outbound", "email", "replied"): 2, ("outbound", "email", "sent"): 1,
        ("inbound", "bounce", "received"): 3, ("inbound", "email", "received"): 2,
        ("inbound", "auto_reply", "received"): 1,
    }  # fmt: skip
    campaigns = {
        r["campaign_id"]: r for r in _json(dsn, "campaigns", "--tenant", "acme")
    }
    one, two = campaigns[C1], campaigns[C2]
    assert (one["sent"], one["replied"], one["auto_replied"], one["hard_bounced"],
            one["soft_bounced"], one["blocked"]) == (4, 1, 1, 1, 1, 0)  # fmt: skip
    assert (two["sent"], two["replied"], two["hard_bounced"], two["soft_bounced"],
            two["blocked"]) == (3, 1, 0, 1, 1)  # fmt: skip
    assert one["reply_rate"] == 0.25 and one["bounce_rate"] == 0.5
    (mailbox,) = _json(dsn, "mailboxes", "--tenant", "acme")
    assert (mailbox["mailbox"], mailbox["sent"], mailbox["bounced"], mailbox["blocked"],
            mailbox["replied"]) == ("sdr1@acme.test", 7, 3, 1, 2)  # fmt: skip
    reasons = _json(dsn, "bounces", "--tenant", "acme")
    assert sum(int(str(r["bounces"])) for r in reasons) == 3
    assert sum(int(str(r["hard"])) for r in reasons) == 1
    domains = _json(dsn, "bounces", "--tenant", "acme", "--by", "domain")
    assert domains == [{"key": "example.com", "bounces": 3, "hard": 1, "soft": 2,
                        "top_reason": domains[0]["top_reason"]}]  # fmt: skip


def _base_counts(conn: Conn) -> list[tuple[object, ...]]:
    """The numbers every report sums, straight from email_messages."""
    return conn.execute(
        "SELECT tenant_id, created::date, campaign_id, email_account_id, direction, "
        "message_type, status, bounce_class, bounce_reason, count(*), "
        "sum(coalesce(raw_size_bytes, 0)), sum(attachment_count), sum(is_reply::int) "
        "FROM email_messages GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9"
    ).fetchall()


def _rollups(conn: Conn) -> list[tuple[object, ...]]:
    return conn.execute(
        "SELECT tenant_id, day, campaign_id, email_account_id, direction, message_type, "
        "status, bounce_class, bounce_reason, messages, raw_bytes, attachments, replies "
        "FROM message_rollups WHERE messages <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9"
    ).fetchall()


def _storage(conn: Conn) -> list[tuple[object, ...]]:
    return conn.execute(
        "SELECT * FROM storage_rollups WHERE messages <> 0 OR attachment_refs <> 0 "
        "OR blobs <> 0 ORDER BY 1, 2"
    ).fetchall()


def test_incremental_rollups_equal_the_base_tables_and_a_rebuild(
    dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """After ingests with late links, late bounces, recompression and deletes, the
    rollups equal the base tables' counts, and a rebuild gives the same rows."""
    _scenario(dsn, tmp_path)
    deck = mailgen.pdf_bytes(4)
    _ingest(
        dsn, tmp_path / "files", [mailgen.with_attachment(i, deck) for i in range(3)]
    )
    assert _pmail(dsn, "dict", "train", "--tenant", "acme", "--recompress")[0] != 2
    conn.execute("DELETE FROM email_messages WHERE message_id = '<out-6@acme.test>'")
    conn.commit()
    incremental, storage = _rollups(conn), _storage(conn)
    assert incremental == _base_counts(conn)
    code, _, err = _pmail(dsn, "analytics", "rebuild")
    assert code == 0 and "rebuilt the rollups of every tenant" in err
    assert _rollups(conn) == incremental
    assert _storage(conn) == storage
    content = conn.execute(
        "SELECT count(*), sum(raw_size_bytes), sum(compressed_size_bytes) FROM email_content"
    ).fetchone()
    totals = conn.execute(
        "SELECT sum(messages), sum(raw_bytes), sum(stored_bytes) FROM storage_rollups"
    ).fetchone()
    assert content == totals


def test_days_in_the_tenants_time_zone(dsn: str, conn: Conn, tmp_path: Path) -> None:
    """A message stored at 20:00 UTC counts on the next day in Tokyo; --tz UTC counts it
    on its UTC day (from the messages); setting the zone rebuilds the rollups."""
    _scenario(dsn, tmp_path)
    conn.execute(
        "UPDATE email_messages SET created = '2026-01-10 20:00+00' "
        "WHERE message_id = '<out-1@acme.test>'"
    )
    conn.commit()
    window = ("--tenant", "acme", "--since", "2026-01-10", "--until", "2026-01-11")
    utc = [r["total_emails"] for r in _json(dsn, "volume", *window)]
    assert utc == [1, 0]
    code, _, err = _pmail(dsn, "tenant", "set", "acme", "--time-zone", "Asia/Tokyo")
    assert code == 0 and "time zone Asia/Tokyo" in err
    assert [r["total_emails"] for r in _json(dsn, "volume", *window)] == [0, 1]
    assert [
        r["total_emails"] for r in _json(dsn, "volume", *window, "--tz", "UTC")
    ] == [1, 0]
    code, _, err = _pmail(dsn, "report", "status", *window, "--tz", "UTC")
    assert code == 2 and "counts days in the tenant's time zone" in err
    assert _pmail(dsn, "tenant", "set", "acme", "--time-zone", "Mars/Base")[0] == 2


def test_formats_empty_results_and_usage(dsn: str, tmp_path: Path) -> None:
    """csv and markdown carry the same columns as json; an empty report prints its
    header and says so; rates are fractions in csv and percentages in tables; bad
    windows and tenants are usage errors."""
    _scenario(dsn, tmp_path)
    code, out, _ = _pmail(dsn, "report", "campaigns", "--tenant", "acme", "-f", "csv")
    header = out.splitlines()[0].split(",")
    assert (
        header[:4] == ["campaign_id", "campaign", "sent", "replied"] and "0.25" in out
    )
    code, out, _ = _pmail(dsn, "report", "campaigns", "--tenant", "acme")
    assert "25.0%" in out
    code, out, _ = _pmail(
        dsn, "report", "campaigns", "--tenant", "acme", "-f", "markdown"
    )
    assert out.startswith("| campaign_id") and "|--" in out.splitlines()[1].replace(
        " ", ""
    )
    assert _pmail(dsn, "tenant", "add", "quiet")[0] == 0
    code, out, err = _pmail(
        dsn, "report", "mailboxes", "--tenant", "quiet", "-f", "csv"
    )
    assert (
        code == 0
        and out.startswith("email_account_id,mailbox,sent")
        and "(no rows)" in err
    )
    assert out.count("\n") == 1
    for args, message in [
        (["volume"], "give --tenant NAME or --all-tenants"),
        (["volume", "--tenant", "acme", "--days", "0"], "--days must be between 1 and 3660"),
        (["volume", "--tenant", "acme", "--since", "2026-02-01", "--until", "2026-01-01"],
         "is after --until"),
        (["volume", "--tenant", "acme", "--tz", "Nowhere/City"], "unknown time zone"),
        (["bounces", "--tenant", "acme", "--by", "colour"], "--by takes: reason, domain, remote-mta"),
        (["volume", "--tenant", "acme", "--plot", "chart.gif"], "--plot writes .png or .svg"),
    ]:  # fmt: skip
        code, _, err = _pmail(dsn, "report", *args)
        assert code == 2 and message in err, (args, err)
    code, _, err = _pmail(dsn, "report", "volume", "--tenant", "nobody")
    assert code == 1 and "tenant 'nobody' does not exist" in err


def test_plot_writes_png_and_svg(dsn: str, tmp_path: Path) -> None:
    """--plot draws the chart into a valid PNG or SVG file."""
    _scenario(dsn, tmp_path)
    png, svg = tmp_path / "v.png", tmp_path / "c.svg"
    assert (
        _pmail(dsn, "report", "volume", "--tenant", "acme", "--plot", str(png))[0] == 0
    )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (
        _pmail(dsn, "report", "campaigns", "--tenant", "acme", "--plot", str(svg))[0]
        == 0
    )
    assert b"<svg" in svg.read_bytes()[:500]


def test_terminal_chart() -> None:
    """The terminal chart draws a bar per label, scaled to the largest value."""
    import io

    from rich.console import Console

    from pmail_cli.charts import Series, terminal

    out = io.StringIO()
    terminal(Series("per day", ["a", "b"], [10, 5]), Console(file=out, width=80))
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    assert lines[1].count("█") == 40 and lines[2].count("█") == 20


@pytest.fixture
def oltp_dsn(dsn: str) -> Iterator[str]:
    """A second database playing the operational one, knowing campaign C1 only."""
    name = f"pmail_test_oltp_{os.getpid()}"
    admin = make_conninfo(dsn, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name}")
        c.execute(f"CREATE DATABASE {name}")
    target = make_conninfo(dsn, dbname=name)
    with psycopg.connect(target) as c:
        c.execute("CREATE TABLE campaigns (id uuid PRIMARY KEY, name text)")
        c.execute("INSERT INTO campaigns VALUES (%s, 'Spring outreach')", (C1,))
        c.execute("CREATE TABLE mailboxes (uid uuid, address text)")
    try:
        yield target
    finally:
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_names_from_the_operational_database(
    dsn: str, oltp_dsn: str, tmp_path: Path
) -> None:
    """--oltp-dsn names campaigns from that database; one it lacks is flagged, not an
    error; the tables' names come from the config file; a missing table is clear."""
    _scenario(dsn, tmp_path)
    rows = {
        r["campaign_id"]: r
        for r in _json(dsn, "campaigns", "--tenant", "acme", "--oltp-dsn", oltp_dsn)
    }
    assert rows[C1]["campaign"] == "Spring outreach" and rows[C1]["note"] == ""
    assert (
        rows[C2]["campaign"] is None
        and rows[C2]["note"] == "not in the operational database"
    )
    code, _, err = _pmail(
        dsn, "report", "mailboxes", "--tenant", "acme", "--oltp-dsn", oltp_dsn
    )
    assert code == 2 and "has no table email_accounts" in err
    config = Path(os.environ["PMAIL_CONFIG"])
    config.write_text(
        f'oltp_dsn = "{oltp_dsn}"\n[oltp]\naccounts_table = "mailboxes"\n'
        'accounts_id = "uid"\naccounts_name = "address"\n'
    )
    (mailbox,) = _json(dsn, "mailboxes", "--tenant", "acme")
    assert (
        mailbox["mailbox"] is None
        and mailbox["note"] == "not in the operational database"
    )
    dead = "host=127.0.0.1 port=1 connect_timeout=1"
    code, _, err = _pmail(
        dsn, "report", "campaigns", "--tenant", "acme", "--oltp-dsn", dead
    )
    assert code == 1 and err.startswith("error: cannot read the operational database")


def test_tenants_do_not_leak_into_each_others_reports(
    dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """Two tenants' reports, run as a role without superuser rights, are disjoint and
    add up to --all-tenants."""
    _scenario(dsn, tmp_path, "acme")
    _scenario(dsn, tmp_path, "globex")
    role = f"pmail_report_probe_{os.getpid()}_{uuid.uuid4().hex[:6]}"  # server-wide
    conn.execute(f"CREATE ROLE {role} LOGIN")
    try:
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
        conn.commit()
        probe = make_conninfo(dsn, user=role)
        # SELECT grants alone read nothing: trust fails closed, with a clear error
        code, out, err = _pmail(probe, "report", "campaigns", "--tenant", "acme")
        assert code == 1 and out == "", err
        assert "neither bound to a tenant nor an administrator" in err, err
        conn.execute(f"GRANT pmail_analyst TO {role}")
        conn.commit()
        acme = _json(probe, "campaigns", "--tenant", "acme")
        globex = _json(probe, "campaigns", "--tenant", "globex")
        assert [r["sent"] for r in acme] == [r["sent"] for r in globex] == [4, 3]
        both = _json(probe, "campaigns", "--all-tenants")
        assert [r["sent"] for r in both] == [8, 6]
        volume = _json(probe, "volume", "--tenant", "acme", "--days", "1")
        assert volume[0]["total_emails"] == 13
    finally:
        conn.rollback()
        conn.execute(f"DROP OWNED BY {role}")
        conn.execute(f"DROP ROLE {role}")
        conn.commit()
