"""Phrase and code tables behind the `reason` of a failed delivery.

The phrases live in `phrases.txt` beside this module, one table a reviewer can
read (its header says how it is matched); the status-code tables are below.
"""

from __future__ import annotations

from pathlib import Path

PHRASE_FILE = Path(__file__).with_name("phrases.txt")


PhraseGroup = tuple[str, str | None, tuple[str, ...]]  # reason, product, phrases


def load_phrase_groups(text: str) -> tuple[PhraseGroup, ...]:
    """Return (reason, product, phrases) groups in file order from phrases.txt.

    "[reason]" starts a general group, "[reason @ product]" a group that is
    read only in the notices of that product (products.py names them).
    """
    groups: list[tuple[str, str | None, list[str]]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            reason, _, product = line[1:-1].partition("@")
            groups.append((reason.strip(), product.strip() or None, []))
            continue
        if not groups:
            raise ValueError(f"phrases.txt line {number}: phrase before any [reason]")
        groups[-1][2].append(" ".join(line.lower().split()))
    return tuple((r, p, tuple(phrases)) for r, p, phrases in groups if phrases)


TEXT_TABLE: tuple[PhraseGroup, ...] = load_phrase_groups(
    PHRASE_FILE.read_text(encoding="utf-8")
)

# Status codes (subject.detail) precise enough to decide when the text is silent.
STATUS_TABLE: dict[str, str] = {
    "1.1": "userunknown",
    "1.2": "hostunknown",
    "1.3": "syntaxerror",
    "1.4": "userunknown",
    "1.6": "hasmoved",
    "1.7": "rejected",
    "1.8": "rejected",
    "1.10": "notaccept",
    "2.1": "suspend",
    "2.2": "mailboxfull",
    "2.3": "exceedlimit",
    "2.4": "systemerror",
    "3.0": "systemerror",
    "3.1": "systemfull",
    "3.2": "systemerror",
    "3.3": "systemerror",
    "3.4": "mesgtoobig",
    "3.5": "systemerror",
    "4.0": "networkerror",
    "4.1": "networkerror",
    "4.2": "networkerror",
    "4.3": "systemerror",
    "4.4": "hostunknown",
    "4.5": "toomanyconn",
    "4.6": "networkerror",
    "4.7": "expired",
    "5.0": "syntaxerror",
    "5.1": "syntaxerror",
    "5.2": "syntaxerror",
    "5.3": "exceedlimit",
    "5.4": "syntaxerror",
    "5.5": "syntaxerror",
    "6.0": "contenterror",
    "6.1": "contenterror",
    "6.2": "contenterror",
    "6.3": "contenterror",
    "6.4": "contenterror",
    "6.5": "contenterror",
    "7.0": "securityerror",
    "7.1": "rejected",
    "7.2": "securityerror",
    "7.3": "securityerror",
    "7.4": "securityerror",
    "7.5": "securityerror",
    "7.6": "securityerror",
    "7.7": "securityerror",
    "7.8": "securityerror",
    "7.9": "securityerror",
    "7.10": "securityerror",
    "7.11": "securityerror",
    "7.13": "suspend",
    "7.23": "authfailure",
    "7.25": "requireptr",
    "7.26": "authfailure",
    "7.27": "authfailure",
    "7.509": "authfailure",
    "7.510": "authfailure",
    "7.606": "blocked",
}

# Typical status (subject.detail) for a reason when a notice gives no code.
DEFAULT_DETAIL: dict[str, str] = {
    "userunknown": "1.1",
    "hostunknown": "1.2",
    "hasmoved": "1.6",
    "rejected": "1.8",
    "suspend": "2.1",
    "mailboxfull": "2.2",
    "exceedlimit": "2.3",
    "mesgtoobig": "3.4",
    "systemfull": "3.1",
    "networkerror": "4.1",
    "expired": "4.7",
    "toomanyconn": "4.5",
    "syntaxerror": "5.2",
    "spamdetected": "7.1",
    "blocked": "7.1",
    "policyviolation": "7.1",
    "securityerror": "7.1",
    "norelaying": "7.1",
    "authfailure": "7.1",
    "requireptr": "7.1",
    "virusdetected": "7.1",
}
