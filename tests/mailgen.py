"""Small, deterministic test messages built in code."""

from __future__ import annotations

import base64
import random


def simple(
    n: int = 1,
    *,
    sender: str = "ann@example.org",
    to: str = "bob@example.com",
    subject: str | None = None,
    body: str | None = None,
    eol: bytes = b"\r\n",
    message_id: str | None = None,
    extra: str = "",
    date: str = "Tue, 05 Mar 2024 10:00:00 +0000",
) -> bytes:
    """A plain text message; n makes it unique."""
    mid = message_id if message_id is not None else f"<msg-{n}@example.org>"
    lines = [
        f"From: Ann Example <{sender}>",
        f"To: {to}",
        f"Subject: {subject or f'hello {n}'}",
        f"Date: {date}",
        *([f"Message-ID: {mid}"] if mid else []),
        *([extra] if extra else []),
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "",
        body or f"Hi Bob,\n\nthis is message number {n}.\n\nAnn",
    ]
    return eol.join(line.replace("\n", eol.decode()).encode() for line in lines) + eol


def pdf_bytes(seed: int, size: int = 20_000) -> bytes:
    """Pseudo-random attachment bytes, the same for the same seed."""
    rng = random.Random(seed)
    return b"%PDF-1.4\n" + bytes(rng.getrandbits(8) for _ in range(size))


def with_attachment(
    n: int,
    attachment: bytes,
    *,
    filename: str = "deck.pdf",
    line_length: int = 76,
    eol: bytes = b"\r\n",
    mime_type: str = "application/pdf",
) -> bytes:
    """A multipart/mixed message carrying one base64 attachment."""
    encoded = base64.b64encode(attachment)
    body = eol.join(
        encoded[i : i + line_length] for i in range(0, len(encoded), line_length)
    )
    head = eol.join(
        s.encode()
        for s in [
            "From: sdr1@acme.test",
            f"To: lead{n}@example.com",
            f"Subject: our deck {n}",
            "Date: Tue, 05 Mar 2024 10:00:00 +0000",
            f"Message-ID: <att-{n}@acme.test>",
            "MIME-Version: 1.0",
            'Content-Type: multipart/mixed; boundary="XYZ"',
            "",
            "--XYZ",
            "Content-Type: text/plain; charset=utf-8",
            "",
            f"Hello lead {n}, please find our deck attached.",
            "--XYZ",
            f'Content-Type: {mime_type}; name="{filename}"',
            f'Content-Disposition: attachment; filename="{filename}"',
            "Content-Transfer-Encoding: base64",
            "",
        ]
    )
    return head + eol + body + eol + b"--XYZ--" + eol


CAMPAIGN = "6f1c2a3e-8d4b-4c55-9a77-1b2c3d4e5f60"
LEAD = "0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d"


def outbound(
    n: int, *, sender: str = "sdr1@acme.test", to: str = "lead@example.com"
) -> bytes:
    """A campaign message from the tenant's SDR, carrying campaign and lead ids."""
    return simple(
        n,
        sender=sender,
        to=to,
        subject=f"Quick question {n}",
        message_id=f"<out-{n}@acme.test>",
        extra=f"X-PM-Campaign-Id: {CAMPAIGN}\nX-PM-Lead-Id: {LEAD}",
    )


def reply(
    n: int, parent_id: str, *, extra: str = "", subject: str = "Re: Quick question"
) -> bytes:
    """A lead's answer to parent_id."""
    return simple(
        n,
        sender="lead@example.com",
        to="sdr1@acme.test",
        subject=subject,
        message_id=f"<reply-{n}@example.com>",
        extra=f"In-Reply-To: {parent_id}\nReferences: {parent_id}"
        + (f"\n{extra}" if extra else ""),
        body="Sounds good, let's talk on Tuesday.\n\n> Would a call make sense?",
    )


def dsn(
    n: int,
    original: bytes,
    *,
    status: str = "5.1.1",
    code: int = 550,
    recipient: str = "lead@example.com",
    text: str = "user unknown",
    date: str = "Tue, 05 Mar 2024 10:05:00 +0000",
    reported: str | None = None,
) -> bytes:
    """An RFC 3464 bounce returning `original`; `reported`: the report's own Status
    field when it is not the status the remote server quoted."""
    lines = [
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>",
        "To: sdr1@acme.test",
        "Subject: Undelivered Mail Returned to Sender",
        f"Date: {date}",
        f"Message-ID: <dsn-{n}@mx.example.com>",
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        'Content-Type: multipart/report; report-type=delivery-status; boundary="DSN"',
        "",
        "--DSN",
        "Content-Type: text/plain",
        "",
        "I'm sorry to have to inform you that your message could not be delivered.",
        "",
        "--DSN",
        "Content-Type: message/delivery-status",
        "",
        "Reporting-MTA: dns; mx.example.com",
        "",
        f"Final-Recipient: rfc822; {recipient}",
        "Action: failed",
        f"Status: {reported or status}",
        "Remote-MTA: dns; mx2.example.com",
        f"Diagnostic-Code: smtp; {code} {status} {text}",
        "",
        "--DSN",
        "Content-Type: message/rfc822",
        "",
    ]
    return "\r\n".join(lines).encode() + b"\r\n" + original + b"\r\n--DSN--\r\n"


def auto_reply(n: int, parent_id: str) -> bytes:
    """An out-of-office answer to parent_id."""
    return simple(
        n,
        sender="lead@example.com",
        to="sdr1@acme.test",
        subject="Automatic reply: Quick question",
        message_id=f"<ooo-{n}@example.com>",
        extra=f"In-Reply-To: {parent_id}\nAuto-Submitted: auto-replied",
        body="I am out of the office until 12 March 2024 with limited access to email.",
    )
