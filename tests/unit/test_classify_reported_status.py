"""Known answers for `reported_status`: the DSN's own `Status:` field as written,
kept beside `status` (the remote server's code when the notice quotes one).

Every message here was written for this file (docs/classification.md, "The
reporter's status"); none comes from tests/data/holdout-dev/.
"""

from __future__ import annotations

from pmail_cli.classify import classify_bytes
from pmail_cli.mail.prepare import fact_rows
from pmail_cli.rows import FactRow
from pmail_cli.services import classify as classify_service
from pmail_cli.services.facts import reported_statuses


def _dsn(*blocks: str) -> bytes:
    """A multipart/report DSN from a generic MTA with these recipient blocks."""
    report = "\r\n\r\n".join(blocks)
    return (
        "From: Mail Delivery System <MAILER-DAEMON@relay.hartwell-trading.test>\r\n"
        "To: kdoyle@hartwell-trading.test\r\n"
        "Subject: Mail delivery failed: returning message to sender\r\n"
        "Message-ID: <notice-1@relay.hartwell-trading.test>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n'
        "\r\n"
        "--B\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n"
        "This message was created automatically by mail delivery software.\r\n"
        "A message that you sent could not be delivered to one or more of its\r\n"
        "recipients.\r\n"
        "\r\n"
        "--B\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Reporting-MTA: dns; relay.hartwell-trading.test\r\n"
        "\r\n"
        f"{report}\r\n"
        "\r\n"
        "--B--\r\n"
    ).encode()


def _block(rcpt: str, status: str, diagnostic: str) -> str:
    return (
        f"Final-Recipient: rfc822; {rcpt}\r\n"
        "Action: failed\r\n"
        f"Status: {status}\r\n"
        "Remote-MTA: dns; mx1.northfield-supply.test\r\n"
        f"Diagnostic-Code: smtp; {diagnostic}"
    )


def test_a_blanket_dsn_status_is_kept_beside_the_remotes_code() -> None:
    """Status: 5.0.0 with a quoted 550 5.1.1: status 5.1.1, reported 5.0.0."""
    found = classify_bytes(
        _dsn(
            _block(
                "m.okafor@northfield-supply.test",
                "5.0.0",
                "550 5.1.1 <m.okafor@northfield-supply.test>: user unknown",
            )
        )
    )
    assert found.kind == "bounce"
    (fact,) = found.recipients
    assert (fact.status, fact.reported_status) == ("5.1.1", "5.0.0")
    assert (fact.reason, fact.hard) == ("userunknown", True)


def test_a_status_field_with_a_comment_is_kept_as_its_code() -> None:
    """Only the X.Y.Z of the field is kept, not the words around it."""
    found = classify_bytes(
        _dsn(
            _block(
                "lena.brandt@kestrel-media.test",
                "5.0.0 (permanent failure)",
                "552 5.2.2 mailbox full",
            )
        )
    )
    (fact,) = found.recipients
    assert (fact.status, fact.reported_status) == ("5.2.2", "5.0.0")


def test_a_notice_without_a_dsn_reports_no_status_field() -> None:
    """A free-text notice quotes the remote's code; it has no Status field."""
    raw = (
        b"From: MAILER-DAEMON@relay.hartwell-trading.test\r\n"
        b"To: kdoyle@hartwell-trading.test\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\n"
        b"\r\n"
        b"I'm sorry to have to inform you that your message could not\r\n"
        b"be delivered to one or more recipients.\r\n"
        b"\r\n"
        b"<m.okafor@northfield-supply.test>: host mx1.northfield-supply.test said:\r\n"
        b"    550 5.1.1 <m.okafor@northfield-supply.test>: user unknown\r\n"
    )
    found = classify_bytes(raw)
    assert found.kind == "bounce"
    (fact,) = found.recipients
    assert (fact.status, fact.reported_status) == ("5.1.1", None)
    assert fact.to_dict()["reported_status"] is None
    record = {"path": "n.eml", "index": None, **found.to_dict(explain=True)}
    lines = classify_service.explanation(record)
    assert not any(line.strip().startswith("reported:") for line in lines), lines


def test_each_recipient_keeps_its_own_status_field() -> None:
    """A DSN with three recipients, each with a Status of its own."""
    found = classify_bytes(
        _dsn(
            _block(
                "m.okafor@northfield-supply.test",
                "5.0.0",
                "550 5.1.1 user unknown",
            ),
            _block(
                "lena.brandt@kestrel-media.test",
                "5.2.2",
                "552 5.2.2 mailbox full",
            ),
            _block(
                "r.ibarra@copperline-tools.test",
                "4.0.0",
                "451 4.3.0 temporary local problem",
            ),
        )
    )
    got = [(f.recipient, f.status, f.reported_status) for f in found.recipients]
    assert got == [
        ("m.okafor@northfield-supply.test", "5.1.1", "5.0.0"),
        ("lena.brandt@kestrel-media.test", "5.2.2", "5.2.2"),
        ("r.ibarra@copperline-tools.test", "4.3.0", "4.0.0"),
    ]


def test_a_status_field_that_is_no_code_reports_none() -> None:
    """A Status field without a valid X.Y.Z leaves the reported status empty."""
    found = classify_bytes(
        _dsn(
            _block(
                "m.okafor@northfield-supply.test",
                "failed",
                "550 5.1.1 user unknown",
            )
        )
    )
    (fact,) = found.recipients
    assert (fact.status, fact.reported_status) == ("5.1.1", None)


def test_the_fact_rows_and_the_outputs_carry_it() -> None:
    """The stored row, the csv/table row and --explain all show the field."""
    raw = _dsn(
        _block(
            "m.okafor@northfield-supply.test",
            "5.0.0",
            "550 5.1.1 user unknown",
        )
    )
    (row,) = fact_rows("k", classify_bytes(raw))
    assert (row.status, row.reported_status) == ("5.1.1", "5.0.0")
    record = {
        "path": "n.eml",
        "index": None,
        **classify_bytes(raw).to_dict(explain=True),
    }
    flat = classify_service.flat(record, explain=True)
    assert (flat["status"], flat["reported_status"]) == ("5.1.1", "5.0.0")
    lines = classify_service.explanation(record)
    assert any(
        line.strip().startswith("reported:") and "5.0.0" in line for line in lines
    ), lines


def test_the_backfill_fills_only_facts_read_the_same_way() -> None:
    """A stored fact gets the Status field read now only when today's reading has the
    same recipient and status at its position."""

    def read_as(index: int, rcpt: str, status: str, reported: str | None) -> FactRow:
        return FactRow(
            "k",
            index,
            "userunknown",
            True,
            recipient=rcpt,
            status=status,
            reported_status=reported,
        )

    read = [
        read_as(0, "a@x.test", "5.1.1", "5.0.0"),
        read_as(1, "b@x.test", "5.2.2", "5.2.2"),  # stored with another status
        read_as(2, "c@x.test", "5.1.1", None),  # no DSN status
    ]
    stored: list[dict[str, object]] = [
        {"recipient_index": 0, "recipient": "a@x.test", "status": "5.1.1"},
        {"recipient_index": 1, "recipient": "b@x.test", "status": "5.0.0"},
        {"recipient_index": 2, "recipient": "c@x.test", "status": "5.1.1"},
        {"recipient_index": 3, "recipient": "d@x.test", "status": "5.1.1"},
    ]
    assert reported_statuses(stored, read) == {0: "5.0.0"}
