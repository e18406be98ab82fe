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
) -> bytes:
    """A plain text message; n makes it unique."""
    mid = message_id if message_id is not None else f"<msg-{n}@example.org>"
    lines = [
        f"From: Ann Example <{sender}>",
        f"To: {to}",
        f"Subject: {subject or f'hello {n}'}",
        "Date: Tue, 05 Mar 2024 10:00:00 +0000",
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
            f'Content-Type: application/pdf; name="{filename}"',
            f'Content-Disposition: attachment; filename="{filename}"',
            "Content-Transfer-Encoding: base64",
            "",
        ]
    )
    return head + eol + body + eol + b"--XYZ--" + eol
