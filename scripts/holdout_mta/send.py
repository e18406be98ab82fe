"""Submit one message per case through the local MTA's sendmail command.

Run: python3 send.py [sendmail command ...]   (default /usr/sbin/sendmail)
Environment SKIP=case1,case2 leaves cases out (OpenSMTPD refuses an unknown local user);
ONLY=case1,... sends only those.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from email.utils import formatdate, make_msgid

from cases import CASES, FILLER, HOSTNAME, SENDER, SIZE_CASE

sendmail = sys.argv[1:] or ["/usr/sbin/sendmail"]
skip = {s for s in os.environ.get("SKIP", "").split(",") if s}
only = {s for s in os.environ.get("ONLY", "").split(",") if s}
for name, rcpts, subject, body in CASES:
    if name in skip or (only and name not in only):
        continue
    text = body + "\nBest regards,\nKieran Doyle\nHartwell Trading\n"
    if name == SIZE_CASE:
        text = body + "\n" + FILLER + "\nBest regards,\nKieran Doyle\n"
    msg = (
        f"From: Kieran Doyle <{SENDER}>\nTo: {', '.join(rcpts)}\nSubject: {subject}\n"
        f"Date: {formatdate(localtime=False)}\nMessage-ID: {make_msgid(domain=HOSTNAME)}\n"
        f"MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n{text}"
    )
    r = subprocess.run(
        [*sendmail, "-f", SENDER, *rcpts], input=msg.encode(), capture_output=True
    )
    print(
        name, r.returncode, r.stdout.decode()[:200], r.stderr.decode()[:200], flush=True
    )
    time.sleep(0.2)
