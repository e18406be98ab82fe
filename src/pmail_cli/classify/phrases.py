"""Phrase and code tables behind the `reason` of a failed delivery.

The phrases live in `phrases.txt` beside this module, one table a reviewer can
read (its header says how it is matched); the status-code tables are below.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
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

# Status codes precise enough to decide when the text is silent: a full
# "class.subject.detail" key wins over its "subject.detail" key (4.7.1, a
# temporary refusal of the sending host, is not 5.7.1, a permanent one).
STATUS_TABLE: dict[str, str] = {
    "1.0": "userunknown",
    "1.1": "userunknown",
    "1.2": "hostunknown",
    "1.3": "userunknown",
    # RFC 3463: the address as given matches several mailboxes; it names none
    "1.4": "userunknown",
    # RFC 3463 gives X.1.1, X.1.2, X.1.3 and X.1.6 as permanent only: a transient
    # "other address status" does not say the address is bad, nor anything else
    "4.1.0": "undefined",
    "1.6": "hasmoved",
    "1.7": "rejected",
    "1.8": "rejected",
    "1.9": "systemerror",
    "1.10": "notaccept",
    "2.0": "filtered",
    "2.1": "suspend",
    "2.2": "mailboxfull",
    "2.3": "exceedlimit",
    # RFC 3463: a mailing list that could not be expanded (the list's system)
    "2.4": "systemerror",
    "3.0": "systemerror",
    "3.1": "systemfull",
    "3.2": "notaccept",
    "3.3": "systemerror",
    "3.4": "mesgtoobig",
    "3.5": "systemerror",
    "4.0": "networkerror",
    "4.1": "networkerror",
    "4.4.1": "expired",
    "4.2": "networkerror",
    # RFC 3463: a directory server (DNS) was unavailable
    "4.3": "networkerror",
    "4.4": "hostunknown",
    "4.4.4": "networkerror",
    # RFC 3463: mail system congestion (a busy system, not a full disk)
    "4.5": "systemerror",
    "4.6": "networkerror",
    "4.7": "expired",
    "4.8": "networkerror",
    "5.0": "syntaxerror",
    "5.1": "syntaxerror",
    "5.2": "syntaxerror",
    "5.3": "toomanyconn",
    # RFC 3463: invalid command arguments, wrong protocol version
    "5.4": "syntaxerror",
    "5.5": "syntaxerror",
    "5.6": "syntaxerror",
    "6.0": "contenterror",
    "6.1": "contenterror",
    "6.2": "contenterror",
    "6.3": "contenterror",
    "6.4": "contenterror",
    "6.5": "contenterror",
    "6.6": "contenterror",
    "6.7": "contenterror",
    "6.8": "contenterror",
    "6.9": "contenterror",
    "7.0": "securityerror",
    "7.1": "rejected",
    "4.7.1": "blocked",
    # RFC 3463: the sender may not post to the mailing list (a closed list)
    "7.2": "policyviolation",
    "4.7.2": "blocked",
    "7.3": "securityerror",
    "7.4": "securityerror",
    "7.5": "securityerror",
    "7.6": "securityerror",
    "7.7": "securityerror",
    "7.8": "securityerror",
    "7.9": "securityerror",
    "7.10": "securityerror",
    "7.11": "securityerror",
    "7.12": "securityerror",
    # RFC 5248: the authenticated (sending) user's account is disabled
    "7.13": "securityerror",
    "7.14": "securityerror",
    # RFC 6710: the message's priority is below what the server accepts now
    "7.15": "policyviolation",
    "7.16": "mesgtoobig",
    "7.17": "hasmoved",
    "7.18": "hasmoved",
    "7.19": "securityerror",
    "7.20": "authfailure",
    "7.21": "authfailure",
    "7.22": "authfailure",
    "7.23": "authfailure",
    "7.24": "authfailure",
    # RFC 7372: 4.7.24 replaces SPF's temperror (4.4.3): the lookup failed
    "4.7.24": "networkerror",
    "7.25": "requireptr",
    "7.26": "authfailure",
    # RFC 7505: "Sender address has null MX" (the recipient's is X.1.10)
    "7.27": "rejected",
    "7.28": "spamdetected",
    "7.29": "authfailure",
    "7.30": "failedstarttls",
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


def _codes(numbers: Iterable[int], reason: str) -> dict[str, str]:
    return {str(n): reason for n in numbers}


# Providers that put a code of their own in a rejection; the code says what
# they mean better than the words around it. (provider, lower-case needles
# one of which the text must hold before the pattern is tried, pattern with
# the code in group 1, code -> reason). Codes missing from a table decide
# nothing.
PROVIDER_CODES: tuple[
    tuple[str, tuple[str, ...], re.Pattern[str], dict[str, str]], ...
] = (
    (
        # KDDI's filter answers "550 : User unknown" without the address its
        # directory would name ("550 <a@b>: User unknown").
        "KDDI (au)",
        ("550 :",),
        re.compile(r"(?<![\d.])(550 : user unknown)", re.IGNORECASE),
        {"550 : user unknown": "filtered"},
    ),
    (
        "Orange / La Poste",
        ("lpn", "ofr", "ouk"),
        re.compile(r"\b(?:lpn|lpnaaa|ofr|ouk)\d*_(\d{3})\b", re.IGNORECASE),
        {
            **dict.fromkeys(("101", "102", "103", "510", "999"), "blocked"),
            "104": "toomanyconn",
            **dict.fromkeys(("305", "402"), "securityerror"),
            **dict.fromkeys(("401", "517"), "authfailure"),
            **dict.fromkeys(("403", "405", "415", "421"), "rejected"),
            "416": "userunknown",
            "417": "mailboxfull",
            **dict.fromkeys(("420", "426"), "suspend"),
            "505": "systemerror",
            "506": "spamdetected",
            "514": "mesgtoobig",
            "630": "policyviolation",
        },
    ),
    (
        "i.ua",
        ("i.ua/err/",),
        re.compile(r"\.i\.ua/err/(\d{1,2})/", re.IGNORECASE),
        {
            "1": "norelaying",
            "2": "userunknown",
            "3": "suspend",
            "4": "mailboxfull",
            "5": "toomanyconn",
            "6": "norelaying",
            "7": "blocked",
            "8": "rejected",
            "9": "blocked",
            "10": "filtered",
        },
    ),
    (
        "Spectrum",
        ("aup#",),
        re.compile(r"aup#(?:in|out|i|o)-?(\d{4})\b", re.IGNORECASE),
        {
            "1000": "blocked",
            **_codes(range(1010, 1090, 10), "rejected"),
            "1090": "systemerror",
            **_codes(range(1100, 1160, 10), "requireptr"),
            **_codes(range(1160, 1200, 10), "policyviolation"),
            **_codes(range(1200, 1260, 10), "blocked"),
            "1260": "networkerror",
            **_codes(range(1300, 1350, 10), "toomanyconn"),
            **_codes(range(1350, 1500, 10), "speeding"),
            **_codes((1500, 1520), "rejected"),
            "1530": "mesgtoobig",
            **_codes((1540, 1550, 1580), "speeding"),
            "1560": "policyviolation",
        },
    ),
    (
        # Outlook.com's postmaster codes, e.g. "(SC-001)".
        "Outlook.com",
        ("rp-00", "sc-00", "ou-00", "dy-00"),
        re.compile(r"\b((?:rp|sc|ou|dy)-00\d)\b", re.IGNORECASE),
        {
            **dict.fromkeys(("rp-001", "rp-002", "rp-003"), "badreputation"),
            **dict.fromkeys(("sc-001", "ou-002"), "badreputation"),
            **dict.fromkeys(("sc-003", "sc-004", "dy-001", "ou-001"), "blocked"),
            "sc-002": "policyviolation",
            "dy-002": "virusdetected",
        },
    ),
    (
        # Comcast's postmaster codes: "BL" a blocklist listing of the sending
        # IP, "RL" a rate limit, e.g. "...see ...smtp-error-codes#BL000010".
        "Comcast",
        ("bl0", "rl0"),
        re.compile(r"\b(bl|rl)0\d{5}\b", re.IGNORECASE),
        {"bl": "blocked", "rl": "speeding"},
    ),
    (
        # Sophos Email (Sophos Central help, "SMTP error codes"): XGEMAIL_00nn
        # names the check that refused the message.
        "Sophos Email",
        ("xgemail_",),
        re.compile(r"\bxgemail_(\d{4})\b", re.IGNORECASE),
        {
            # DKIM, SPF, DMARC
            **dict.fromkeys(("0001", "0002", "0003"), "authfailure"),
            # the sending IP on an RBL, the sender domain on a DBL
            **dict.fromkeys(("0004", "0005"), "blocked"),
            "0006": "failedstarttls",  # TLS version against the policy
            "0007": "systemerror",  # the recipient's licence has expired
            "0008": "rejected",  # domain, IP or address in the admin block list
            "0009": "filtered",  # ... in the recipient's own block list
            "0010": "norelaying",  # the recipient's domain is not protected here
            "0011": "userunknown",  # no such address in the protected domain
            "0012": "mesgtoobig",
            "0013": "toomanyconn",  # too many recipients for a large message
            # the recipient's inbound rate limit, one sender or all senders
            **dict.fromkeys(("0014", "0015"), "speeding"),
        },
    ),
    (
        "Facebook",
        ("-p", "-t"),
        re.compile(r"\b((?:rcp|int|msg|pol|dns|con)-[pt]\d)\b", re.IGNORECASE),
        {
            **dict.fromkeys(("rcp-p1", "int-p1", "int-p3", "int-p4"), "userunknown"),
            **dict.fromkeys(("rcp-p2", "rcp-p3"), "filtered"),
            **dict.fromkeys(("msg-p1", "int-p2"), "mesgtoobig"),
            **dict.fromkeys(("msg-p2", "msg-p3", "pol-p6", "pol-p7"), "contenterror"),
            **dict.fromkeys(("pol-p1", "pol-p2", "pol-p5"), "securityerror"),
            **dict.fromkeys(
                ("pol-p3", "pol-p4", "pol-t1", "pol-t2", "pol-t3"), "notaccept"
            ),
            **dict.fromkeys(
                ("dns-p1", "dns-p2", "dns-p3", "dns-t1", "dns-t2"), "rejected"
            ),
            "con-t1": "systemerror",
            "con-t3": "toomanyconn",
            "rcp-t4": "suspend",
        },
    ),
)
