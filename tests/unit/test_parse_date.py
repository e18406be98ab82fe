"""Date headers PostgreSQL could not store are problems, not batch failures."""

from __future__ import annotations

from datetime import UTC, datetime

from pmail_cli.mail.parse import parse_date


def test_a_year_read_as_a_time_zone_is_a_problem() -> None:
    """'23:4 2013 23:45:32' parses with a +20:13 zone (found by the property test):
    no sent_at, a named problem; PostgreSQL would refuse the whole batch."""
    problems: list[str] = []
    assert (
        parse_date("Thu, 29 Apr 2013 23:4 2013 23:45:32 +0900 (JST)", problems) is None
    )
    assert problems == ["Date header time zone out of range"]


def test_real_zones_are_kept() -> None:
    """+14:00 (Kiribati) and -12:00 are real and kept."""
    for value, hours in (
        ("Tue, 05 Mar 2024 10:00:00 +1400", 14),
        ("Tue, 05 Mar 2024 10:00:00 -1200", -12),
    ):
        problems: list[str] = []
        parsed = parse_date(value, problems)
        assert parsed is not None and problems == []
        offset = parsed.utcoffset()
        assert offset is not None and offset.total_seconds() == hours * 3600
    assert parse_date("Tue, 05 Mar 2024 10:00:00", []) == datetime(
        2024, 3, 5, 10, tzinfo=UTC
    )
