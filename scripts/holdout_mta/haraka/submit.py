"""A sendmail stand-in for send.py: submits its standard input to Haraka over SMTP.

Run by send.py as `python3 haraka/submit.py -f SENDER RCPT...`.
"""

from __future__ import annotations

import smtplib
import sys

args = sys.argv[1:]
sender = args[args.index("-f") + 1]
rcpts = [a for i, a in enumerate(args) if a != "-f" and (i == 0 or args[i - 1] != "-f")]
message = sys.stdin.buffer.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
with smtplib.SMTP("127.0.0.1", 2587, timeout=30) as smtp:
    refused = smtp.sendmail(sender, rcpts, message)
print(refused or "queued")
