"""Copy the notices in the sender's Maildir to OUT/<case>[-delay|-expired].eml, byte-exact.

Run: python3 collect.py OUTDIR MAILDIR/new
The case is found from the recipient addresses the notice names (cases.case_of); a
notice whose subject or DSN says delay/warning is named -delay, a later one -expired
(OpenSMTPD's expiry report is a delay report too). Later repeats are kept as -2, -3.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

from cases import CASES, case_of

out, maildir = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
addresses = sorted(
    {a for _n, rcpts, _s, _b in CASES for a in rcpts}, key=len, reverse=True
)
for f in sorted(maildir.iterdir(), key=lambda p: p.stat().st_mtime):
    data = f.read_bytes()
    text = data.decode("utf-8", "replace").lower()
    case = next((case_of(a) for a in addresses if a in text), None) or "unmatched"
    m = re.search(r"^subject: (.*)$", text, re.M)
    subj = m.group(1) if m else ""
    delayed = (
        re.search(r"delay|warning|still being|not yet|temporar", subj)
        or "action: delayed" in text
    )
    expired = "envelope expired" in text or "expired" in subj
    suffix = "-expired" if delayed and expired else "-delay" if delayed else ""
    name = f"{case}{suffix}.eml"
    i = 2
    while (out / name).exists():
        name = f"{case}{suffix}-{i}.eml"
        i += 1
    shutil.copyfile(f, out / name)
    print(name, "<-", f.name, "|", subj)
