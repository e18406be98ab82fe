"""Draft labels.tsv and MANIFEST.tsv rows for the notices in OUT/ of one MTA.

Run: python3 mklabels.py MTA PACKAGE=VERSION OUT [OVERRIDES.tsv]
(PACKAGE is a Debian package, or npm:NAME for one from the npm registry)
Writes OUT/labels.tsv and OUT/manifest.tsv.  Kind, status and recipients come from
each notice's own DSN fields (without a DSN: the case's addresses its own text names and
the first enhanced code that text quotes, as the labelling rule says); reason and hard/soft from cases.LABELS, unless the
overrides file (file name, reason, hard_soft, deciding words[, status]) says otherwise
after the notice was read (status only where a DSN has no Status field).  Every row is a draft until a person has read the notice it labels.
"""

from __future__ import annotations

import email
import hashlib
import re
import sys
from email import policy
from pathlib import Path

from cases import CASES, LABELS, REPLIES

mta, package, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
overrides: dict[str, list[str]] = {}
if len(sys.argv) > 4:
    for line in Path(sys.argv[4]).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, *rest = line.split("\t")
            overrides[key] = rest
version = package.split("=", 1)[1]
HOW = {
    "sendmail": "delivered by the MTA's local mailer (scripts/holdout_mta's Maildir writer) to a local Maildir",
    "haraka": "sent by the MTA over SMTP to scripts/holdout_mta/haraka/inbox.py (the sending domain's server), which wrote it to a local Maildir undoing only SMTP dot-stuffing",
    "dma": "delivered by the MTA to the local mbox /var/mail/kdoyle, split out by scripts/holdout_mta/split_mbox.py (the From_ line and the separating empty line removed)",
}
labels, manifest = [], []
for f in sorted(out.glob("*.eml")):
    raw = f.read_bytes()
    msg = email.message_from_bytes(raw, policy=policy.compat32)
    case = re.sub(r"(-delay|-expired)?(-\d+)?$", "", f.stem)
    kind = "delay" if re.search(r"-(delay|expired)(-\d+)?$", f.stem) else "bounce"
    blocks = []
    for part in msg.walk():
        if part.get_content_type() == "message/delivery-status":
            for sub in part.get_payload()[1:]:
                rcpt = re.sub(
                    r"^rfc822;\s*",
                    "",
                    (sub.get("Final-Recipient") or "").strip(),
                    flags=re.I,
                )
                status = (sub.get("Status") or "").strip().split()
                blocks.append(
                    (
                        rcpt,
                        (sub.get("Action") or "").strip(),
                        status[0] if status else "",
                    )
                )
    failed = [b for b in blocks if b[1] in ("failed", "delayed")]
    if blocks and not any(b[1] for b in blocks):  # Haraka: recipients without Action
        failed = blocks  # its notice says each named recipient failed for good
    if not blocks:  # a notice without a DSN (dma): the labelling rule's fallbacks
        text = raw.decode("utf-8", "replace")
        own = re.split(
            r"^(?:Message headers follow|Original message follows)",
            text,
            maxsplit=1,
            flags=re.M | re.I,
        )[0]
        body = own.split("\n\n", 1)[-1]
        named = [a for _n, rcpts, _s, _b in CASES for a in rcpts if a in body]
        code = re.search(r"\b[245]\.\d{1,3}\.\d{1,3}\b", body)
        status = code.group(0) if code else ""
        failed = blocks = [(a, "failed", status) for a in named]
    reason, hard_soft, provocation, words = LABELS[case]
    if (
        case == "multi-rcpt" and failed
    ):  # the first failed recipient in report order decides
        first = failed[0][0].lower()
        reason, hard_soft = (
            ("mailboxfull", "soft")
            if first.startswith("c.obi@")
            else ("userunknown", "hard")
        )
        words = f"first failed recipient {first}: " + REPLIES[first][1].split(">: ")[-1]
    status = failed[0][2] if failed else ""
    if f.name in overrides:
        reason, hard_soft, words = overrides[f.name][:3]
        if len(overrides[f.name]) > 3:  # a DSN without Status: the code the text quotes
            status = overrides[f.name][3]
    what = "delay warning" if kind == "delay" else "bounce"
    basis = f"manual: {mta} {version} notice ({what}) for: {provocation}; decided by: {words}"
    rel = f"mta/{mta}/{f.name}"
    labels.append(
        "\t".join(
            [
                rel,
                kind,
                status,
                reason,
                hard_soft,
                str(len(blocks)),
                ",".join(b[0] for b in failed),
                basis,
            ]
        )
    )
    manifest.append(
        "\t".join(
            [
                rel,
                package if package.startswith("npm:") else f"debian:{package}",
                "-",
                f"{provocation} ({kind})",
                "generated here (MTA output, no third-party text)",
                str(len(raw)),
                hashlib.sha256(raw).hexdigest(),
                HOW.get(mta, "delivered by the MTA to a local Maildir"),
            ]
        )
    )
(out / "labels.tsv").write_text("\n".join(labels) + "\n")
(out / "manifest.tsv").write_text("\n".join(manifest) + "\n")
print("\n".join(labels))
