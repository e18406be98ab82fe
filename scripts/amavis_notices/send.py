"""Give amavisd (127.0.0.1:10024) one ordinary business message per case.

Neutral names as in scripts/holdout_mta/: nothing in an address, subject or body
names the content check a case provokes; only the attachment or header does.
"""

from __future__ import annotations

import smtplib
import sys
import time
from email.message import EmailMessage

SENDER = "kdoyle@hartwell-trading.test"
EICAR = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def base(to: list[str], subject: str, n: int) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Kieran Doyle <{SENDER}>"
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = "Mon, 07 Dec 2026 06:00:00 +0000"
    msg["Message-ID"] = f"<case{n}.20261207@hartwell-trading.test>"
    msg.set_content("Hello,\n\nplease find the documents attached.\n\nKieran\n")
    return msg


def cases() -> list[tuple[str, list[str], bytes]]:
    out: list[tuple[str, list[str], bytes]] = []
    one = ["m.okafor@northfield-supply.test"]
    two = ["lena.brandt@kestrel-media.test", "p.iversen@halden-works.test"]
    m = base(one, "Purchase order 4471 for pallets", 1)
    m.add_attachment(
        b"MZ\x90\x00" + b"\x00" * 60,
        maintype="application",
        subtype="octet-stream",
        filename="order-4471.exe",
    )
    out.append(("banned", one, m.as_bytes()))
    m = base(two, "Revised delivery schedule", 2)
    m.add_attachment(
        b"@echo off\r\n",
        maintype="application",
        subtype="octet-stream",
        filename="schedule.bat",
    )
    out.append(("banned-2rcpt", two, m.as_bytes()))
    m = base(one, "Invoice 2291 for November", 3)
    m.add_attachment(
        EICAR.encode(),
        maintype="application",
        subtype="octet-stream",
        filename="invoice-2291.dat",
    )
    out.append(("virus", one, m.as_bytes()))
    m = base(two, "Meeting notes", 4)
    m.add_attachment(
        EICAR.encode(),
        maintype="application",
        subtype="octet-stream",
        filename="notes.dat",
    )
    out.append(("virus-2rcpt", two, m.as_bytes()))
    # an unencoded 8-bit character in the Subject field
    raw = base(one, "Quote for Zurich office", 5).as_bytes()
    raw = raw.replace(
        b"Subject: Quote for Zurich office", b"Subject: Quote for Z\xfcrich office"
    )
    out.append(("bad-header-8bit", one, raw))
    # the Subject field twice
    raw = base(["lena.brandt@kestrel-media.test"], "Catalogue request", 6).as_bytes()
    raw = raw.replace(
        b"Subject: Catalogue request\n",
        b"Subject: Catalogue request\nSubject: Catalogue request (2)\n",
    )
    out.append(("bad-header-duplicate", ["lena.brandt@kestrel-media.test"], raw))
    return out


def main() -> None:
    only = set(sys.argv[1:])
    for name, rcpts, raw in cases():
        if only and name not in only:
            continue
        with smtplib.SMTP("127.0.0.1", 10024, timeout=120) as s:
            s.ehlo("mail.hartwell-trading.test")
            try:
                s.sendmail(SENDER, rcpts, raw)
                print(name, "accepted")
            except smtplib.SMTPException as e:
                print(name, "refused:", e)
        time.sleep(2)


if __name__ == "__main__":
    main()
