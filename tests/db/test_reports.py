"""Reports and rollups against a real PostgreSQL with known answers."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
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


def _arrivals(conn: Conn) -> dict[str, int]:
    """Messages per UTC arrival day, as the database stored them."""
    rows = conn.execute(
        "SELECT (created AT TIME ZONE 'UTC')::date, count(*) FROM email_messages "
        "GROUP BY 1"
    ).fetchall()
    return {str(day): int(str(n)) for day, n in rows}


def test_reports_give_the_known_answers(dsn: str, conn: Conn, tmp_path: Path) -> None:
    """Volume, status, campaigns, mailboxes and bounces after late links and late
    bounces moved the outbound statuses."""
    _scenario(dsn, tmp_path)
    volume = _json(dsn, "volume", "--tenant", "acme", "--days", "3")
    # the dates are the report's own (its clock may have passed midnight since the
    # ingest): four days, the first one partial, ending today
    today = datetime.fromisoformat(str(volume[-1]["date"])).date()
    assert [r["date"] for r in volume] == [
        (today - timedelta(days=d)).isoformat() for d in (3, 2, 1, 0)
    ]
    arrivals = _arrivals(conn)  # one day, or two if the ingest crossed midnight
    assert {r["date"]: r["total_emails"] for r in volume} == {
        r["date"]: arrivals.get(str(r["date"]), 0) for r in volume
    }  # days without mail are zero rows
    columns = [k for k in volume[0] if k != "date"]
    assert {k: sum(int(str(r[k])) for r in volume) for k in columns} == {
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


# Where the scenario's messages are put, from the seed's boundary now() - 3 days: just
# outside it, on it (>= counts it), just inside, later on the partial first day, and
# on the whole days after.
OFFSETS = ["-2 days", "-1 hour", "-1 second", "-1 microsecond", "0", "1 microsecond",
           "1 second", "1 minute", "2 hours", "1 day", "2 days", "2 days 1 hour",
           "-3 hours", "3 days", "30 minutes"]  # fmt: skip
INSIDE = sum(1 for o in OFFSETS if not o.startswith("-"))
SEED_WINDOW = "created >= now() - interval '3 days'"  # the seed's volume query's


def _place_around_the_boundary(conn: Conn) -> None:
    """Move every message (and its content and attachment rows) to one of OFFSETS."""
    conn.execute(
        "UPDATE email_messages AS m SET created = now() - interval '3 days' "
        "+ (%s::text[])[o.n]::interval "
        "FROM (SELECT storage_key, row_number() OVER (ORDER BY storage_key) AS n "
        "      FROM email_messages) AS o WHERE o.storage_key = m.storage_key",
        (OFFSETS,),
    )
    for table, key in (
        ("email_content", "storage_key"),
        ("attachments", "parent_storage_key"),
    ):
        conn.execute(
            f"UPDATE {table} AS x SET created = m.created FROM email_messages AS m "
            f"WHERE m.tenant_id = x.tenant_id AND m.storage_key = x.{key}"
        )  # fmt: skip
    conn.execute(
        "UPDATE attachment_blobs AS b SET created = (SELECT min(a.created) "
        "FROM attachments AS a WHERE a.tenant_id = b.tenant_id AND a.sha256 = b.sha256)"
    )


def _seed_count(conn: Conn, query: str) -> int:
    row = conn.execute(query).fetchone()
    assert row is not None
    return int(str(row[0]))


def test_days_is_the_seeds_rolling_window(dsn: str, conn: Conn, tmp_path: Path) -> None:
    """`--days 3` counts what the seed's `created >= now() - interval '3 days'` counts,
    message for message around the boundary, in every report: the first day is
    partial. Window and seed query share one transaction, so one now()."""
    from pmail_cli.services import reports

    _scenario(dsn, tmp_path)
    deck = mailgen.pdf_bytes(4)
    _ingest(
        dsn, tmp_path / "files", [mailgen.with_attachment(i, deck) for i in range(2)]
    )
    assert len(OFFSETS) == _seed_count(conn, "SELECT count(*) FROM email_messages")
    code, _, err = _pmail(
        dsn, "tenant", "set", "acme", "--time-zone", "America/New_York"
    )
    assert code == 0, err
    conn.commit()
    conn.execute("SET LOCAL TimeZone = 'America/New_York'")  # the seed in acme's zone
    _place_around_the_boundary(conn)
    assert (
        _seed_count(conn, f"SELECT count(*) FROM email_messages WHERE {SEED_WINDOW}")
        == INSIDE
    )

    w = reports.window(conn, tenant="acme", all_tenants=False, days=3, since=None,
                       until=None, tz=None)  # fmt: skip
    volume = reports.volume(conn, w)
    assert sum(d.total_emails for d in volume) == INSIDE
    first = conn.execute(
        "SELECT now() - interval '3 days', (now() - interval '3 days')::date, "
        f"count(*) FILTER (WHERE {SEED_WINDOW} AND created::date "
        "                  = (now() - interval '3 days')::date) FROM email_messages"
    ).fetchone()
    assert first is not None and (w.start, w.since) == first[:2]
    assert len(volume) == 4 and volume[0].date == w.since
    assert volume[0].total_emails == first[2]  # the partial first day
    seed_status = conn.execute(
        "SELECT m.direction, m.status, COUNT(*) FROM email_messages m "
        "JOIN email_content c ON m.storage_key = c.storage_key "
        f"WHERE m.{SEED_WINDOW} GROUP BY m.direction, m.status"
    ).fetchall()
    status: dict[tuple[str, str], int] = {}
    for g in reports.status(conn, w):
        status[(g.direction, g.status)] = (
            status.get((g.direction, g.status), 0) + g.email_count
        )
    assert status == {(str(d), str(s)): int(str(n)) for d, s, n in seed_status}
    seed_sent = conn.execute(
        "SELECT campaign_id, count(*) FROM email_messages WHERE direction = 'outbound' "
        f"AND campaign_id IS NOT NULL AND {SEED_WINDOW} GROUP BY 1"
    ).fetchall()
    names = reports.local_names(conn, w)
    assert {
        c.campaign_id: c.sent for c in reports.campaigns(conn, w, names) if c.sent
    } == {uuid.UUID(str(c)): int(str(n)) for c, n in seed_sent}
    assert sum(m.sent for m in reports.mailboxes(conn, w, names)) == _seed_count(
        conn, "SELECT count(*) FROM email_messages WHERE direction = 'outbound' "
        f"AND email_account_id IS NOT NULL AND {SEED_WINDOW}"
    )  # fmt: skip
    assert sum(b.bounces for b in reports.bounces(conn, w, by="reason")) == _seed_count(
        conn, f"SELECT count(*) FROM email_messages WHERE message_type = 'bounce' AND {SEED_WINDOW}"
    )  # fmt: skip
    storage = reports.storage(conn, w)
    seed_storage = conn.execute(
        f"SELECT count(*), sum(raw_size_bytes) FROM email_content WHERE {SEED_WINDOW}"
    ).fetchone()
    assert seed_storage is not None
    assert (sum(d.messages for d in storage), sum(d.raw_bytes for d in storage)) == (
        seed_storage[0], seed_storage[1])  # fmt: skip
    assert sum(a.attachments for a in reports.attachments(conn, w)) == _seed_count(
        conn, f"SELECT count(*) FROM attachments WHERE {SEED_WINDOW}"
    )  # fmt: skip

    # counted from the messages in another zone, and for every tenant: the same rule
    conn.execute("SET LOCAL TimeZone = 'UTC'")
    seed_utc = _seed_count(
        conn, f"SELECT count(*) FROM email_messages WHERE {SEED_WINDOW}"
    )
    for other in (
        reports.window(conn, tenant="acme", all_tenants=False, days=3, since=None,
                       until=None, tz="UTC"),
        reports.window(conn, tenant=None, all_tenants=True, days=3, since=None,
                       until=None, tz=None),
    ):  # fmt: skip
        assert sum(d.total_emails for d in reports.volume(conn, other)) == seed_utc

    # --until (and --since) keep whole days: three of them, ending today
    conn.execute("SET LOCAL TimeZone = 'America/New_York'")
    whole = reports.window(conn, tenant="acme", all_tenants=False, days=3, since=None,
                           until=w.until, tz=None)  # fmt: skip
    assert whole.start is None and whole.since == w.until - timedelta(days=2)
    assert sum(d.total_emails for d in reports.volume(conn, whole)) == _seed_count(
        conn, "SELECT count(*) FROM email_messages "
        "WHERE created >= date_trunc('day', now()) - interval '2 days'"
    )  # fmt: skip
    conn.rollback()


@pytest.mark.parametrize(
    "zone",
    ["America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kathmandu"],
)
def test_days_before_is_the_seeds_interval_arithmetic(conn: Conn, zone: str) -> None:
    """pmail_days_before(at, N, zone) is `at - interval 'N days'` in a session whose
    TimeZone is the zone, at every instant of a year (summer time changes included)."""
    conn.execute("SELECT set_config('TimeZone', %s, true)", (zone,))
    differ = conn.execute(
        "SELECT count(*) FROM generate_series(timestamptz '2026-01-01 00:07+00', "
        "timestamptz '2027-01-01', interval '17 minutes') AS at, "
        "unnest(ARRAY[1, 2, 30, 90]) AS d "
        "WHERE pmail_days_before(at, d, %s) IS DISTINCT FROM at - make_interval(days => d)",
        (zone,),
    ).fetchone()
    assert differ == (0,)
    conn.rollback()


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


def test_plot_of_a_long_window_is_readable(dsn: str, tmp_path: Path) -> None:
    """A 366-day volume chart is drawn by week, at most 1,400 px wide, with the
    main series in a legend, labelled axes and whole-number message ticks; the
    campaigns chart shows sent, replied and bounced."""
    import re
    import struct

    _scenario(dsn, tmp_path)
    png, svg = tmp_path / "year.png", tmp_path / "year.svg"
    for path in (png, svg):
        code, _, err = _pmail(
            dsn, "report", "volume", "-t", "acme", "--days", "366", "--plot", str(path)
        )
        assert code == 0, err
    width = struct.unpack(">I", png.read_bytes()[16:20])[0]
    assert width <= 1400, width  # main drew 9,350 px
    text = svg.read_text()
    texts = {t.strip() for t in re.findall(r"<text[^>]*>([^<]*)</text>", text)}
    assert {"inbound", "outbound", "bounced", "messages", "week (starting)"} <= texts
    assert "messages per week" in texts
    ticks = re.findall(r'<g id="ytick_\d+">.*?<text[^>]*>([^<]*)</text>', text, re.S)
    assert ticks and all(re.fullmatch(r"\d+", t.strip()) for t in ticks), ticks
    campaigns = tmp_path / "campaigns.svg"
    code, _, err = _pmail(
        dsn, "report", "campaigns", "-t", "acme", "--plot", str(campaigns)
    )
    assert code == 0, err
    shown = re.findall(r"<text[^>]*>([^<]*)</text>", campaigns.read_text())
    assert {"sent", "replied", "bounced", "campaign"} <= {t.strip() for t in shown}


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
        assert sum(int(str(r["total_emails"])) for r in volume) == 13
    finally:
        conn.rollback()
        conn.execute(f"DROP OWNED BY {role}")
        conn.execute(f"DROP ROLE {role}")
        conn.commit()
