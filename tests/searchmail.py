"""Messages whose words are outside their text body (tests of mail/searchtext.py and
of the search documents built from it): written here, known answers."""

from __future__ import annotations

CRLF = "\r\n"


def _join(lines: list[str]) -> bytes:
    return CRLF.join(lines).encode() + b"\r\n"


def alternative(name: str, *, text: str, html: str) -> bytes:
    """A text and an HTML alternative."""
    return _join(
        [
            "From: Sally Rep <sally@acme.test>",
            "To: lead@example.test",
            "Subject: our offer",
            "Date: 01 Oct 2026 10:00:00 +0000",
            f"Message-ID: <{name}@test>",
            "MIME-Version: 1.0",
            'Content-Type: multipart/alternative; boundary="alt"',
            "",
            "--alt",
            "Content-Type: text/plain; charset=utf-8",
            "",
            text,
            "--alt",
            "Content-Type: text/html; charset=utf-8",
            "",
            html,
            "--alt--",
        ]
    )


def plain(name: str, *, body: str, date: str = "01 Oct 2026 10:00:00 +0000") -> bytes:
    """A text message from sally@acme.test."""
    return _join(
        [
            "From: Sally Rep <sally@acme.test>",
            "To: Lead Person <lead@example.test>",
            "Subject: a note",
            f"Date: {date}",
            f"Message-ID: <{name}@test>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "",
            body,
        ]
    )


def bounce(name: str, *, returned: bytes | None, headers: str | None) -> bytes:
    """A DSN for lead@example.test returning a message (message/rfc822) or its
    headers (text/rfc822-headers); its own text says nothing of the original."""
    lines = [
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.test>",
        "To: sally@acme.test",
        "Subject: Undelivered Mail Returned to Sender",
        "Date: 02 Oct 2026 10:00:00 +0000",
        f"Message-ID: <{name}@mx.example.test>",
        "MIME-Version: 1.0",
        "Content-Type: multipart/report; report-type=delivery-status;",
        ' boundary="rep"',
        "",
        "--rep",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        "Your message could not be delivered to one or more recipients.",
        "",
        "--rep",
        "Content-Type: message/delivery-status",
        "",
        "Reporting-MTA: dns; mx.example.test",
        "",
        "Final-Recipient: rfc822; lead@example.test",
        "Action: failed",
        "Status: 5.1.1",
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown",
        "",
    ]
    if returned is not None:
        lines += ["--rep", "Content-Type: message/rfc822", ""]
        lines += returned.decode().rstrip("\r\n").split(CRLF)
    if headers is not None:
        lines += ["--rep", "Content-Type: text/rfc822-headers", "", headers, ""]
    lines.append("--rep--")
    return _join(lines)


CALENDAR = CRLF.join(
    [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "METHOD:REQUEST",
        "BEGIN:VEVENT",
        "SUMMARY:Quokka planning",
        "DESCRIPTION:Agenda: the pelican\\, the walrus\\nand more",
        "LOCATION:Room Ocelot",
        'ORGANIZER;CN="Sally Rep":mailto:sally@acme.test',
        "ATTENDEE;ROLE=REQ-PARTICIPANT;CN=Ingrid Vasquez:mailto:ingrid.vasquez@pen",
        " guinfoods.test",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
)


def invitation(name: str) -> bytes:
    """A text part and a calendar invitation."""
    return _join(
        [
            "From: Sally Rep <sally@acme.test>",
            "To: lead@example.test",
            "Subject: an invitation",
            "Date: 01 Oct 2026 10:00:00 +0000",
            f"Message-ID: <{name}@test>",
            "MIME-Version: 1.0",
            'Content-Type: multipart/mixed; boundary="mix"',
            "",
            "--mix",
            "Content-Type: text/plain; charset=utf-8",
            "",
            "You are invited.",
            "--mix",
            "Content-Type: text/calendar; charset=utf-8; method=REQUEST",
            "",
            CALENDAR,
            "--mix--",
        ]
    )
