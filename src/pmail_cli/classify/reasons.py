"""Map delivery status codes and diagnostic text to the fixed `reason` vocabulary.

The text tables are checked before the code tables because MTAs put a generic
code (5.0.0, 5.7.1, 550) in front of a specific explanation; a specific code
such as 5.1.1 is used only when the text says nothing we recognise.
"""

from __future__ import annotations

import re

from pmail_cli.classify.phrases import DEFAULT_DETAIL, STATUS_TABLE, TEXT_TABLE

REASON_TEXT_LIMIT = 3000  # characters of a diagnostic worth reading for a reason

# Status codes (RFC 3463 class.subject.detail) found anywhere in text. The
# look-arounds keep us out of IP addresses, versions and dates.
STATUS_RE = re.compile(r"(?<![\d.])([245])\.([0-7])\.(\d{1,3})(?![\d.])")

# Reply codes that an SMTP server really sends; anything else is a number.
_SMTP_CODES = frozenset(
    {211, 214, 220, 221, 250, 251, 252}
    | {421, 422, 431, 432, 441, 442, 446, 447, 449, 450, 451, 452, 453, 454, 455}
    | {458, 459, 471}
    | {500, 501, 502, 503, 504, 511, 512, 513, 521, 523, 530, 531, 534, 535}
    | {538, 541, 550, 551, 552, 553, 554, 555, 556, 557}
)
_PAIR_RE = re.compile(
    r"(?<![\d.])([245]\d\d)[ \t]*-?[ \t]*['\"(#]?([245])\.([0-7])\.(\d{1,3})(?![\d.])"
)
_REPLY_RE = re.compile(r"(?<![\w.#/:=-])([245]\d\d)(?:[ \t-]|$)", re.MULTILINE)

# (phrase, must start at a word boundary) per table, for plain substring
# search: str.find is an order of magnitude faster than a big alternation.
_TEXT_PHRASES: tuple[tuple[str, tuple[tuple[str, bool], ...]], ...] = tuple(
    (reason, tuple((p, p[0].isalnum()) for p in phrases.split("|")))
    for reason, phrases in TEXT_TABLE
)


def paired_status(text: str) -> str | None:
    """Return the first status quoted right after a reply code of its class.

    "550 5.1.1", "550-5.7.1" and "421 4.4.2" are what the remote server
    said; a status without such a reply code may be the reporter's guess.
    """
    for m in _PAIR_RE.finditer(text):
        reply, klass = m.group(1), m.group(2)
        if reply[0] == klass and klass != "2":
            return ".".join(m.group(2, 3, 4))
    return None


_EXACT_CODES = (".1.1", ".1.2", ".1.6", ".2.2", ".2.3")
_OVERRULE_EXACT = frozenset(
    {"mailboxfull", "suspend", "blocked", "speeding", "filtered", "mailererror"}
)
# "550-5.7.1 " continuation prefixes split the phrases of multi-line replies.
_CONTINUATION_RE = re.compile(r"\b[245]\d\d[ -][245]\.\d{1,3}\.\d{1,3}\b")
_STAGE_RE = re.compile(
    r"(?:after|in reply to|response to)\s+(?:end of\s+|the\s+)?"
    r"(mail from|rcpt to|data|initial connection|greeting|connect)\b"
    r"|>>>\s*(mail from|rcpt to|data)\b"
    r"|(refused to talk to me)",
    re.IGNORECASE,
)
# What a rejection at each stage says, when the wording itself is unclear.
_STAGE_OVERRIDES: dict[str, tuple[frozenset[str], str]] = {
    # the address was accepted at RCPT, so the content was refused
    "data": (frozenset({"userunknown"}), "filtered"),
    # an answer to MAIL FROM is about the sender
    "mail": (frozenset({"userunknown", "hostunknown", "undefined"}), "rejected"),
    # refused before any address was seen: the sending host is blocked
    "connect": (
        frozenset({"rejected", "undefined", "securityerror", "userunknown"}),
        "blocked",
    ),
}
# Where the remote server's own words start: "said: 550 ...", "550 5.1.1 ...".
_REMOTE_RE = re.compile(r"(?<![\d.])[245]\d\d[ -]+(?:['\"]?[245]\.\d{1,3}\.\d{1,3})?")
_CONNECT_RE = re.compile(
    r"timed out|time-out|timeout|requests to connect", re.IGNORECASE
)


