"""Split the mbox dma delivered to into one file per message in a Maildir's new/.

Run: python3 split_mbox.py MBOX MAILDIR/new
dma delivers local mail to /var/mail/<user> only.  Each message there starts with a
"From " separator line and ends with one empty line; both are removed, nothing else is
changed (a notice whose own lines begin with "From " would show dma's ">From " quoting;
split_mbox.py reports any such line so that it can be checked by reading the file).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

mbox, new = Path(sys.argv[1]), Path(sys.argv[2])
new.mkdir(parents=True, exist_ok=True)
data = mbox.read_bytes()
starts = [m.start() for m in re.finditer(rb"^From ", data, re.M)]
for i, start in enumerate(starts):
    end = starts[i + 1] if i + 1 < len(starts) else len(data)
    chunk = data[start:end]
    body = chunk.split(b"\n", 1)[1]
    if body.endswith(b"\n\n"):
        body = body[:-1]
    if re.search(rb"^>+From ", body, re.M):
        print(f"message {i + 1}: has a quoted >From line", file=sys.stderr)
    (new / f"{1_000_000 + i}.dma").write_bytes(body)
    print(f"message {i + 1}: {len(body)} bytes")