def find_status(text: str) -> str | None:
    """Return the most telling failure status (4.x.x/5.x.x) in `text`, or None."""
    paired = paired_status(text)
    if paired is not None:
        return paired
    best: str | None = None
    for m in STATUS_RE.finditer(text):
        if m.group(1) == "2":
            continue  # a success line of a session transcript
        code = ".".join(m.groups())
        if best is None or (best.endswith(".0.0") and not code.endswith(".0.0")):
            best = code
        if not best.endswith(".0.0"):
            return best
    return best


def find_reply_code(text: str) -> int | None:
    """Return the first plausible SMTP reply code in `text`, or None."""
    for m in _REPLY_RE.finditer(text):
        code = int(m.group(1))
        if code in _SMTP_CODES:
            return code
    return None


def reason_from_text(text: str) -> str | None:
    """Return the reason that `text` (any case) states, or None if it says none."""
    low = " ".join(_CONTINUATION_RE.sub(" ", text[:REASON_TEXT_LIMIT].lower()).split())
    for reason, phrases in _TEXT_PHRASES:
        for phrase, bounded in phrases:
            at = low.find(phrase)
            while at >= 0:
                if not bounded or at == 0 or not low[at - 1].isalnum():
                    return reason
                at = low.find(phrase, at + 1)
    return None


def reason_from_status(status: str | None) -> str | None:
    """Return the reason a specific X.Y.Z status implies, or None if generic."""
    if not status:
        return None
    if status[0] == "2":
        return "delivered"
    _, _, subject_detail = status.partition(".")
    return STATUS_TABLE.get(subject_detail)


def smtp_stage(text: str) -> str | None:
    """Return the SMTP stage a rejection answered: connect, mail, rcpt or data."""
    found = [m for m in _STAGE_RE.finditer(text)]
    if not found:
        return None
    m = found[-1] if found[-1].group(2) else found[0]  # a transcript's last step
    word = (m.group(1) or m.group(2) or m.group(3) or "").lower()
    if word.startswith("mail"):
        return "mail"
    if word.startswith("rcpt"):
        return "rcpt"
    return "data" if word == "data" else "connect"


def _refine(
    reason: str, *, status: str | None, text: str, final: bool, said: bool
) -> str:
    """Correct a reason by what the failure's circumstances show.

    `said` tells whether the text itself stated the reason.
    """
    temporary = status is not None and status[:1] == "4"
    if reason == "hostunknown" and temporary:
        return "networkerror"  # a DNS failure that may clear up
    if reason == "networkerror" and final and _CONNECT_RE.search(text):
        return "expired"  # retried until the queue lifetime ran out
    if not said and (not final or (temporary and reason == "networkerror")):
        return "expired"  # a temporary failure that went on too long
    stage = smtp_stage(text)
    if stage in _STAGE_OVERRIDES:
        replaced, replacement = _STAGE_OVERRIDES[stage]
        if reason in replaced:
            return replacement
    if reason == "undefined" and not final:
        return "expired"
    return reason


def decide_reason(
    *, status: str | None, text: str, final: bool = True, context: str = ""
) -> str:
    """Return a reason from the vocabulary; "undefined" when nothing tells.

    `final` is False for delay warnings: delivery is still being retried.
    `context` (e.g. the human-readable notice) is read only for the SMTP stage.
    """
    if status and status[0] == "2":
        return "delivered"
    remote = _REMOTE_RE.search(text)
    # The remote server's words beat the reporter's framing around them.
    by_text = (reason_from_text(text[remote.end() :]) if remote else None) or (
        reason_from_text(text)
    )
    said = by_text is not None
    if status and status.endswith(_EXACT_CODES) and by_text not in _OVERRULE_EXACT:
        # These codes name the cause exactly; only a few texts overrule them.
        by_text = reason_from_status(status)
    reason = by_text or reason_from_status(status) or "undefined"
    return _refine(
        reason, status=status, text=f"{text}\n{context}", final=final, said=said
    )


# Conditions that usually clear up by themselves: without a code saying
# otherwise, a notice about them reports a temporary (4.x.x) failure.
_TRANSIENT = frozenset(
    {
        "mailboxfull",
        "expired",
        "networkerror",
        "toomanyconn",
        "systemfull",
        "systemerror",
        "speeding",
        "ratelimited",
    }
)


def default_status(
    reason: str, *, permanent: bool, reply_code: int | None = None
) -> str:
    """Return the conventional status for `reason` when a notice gives none."""
    detail = DEFAULT_DETAIL.get(reason, "0.0")
    if reply_code is not None:
        permanent = reply_code >= 500
    elif reason in _TRANSIENT:
        permanent = False
    return f"{'5' if permanent else '4'}.{detail}"
