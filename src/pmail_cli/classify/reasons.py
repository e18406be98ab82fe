"""Map delivery status codes and diagnostic text to the fixed `reason` vocabulary.

The text tables are checked before the code tables because MTAs put a generic
code (5.0.0, 5.7.1, 550) in front of a specific explanation; a specific code
such as 5.1.1 is used only when the text says nothing we recognise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import ahocorasick

from pmail_cli.classify.phrases import (
    DEFAULT_DETAIL,
    PROVIDER_CODES,
    STATUS_TABLE,
    TEXT_TABLE,
)

REASON_TEXT_LIMIT = 3000  # characters of a diagnostic worth reading for a reason
STAGE_TEXT_LIMIT = 8000  # characters read for the SMTP step (diagnostic + its notice)

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
    r"(?<![\d.])([245]\d\d)[ \t]*(?:-[ \t]*)?['\"(#]?([245])\.([0-7])\.(\d{1,3})(?![\d.])"
)
_REPLY_RE = re.compile(r"(?<![\w.#/:=-])([245]\d\d)(?:[ \t-]|$)", re.MULTILINE)


def _starts_a_word(phrase: str) -> bool:
    """Return True when a phrase must start at a word boundary (ASCII letter or
    digit first; Japanese and Chinese text has no spaces to bound words)."""
    return phrase[0].isascii() and phrase[0].isalnum()


class _PhraseIndex:
    """Phrase groups in one Aho-Corasick automaton: one pass over a text finds
    every phrase, and the hit of the earliest group wins.

    Scanning ~800 phrases with str.find costs ~180 µs a text; one pass of the
    automaton costs a few µs, so the table can grow without slowing ingest.
    """

    def __init__(self, groups: list[tuple[str, tuple[str, ...]]]) -> None:
        self.reasons = [reason for reason, _ in groups]
        self.automaton = ahocorasick.Automaton()
        for rank, (_, phrases) in enumerate(groups):
            for order, phrase in enumerate(phrases):
                if phrase not in self.automaton:  # the earliest group keeps it
                    entry = (rank, order, phrase, _starts_a_word(phrase))
                    self.automaton.add_word(phrase, entry)
        self.empty = not groups
        if not self.empty:
            self.automaton.make_automaton()

    def first(self, low: str) -> tuple[str, str] | None:
        """Return (reason, phrase) of the earliest group with a phrase in `low`.

        A phrase that starts with an ASCII letter or digit must start a word.
        """
        if self.empty:
            return None
        best: tuple[int, int, str, bool] | None = None
        for end, entry in self.automaton.iter(low):
            start = end - len(entry[2]) + 1
            if entry[3] and start > 0 and low[start - 1].isalnum():
                continue
            if best is None or entry[:2] < best[:2]:
                best = entry
        return (self.reasons[best[0]], best[2]) if best else None


_TEXT_PHRASES = _PhraseIndex(
    [(reason, phrases) for reason, product, phrases in TEXT_TABLE if product is None]
)
_PRODUCT_PHRASES = {
    name: _PhraseIndex(
        [
            (reason, phrases)
            for reason, product, phrases in TEXT_TABLE
            if product == name
        ]
    )
    for name in {product for _, product, _ in TEXT_TABLE if product}
}


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


_EXACT_CODES = (
    ".1.1",
    ".1.2",
    # RFC 3463 "Bad destination mailbox address syntax": the address itself is
    # malformed, so no retry can deliver it (Postfix's "501 5.1.3 Bad recipient
    # address syntax"), whatever "syntax" wording comes with it
    ".1.3",
    ".1.6",
    ".2.2",
    ".2.3",
    # RFC 7372: the authentication check that failed
    ".7.20",
    ".7.21",
    ".7.22",
    ".7.23",
    ".7.24",
    ".7.25",
    ".7.26",
    # RFC 7505: the sender's domain has a null MX (the sender refused, over
    # "null mx" wording that alone reads as the recipient's domain)
    ".7.27",
)
_OVERRULE_EXACT = frozenset(
    {
        "mailboxfull",
        "suspend",
        "blocked",
        "speeding",
        "filtered",
        "mailererror",
        "onhold",
    }
)
# Codes that one large provider uses for something else too: Google answers
# SPF failures with 4.7.27 / 5.7.27 (its "Gmail SMTP errors and codes"), so
# authentication words overrule RFC 7505's null-MX meaning there.
_OVERRULE_EXACT_BY_CODE = {".7.27": frozenset({"authfailure"})}
# "550-5.7.1 " continuation prefixes split the phrases of multi-line replies.
_CONTINUATION_RE = re.compile(r"\b[245]\d\d[ -][245]\.\d{1,3}\.\d{1,3}\b")
_STAGE_RE = re.compile(
    r"(?:after|in reply to|response to|error following)\s+(?:pipelined\s+)?"
    r"(?:end of\s+|the\s+)?"
    r"(mail from|rcpt to|rcpt|data|helo|ehlo|initial connection|greeting|connect)\b"
    r"|(?:>>>|<<<|smtp:)\s*(mail from|rcpt to|rcpt|data)\b"
    r"|\[(mail_from|rcpt_to|data)\]"
    r"|-smtp command[ \t]*\n[ \t]*(mail|rcpt|data)\b"
    r"|(refused to talk to me)",
    re.IGNORECASE,
)
# One of these is in every text _STAGE_RE can match (a cheap test first).
_STAGE_NEEDLES = (
    "after",
    "reply to",
    "response to",
    "following",
    ">>>",
    "<<<",
    "smtp:",
    "_to]",
    "_from]",
    "[data]",
    "smtp command",
    "refused to talk",
)
# qmail's (and its clones') sentences about the step a remote server refused,
# and other reporters' sentences that say the recipient itself was refused (the
# Netscape-style "Mail System Error - Returned Mail" notice: "Each of the following
# recipients was rejected by a remote mail server", then each server's reason).
_QMAIL_STAGES = (
    ("does not like recipient", "rcpt"),
    ("recipients was rejected by a remote mail server", "rcpt"),
    ("failed on data command", "data"),
    ("failed after i sent the message", "data"),
    ("but sender was rejected", "mail"),
    ("but my name was rejected", "helo"),
    ("but greeting failed", "helo"),
)
# What a rejection at each stage says, when the wording itself is unclear.
_STAGE_OVERRIDES: dict[str, tuple[frozenset[str], str]] = {
    # the address was accepted at RCPT, so the content was refused
    "data": (frozenset({"userunknown"}), "filtered"),
    # an answer to MAIL FROM is about the sender
    # (no recipient has been named yet, so no recipient's filter refused it)
    "mail": (
        frozenset({"userunknown", "hostunknown", "undefined", "filtered"}),
        "rejected",
    ),
    # refused before any address was seen: the sending host is blocked (no
    # message yet, so a "policy" refusal is of the host too)
    "connect": (
        frozenset(
            {"rejected", "undefined", "securityerror", "userunknown", "policyviolation"}
        ),
        "blocked",
    ),
    # the server refused the sending host's greeting or name
    "helo": (
        frozenset(
            {
                "rejected",
                "undefined",
                "securityerror",
                "userunknown",
                "hostunknown",
                "syntaxerror",
                "expired",
                "networkerror",
                "policyviolation",
            }
        ),
        "blocked",
    ),
}
# Statuses about what a mailbox accepts rather than whether it exists.
_FILTER_STATUSES = frozenset({"1.4", "2.0", "2.1", "2.4", "3.0"})
# Phrases too vague to name a cause by themselves, read by the step they answered.
_VAGUE_AT_MAIL = frozenset({"access denied"})
# Postfix's restriction replies name the party a check refused:
# "Client host rejected:", "Helo command rejected:", "Sender address rejected:".
_PARTY_RE = re.compile(
    r"\b(client host|helo command|sender address|recipient address) rejected\b",
    re.IGNORECASE,
)
_SENDING_SIDE = {
    "client host": "blocked",
    "helo command": "blocked",
    "sender address": "rejected",
}
# Under "Client host rejected:" (Postfix's client restrictions, answered before
# any message was sent) spam wording is about the sending host's record, not
# this message's content: Rackspace's "Client host rejected: Throttled - Too much
# spam from your mail server".
_HOST_NOT_CONTENT = frozenset({"spamdetected"})
# Reasons that blame the recipient's address or domain.
_ADDRESS_LIKE = frozenset({"userunknown", "hostunknown", "hasmoved", "notaccept"})
_PARTY_WHY = (
    '{reason} wording under "{party} rejected": the check that failed was on the '
    "sending side, not the recipient's address ({replacement})"
)
_AUTH_NOT_CHECKED_WHY = (
    "authentication wording with a temporary network status ({status}): the "
    "SPF / DKIM / DMARC lookup failed and may clear up; nothing failed the check"
)
# Network wording that a server can only mean as a refusal when it is the text
# of its own 5xx reply to a command.
_REFUSAL_WORDS = frozenset({"connection refused"})
_REFUSAL_WORDS_WHY = (
    '"connection refused" as the text of a 5xx answer to {stage}: the server '
    "did answer, so it refused the sender rather than the network failing"
)
_POLICY_EARLY_WHY = (
    "a temporary ({status}) policy refusal answered to {stage}, before any "
    "content was sent: the sending host was deferred"
)
_TRANSIENT_REPLY_RE = re.compile(r"(?:^|\s)4\d\d[ -]")
_DEFERRED_AT_RCPT_WHY = (
    'a bare "try again later" ({status}) answered to RCPT TO, with no cause and no '
    "specific status: the server deferred this sender, recipient and host (greylisting), "
    "it did not fail"
)
_VAGUE_REFUSALS = frozenset({"rejected", "refused", "denied", "not accepted"})
# A reporter's words for the step a refusal answered, which name no cause.
_STEP_FRAMING = frozenset({"refused to talk", "after initial connection"})
# Policy words that say something was not allowed but not what: a specific
# status of another subject than security or policy (X.7) says what ("554
# 5.6.2 Conversion required and prohibited" is the content).
_VAGUE_POLICY = frozenset({"prohibited", "not permitted"})
_VAGUE_WHY = (
    "a refusal that names no party, answered to RCPT TO or DATA or with a mailbox "
    "status (X.2.x): the recipient's side refused it (at DATA, the message: the "
    "sender was already accepted at MAIL FROM)"
)
_FILTER_WHY = (
    "user-unknown wording with {status} and no answer to RCPT: a recipient's "
    "filter refused it"
)
_STAGE_WHY = {
    "data": "{reason} answered to DATA: the address was accepted at RCPT, so a filter refused the content",
    "mail": "{reason} answered to MAIL FROM: the sender was refused",
    "connect": "{reason} at connection time: the sending host was refused before any address",
    "helo": "{reason} answered to HELO/EHLO: the sending host's name was refused",
}
# Where the remote server's own words start: "said: 550 ...", "550 5.1.1 ...".
_PARAGRAPH_END_RE = re.compile(r"\n[ \t]*\n")
# Exim's delay warning names the cause of a delay on a line of its own
# ("Delay reason: <its own words or the remote's reply>"); read first, as a
# remote's reply is, before the warning's framing ("Delivery attempts will
# continue ...").
_CAUSE_LABEL_RE = re.compile(r"delay reason:[ \t]*", re.IGNORECASE)
# Postfix's address verification quotes the failure it found after its verdict
# ("undeliverable address: <why>") under the 5.1.1 it gives every failed probe:
# the quoted failure decides, not the code.
_VERIFY_VERDICT = "undeliverable address:"
_REMOTE_RE = re.compile(r"(?<![\d.])[245]\d\d[ -]+(?:['\"]?[245]\.\d{1,3}\.\d{1,3})?")
# Both are searched in lower-cased text (faster than IGNORECASE).
_REMOTE_HOST_RE = re.compile(
    r"\bhost\s+([a-z0-9][a-z0-9.-]{0,200}\.[a-z]{2,})\.?[ \t]*\["
)
_REMOTE_WORDS_RE = re.compile(
    r"remote (?:host|server|mta|system|mail server|smtp server)\b[^\n]{0,40}?"
    r"(?:said|replied|responded|returned|answered|reported)"
    r"|from remote (?:mail )?server"
    r"|(?:<<<|said:)[ \t]*[245]\d\d"
)
_REMOTE_NEEDLES = ("remote", "<<<", "said:")
# "example.org does not exist": a bare domain name (no local part, no "@")
# is what does not exist.
_DOMAIN_GONE_RE = re.compile(
    r"(?<![\w@.-])((?:[a-z0-9-]{1,63}\.){1,9}[a-z]{2,24})\.?[ \t]+"
    r"(?:does not|doesn't) exist",
    re.IGNORECASE,
)
# RFC 3463: what a status's class and subject say.
_CLASSES = {"4": "transient", "5": "permanent"}
_SUBJECTS = {
    "0": "other or undefined",
    "1": "addressing",
    "2": "mailbox",
    "3": "mail system",
    "4": "network and routing",
    "5": "mail delivery protocol",
    "6": "message content or media",
    "7": "security or policy",
}
_STAGE_NAMES = {
    "connect": "connection",
    "helo": "HELO/EHLO",
    "mail": "MAIL FROM",
    "rcpt": "RCPT TO",
    "data": "DATA",
}
_CONNECT_RE = re.compile(
    r"timed out|time-out|timeout|requests to connect|no answer from host",
    re.IGNORECASE,
)
# Postfix marks a destination dead after failed attempts and writes "delivery
# temporarily suspended: <the last failure>"; in a final notice it gave up.
_SUSPENDED = "delivery temporarily suspended"
# Network failures that retrying cannot outlast: a loop or too many hops.
_LOOP_WORDS = ("loop", "hop")
_LOOP_STATUS = ".4.6"  # RFC 3463: routing loop detected
# Postfix's reject_unknown_recipient_domain refuses a recipient whose domain has
# no MX and no A record with "Recipient address rejected: Domain not found" and
# unknown_address_reject_code, 450 by default: the 4.x.x does not make the domain
# exist. (A DNS lookup that fails, "Host not found, try again", is networkerror.)
_DOMAIN_REFUSED = "domain not found"
# RFC 3463 X.0.0 and X.3.0: "other or undefined" status, naming no cause.
_UNDEFINED_DETAILS = frozenset({"0.0", "3.0"})
# Words that say only that a failure was temporary, naming no cause.
_ONLY_TEMPORARY = frozenset({"temporary failure", "try again later"})
_ONHOLD_WHY = (
    "a final failure reported with only a transient, undefined status ({status}) "
    "and no stated cause: the failure cannot be decided (onhold)"
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


def phrase_match(
    text: str, product: str | None = None
) -> tuple[str, str, str | None] | None:
    """Return (reason, phrase, product) for the first phrases.txt group hit.

    A product's own groups ("[reason @ product]") are tried before the
    general ones; the third item names the product when its group matched.
    """
    low = " ".join(_CONTINUATION_RE.sub(" ", text[:REASON_TEXT_LIMIT].lower()).split())
    own = _PRODUCT_PHRASES.get(product) if product else None
    hit = own.first(low) if own else None
    if hit is not None:
        return hit[0], hit[1], product
    hit = _TEXT_PHRASES.first(low)
    return (hit[0], hit[1], None) if hit else None


def provider_code(text: str) -> tuple[str, str, str] | None:
    """Return (reason, provider, code) when the text carries a known provider code."""
    head = text[:REASON_TEXT_LIMIT]
    low = head.lower()
    for provider, needles, pattern, codes in PROVIDER_CODES:
        if not any(n in low for n in needles):
            continue
        for m in pattern.finditer(head):
            reason = codes.get(m.group(1).lower())
            if reason is not None:
                return reason, provider, m.group(0)
    return None


def reason_from_text(text: str, product: str | None = None) -> str | None:
    """Return the reason that `text` (any case) states, or None if it says none;
    a recognised `product`'s own phrases count too."""
    found = phrase_match(text, product)
    return found[0] if found else None


def reason_from_status(status: str | None) -> str | None:
    """Return the reason a specific X.Y.Z status implies, or None if generic."""
    if not status:
        return None
    if status[0] == "2":
        return "delivered"
    _, _, subject_detail = status.partition(".")
    found = STATUS_TABLE.get(status) or STATUS_TABLE.get(subject_detail)
    if found is None:
        # A detail the table does not know (a later registration, a deprecated
        # one such as X.6.10, a provider's private X.7.NNN) is read as its
        # subject's "other or undefined" code, as RFC 3463 asks of a client that
        # does not know a detail; not for X.0 and X.1, whose "other" codes name
        # no cause or a recipient's address.
        subject = subject_detail.partition(".")[0]
        if subject not in ("0", "1"):
            found = STATUS_TABLE.get(f"{subject}.0")
    return found


def stage_of(text: str, low: str | None = None) -> tuple[str, str] | None:
    """Return (stage, the words that show it): connect, helo, mail, rcpt or data.

    `low` is text[:STAGE_TEXT_LIMIT].lower() when the caller has it.
    """
    text = text[:STAGE_TEXT_LIMIT]
    low = text.lower() if low is None else low
    found = (
        list(_STAGE_RE.finditer(text)) if any(n in low for n in _STAGE_NEEDLES) else []
    )
    if not found:
        for phrase, stage in _QMAIL_STAGES:
            if phrase in low:
                return stage, phrase
        return None
    m = found[-1] if found[-1].group(2) else found[0]  # a transcript's last step
    quote = " ".join(m.group(0).split())
    word = next((g for g in m.groups() if g), "").lower()
    if word.startswith("mail"):
        return "mail", quote
    if word.startswith("rcpt"):
        return "rcpt", quote
    if word in ("helo", "ehlo"):
        return "helo", quote
    return ("data" if word == "data" else "connect"), quote


def smtp_stage(text: str) -> str | None:
    """Return the SMTP stage a rejection answered: connect, helo, mail, rcpt or data."""
    found = stage_of(text)
    return found[0] if found else None


def remote_server(text: str, low: str | None = None) -> str | None:
    """Return the remote server a notice says answered, or None when it names none.

    The host of "host mx.example.net[192.0.2.1] said:" (Postfix) or "host
    mx.example.net [192.0.2.1]: 550 ..." (Exim); otherwise a remote reply
    the wording reports ("remote server replied", "<<< 550", "said: 550").
    A reporting host's own "This is the mail system at host ..." is not one.
    `low` is text[:STAGE_TEXT_LIMIT].lower() when the caller has it.
    """
    text = text[:STAGE_TEXT_LIMIT]
    low = text.lower() if low is None else low
    host = remote_host(text, low)
    if host is not None:
        return host
    if not any(n in low for n in _REMOTE_NEEDLES):
        return None
    m = _REMOTE_WORDS_RE.search(low)
    if m is None:
        return None
    said = text[m.start() : m.end()] if len(low) == len(text) else m.group(0)
    return f'"{" ".join(said.split())}"'


def remote_host(text: str, low: str | None = None) -> str | None:
    """Return the remote host a notice names ("host mx.example.org [ip]"), or None."""
    low = text[:STAGE_TEXT_LIMIT].lower() if low is None else low
    if "host" not in low or "[" not in low:
        return None
    m = _REMOTE_HOST_RE.search(low)
    return m.group(1).rstrip(".") if m else None


@dataclass(frozen=True, slots=True)
class Verdict:
    """A reason and, in words, the rule that gave it (for `classify --explain`)."""

    reason: str
    rule: str
    stated: str | None = None  # what the words said, when a rule overrode them
    # each piece of evidence read (step, status, remote server, phrase) and
    # what it contributed, in words
    evidence: tuple[str, ...] = ()

    @property
    def as_stated(self) -> str:
        """The reason the message itself stated (for a conventional status)."""
        return self.stated or self.reason


def _refine(
    reason: str,
    *,
    status: str | None,
    text: str,
    final: bool,
    said: bool,
    own: bool,
    stage: str | None,
    remote: str | None,
    party: str | None = None,
    phrase: str | None = None,
) -> tuple[str, str | None, bool]:
    """Correct a reason by what the failure's circumstances show.

    `said` tells whether the text itself stated the reason, `own` whether a
    recognised product's own phrase did (its word is final); `stage` is the
    SMTP step the refusal answered, `remote` the remote server that answered
    (None when the notice names none). Returns the reason, why it changed
    (None if it did not), and whether the words' own status convention still
    holds (only the filter rule keeps it: 5.1.1 for user-unknown wording; a
    stage or expiry decides the status too).
    """
    temporary = status is not None and status[:1] == "4"
    if reason == "authfailure" and temporary and (status or "")[1:4] == ".4.":
        # RFC 7208 section 8.6 (SPF temperror: 451 4.4.3) and Cisco's "451
        # #4.4.3 Temporary error occurred during SPF verification": the check
        # could not be made (a DNS failure), it did not fail
        return "networkerror", _AUTH_NOT_CHECKED_WHY.format(status=status), False
    if (
        reason == "networkerror"
        and phrase in _REFUSAL_WORDS
        and status is not None
        and status[:1] == "5"
        and stage in ("mail", "rcpt", "data")
    ):
        # a server that answered a command with "550 Connection refused" did
        # connect: its filter refused the sender (Email Security.cloud KB
        # 169925 lists it among recipients' filtering gateways' replies)
        return "blocked", _REFUSAL_WORDS_WHY.format(stage=stage), False
    if party in _SENDING_SIDE and reason in _ADDRESS_LIKE:
        # Postfix names whose check failed; with smtpd_delay_reject (its
        # default) client, HELO and sender checks answer RCPT TO, so the step
        # alone does not say the recipient was refused. Decided before a
        # temporary status is read: "450 4.7.1 <host>: Helo command rejected:
        # Host not found" (reject_unknown_helo_hostname, 450 by default) is the
        # sending host's name, not a DNS failure on the way to the recipient.
        replacement = _SENDING_SIDE[party]
        why = _PARTY_WHY.format(party=party, reason=reason, replacement=replacement)
        return replacement, why, False
    domain_refused = party == "recipient address" and phrase == _DOMAIN_REFUSED
    if reason == "hostunknown" and temporary and not domain_refused:
        return (
            "networkerror",
            "a host-unknown answer with a 4.x.x status is a DNS failure that may clear up",
            False,
        )
    if reason == "networkerror" and final and _CONNECT_RE.search(text):
        return (
            "expired",
            "a final failure after connection time-outs: retried until the queue lifetime ran out",
            False,
        )
    if (
        reason == "networkerror"
        and final
        and _SUSPENDED in text.lower()
        and not any(w in (phrase or "") for w in _LOOP_WORDS)
    ):
        return (
            "expired",
            'a final failure after Postfix\'s "delivery temporarily suspended" '
            "(the destination was marked dead after failed attempts): retried until "
            "the queue lifetime ran out",
            False,
        )
    if (
        final
        and temporary
        and stage is None
        and status is not None
        and status.partition(".")[2] in _UNDEFINED_DETAILS
        and (not said or phrase in _ONLY_TEMPORARY)
        and paired_status(text) is not None
    ):
        return "onhold", _ONHOLD_WHY.format(status=status), False
    # A delay whose words name no cause still names one when its status is
    # specific (RFC 3463: 452 4.2.2 is a full mailbox however the warning is
    # worded); a generic X.0.0 leaves it a delay with no stated cause, and a
    # network status (X.4.x) is what a queue retrying looks like: expired, as
    # for a final failure (the corpus's `Action: delayed` with 4.4.0).
    # A routing loop (X.4.6) is the exception: retrying cannot outlast it.
    loop = status is not None and status.endswith(_LOOP_STATUS)
    status_names_cause = (
        not final
        and status is not None
        and not status.endswith(".0.0")
        and reason not in ("undefined", "expired")
        and (reason != "networkerror" or loop)
        and reason == reason_from_status(status)
    )
    if (
        not said
        and not status_names_cause
        and (not final or (temporary and reason == "networkerror" and not loop))
    ):
        return (
            "expired",
            "a temporary failure with no stated cause that went on too long",
            False,
        )
    if reason == "policyviolation" and temporary and stage in ("rcpt", "mail"):
        # a temporary policy refusal before any content was sent defers the
        # sending host (IONOS: "450 Reject due to policy violations" for a
        # changing HELO name or an IP sending to many unknown addresses)
        return "blocked", _POLICY_EARLY_WHY.format(status=status, stage=stage), False
    if (
        phrase == "try again later"
        and stage == "rcpt"
        and (status is None or status.endswith(".0.0"))
        and (temporary or (status is None and _TRANSIENT_REPLY_RE.search(text)))
    ):
        # hMailServer answers RCPT TO with a bare "451 Please try again later."
        # for an unseen greylisting triplet (its "SMTP error messages" page);
        # a system failure would not wait for the recipient to be named
        why = _DEFERRED_AT_RCPT_WHY.format(status=status or "a 4xx reply")
        return "blocked", why, False
    if party == "client host" and reason in _HOST_NOT_CONTENT:
        why = _PARTY_WHY.format(party=party, reason=reason, replacement="blocked")
        return "blocked", why, False
    if (
        reason == "rejected"
        and phrase in _VAGUE_REFUSALS
        and (stage in ("rcpt", "data") or (status or "")[1:4] == ".2.")
    ):
        # "Rejected" says nothing of whom: answered to RCPT TO, or with a
        # mailbox status (X.2.x), it is the recipient's side that refused.
        return "filtered", _VAGUE_WHY, False
    if stage == "mail" and phrase in _VAGUE_AT_MAIL:
        # "Access denied" says nothing of whom: answered to MAIL FROM, the sender.
        return "rejected", _STAGE_WHY["mail"].format(reason=f'"{phrase}"'), False
    if stage == "connect" and reason == "notaccept" and (status or "")[1:4] == ".7.":
        # RFC 7504's "does not accept mail" is 521 / X.3.2; a greeting refused
        # with a security or policy status (X.7.x) refuses the sending host
        why = _STAGE_WHY["connect"].format(reason=f"notaccept with {status}")
        return "blocked", why, False
    if stage in _STAGE_OVERRIDES:
        replaced, replacement = _STAGE_OVERRIDES[stage]
        explicit = stage == "data" and (status or "").endswith(".1.1")
        if reason in replaced and not explicit:
            return replacement, _STAGE_WHY[stage].format(reason=reason), False
    if reason == "undefined" and not final:
        return "expired", "a delay warning with no stated cause", False
    if reason == "userunknown" and said and not own and stage != "rcpt":
        # Directories answer at RCPT with an address status (X.1.x).
        # Unknown-user wording with no status, or with a status about the
        # mailbox's acceptance rules (X.2.0, X.2.1, X.2.4, X.1.4, X.3.0), and
        # no RCPT in sight, is a filter's refusal, whichever server wrote it.
        subject = status.partition(".")[2] if status else None
        if status is None or subject in _FILTER_STATUSES:
            why = _FILTER_WHY.format(status=status or "no status")
            if remote is None:
                why += " (no remote server named: the reporting server's own refusal)"
            return "filtered", why, True
    return reason, None, False


def _status_evidence(status: str | None, reason: str, decided_by: str) -> str:
    """Say what a status's class and subject are and what they contributed."""
    if not status:
        return "status: none given (a conventional one is filled in from the reason)"
    klass, subject = status[:1], status.split(".")[1] if "." in status else ""
    read = (
        f"status {status}: class {klass} ({_CLASSES.get(klass, 'success')}), "
        f"subject {klass}.{subject}.x ({_SUBJECTS.get(subject, 'unassigned')})"
    )
    return f"{read}: {decided_by}" if decided_by else read


def _evidence(
    *,
    status: str | None,
    stage: tuple[str, str] | None,
    remote: str | None,
    remote_from: str,
    phrase: str,
    status_role: str,
) -> tuple[str, ...]:
    step = (
        f'SMTP step: {_STAGE_NAMES[stage[0]]} ("{stage[1][:60]}")'
        if stage
        else "SMTP step: not stated"
    )
    server = (
        f"remote server: {remote[:80]} ({remote_from})"
        if remote
        else "remote server: none named (the reporting server's own words)"
    )
    return (phrase, _status_evidence(status, "", status_role), step, server)


def judge_reason(
    *,
    status: str | None,
    text: str,
    final: bool = True,
    context: str = "",
    product: str | None = None,
    remote: str | None = None,
) -> Verdict:
    """Return the reason from the vocabulary and the rule that decided it.

    `final` is False for delay warnings: delivery is still being retried.
    `context` (e.g. the human-readable notice) is read only for the SMTP stage
    and the remote server. `product` names the recogniser whose own phrases
    are read first. `remote` is the report's Remote-MTA, if it has one.
    The SMTP step, the status's class and subject, the remote server and the
    phrase are decided together; the verdict names each (`evidence`).
    """
    if status and status[0] == "2":
        return Verdict("delivered", f"status {status} is a success")
    around = f"{text}\n{context}"[:STAGE_TEXT_LIMIT]
    low = around.lower()
    stage = stage_of(around, low)
    remote_from = "Remote-MTA"
    if remote is None:
        remote = remote_server(around, low)
        remote_from = "named in the diagnostic"
    coded = provider_code(text)
    if coded is not None:
        return Verdict(
            coded[0],
            f'{coded[1]}\'s code "{coded[2]}" ({coded[0]})',
            evidence=_evidence(
                status=status,
                stage=stage,
                remote=remote,
                remote_from=remote_from,
                phrase=f'provider code: {coded[1]} "{coded[2]}" -> {coded[0]} (decided)',
                status_role="not needed (the provider's code decided)",
            ),
        )
    start = _REMOTE_RE.search(text) or _CAUSE_LABEL_RE.search(text)
    # The remote server's words beat the reporter's framing around them. Its
    # reply ends at the first blank line: what follows (Exim's "Delivery attempts
    # will continue ...") is the reporter's own again.
    reply = text[start.end() :] if start else ""
    blank = _PARAGRAPH_END_RE.search(reply)
    in_reply = phrase_match(reply[: blank.start()] if blank else reply, product)
    found = in_reply or phrase_match(text, product)
    if (
        not final
        and in_reply is None
        and found is not None
        and found[0] == "expired"
        and status
        and status[0] == "4"
        and reason_from_status(status) not in (None, "expired")
    ):
        # A warning's framing says only that delivery is still retried; the
        # remote's specific transient status names the cause.
        found = None
    if (
        found is not None
        and in_reply is None
        and found[1] in _STEP_FRAMING
        and status
        and not status.endswith(".0.0")
        and reason_from_status(status) is not None
    ):
        # "refused to talk to me" (Postfix) and "after initial connection"
        # (Exim) are the reporter's words for the step; when the remote's own
        # reply names no cause, its specific status does (RFC 7504's 521 5.3.2:
        # a host that takes no mail, not a refusal of the sending host).
        found = None
    rule = ""
    if found:
        owner = f"{found[2]}'s phrase" if found[2] else "phrase"
        rule = f'{owner} "{found[1]}" ({found[0]})'
    by_text = found[0] if found else None
    if by_text == "userunknown" and found is not None and "exist" in low:
        domain = _DOMAIN_GONE_RE.search(text[:REASON_TEXT_LIMIT])
        if domain is not None:
            # what does not exist is a domain name, not a mailbox
            by_text = "hostunknown"
            rule = f'a domain name "{domain.group(1)}" said not to exist (hostunknown)'
            found = ("hostunknown", found[1], found[2])
    status_role = ""
    if (
        found is not None
        and (
            found[1] in _VAGUE_REFUSALS
            or found[1] in _ONLY_TEMPORARY
            or (found[1] in _VAGUE_POLICY and status and status[1:3] != ".7")
        )
        and status
        and not status.endswith(".0.0")
    ):
        by_status = reason_from_status(status)
        answered = stage is not None and stage[0] in ("rcpt", "mail", "data")
        if answered and status[1:3] == ".4":
            # a network status (X.4.x) on a server's answer to a command is
            # not about the network: the server did answer
            by_status = None
        if by_status is not None and by_status != by_text:
            # "Rejected" or "try again later" alone names no cause; a
            # specific status does (ASSP's greylisting "451 4.7.1 Please try
            # again later").
            rule = (
                f'status {status} ({by_status}), over the bare "{found[1]}" '
                "that names no cause"
            )
            status_role = f"decided ({by_status}): the words name no cause"
            by_text = by_status
    verdict_quoted = (
        by_text is not None and by_text != "userunknown" and _VERIFY_VERDICT in low
    )
    if (
        status
        and status.endswith(_EXACT_CODES)
        and not verdict_quoted
        and by_text not in _OVERRULE_EXACT
        and by_text not in _OVERRULE_EXACT_BY_CODE.get(status[-5:], ())
    ):
        # These codes name the cause exactly; only a few texts overrule them.
        exact = reason_from_status(status)
        if exact != by_text:
            rule = f"status {status} names the cause exactly" + (
                f", over {rule}" if rule else ""
            )
        status_role = f"names the cause exactly ({exact})"
        by_text = exact
    elif status and by_text and status.endswith(_EXACT_CODES):
        exact = reason_from_status(status)
        status_role = (
            f"agrees with the words ({by_text})"
            if exact == by_text
            else f"overruled by the words (alone it would say {exact})"
        )
    reason = by_text or reason_from_status(status) or "undefined"
    if not rule:
        rule = (
            f"status {status} (the text names no cause pmail knows)"
            if reason != "undefined"
            else "neither the text nor the status names a cause"
        )
        if status and reason != "undefined":
            status_role = f"decided ({reason}): the words name no cause"
    if status and not status_role:
        implied = reason_from_status(status)
        status_role = (
            f"agrees with the words ({implied})"
            if implied == reason
            else f"the words name the cause (the status alone would say {implied})"
            if implied
            else "the words name the cause"
        )
    party_found = (
        _PARTY_RE.search(text[:REASON_TEXT_LIMIT]) if " rejected" in low else None
    )
    refined, why, words_status = _refine(
        reason,
        party=party_found.group(1).lower() if party_found else None,
        status=status,
        text=around,
        final=final,
        said=found is not None,
        own=found is not None and found[2] is not None,
        stage=stage[0] if stage else None,
        remote=remote,
        phrase=found[1] if found else None,
    )
    phrase = (
        f'phrase: "{found[1]}"'
        + (f" ({found[2]}'s own)" if found[2] else "")
        + f" -> {found[0]}"
        if found
        else "phrase: none pmail knows"
    )
    evidence = _evidence(
        status=status,
        stage=stage,
        remote=remote,
        remote_from=remote_from,
        phrase=phrase,
        status_role=status_role,
    )
    if why:
        evidence += (f"together: {reason} -> {refined}: {why}",)
    return Verdict(
        refined,
        f"{rule}; then {why}" if why else rule,
        stated=reason if words_status else None,
        evidence=evidence,
    )


def decide_reason(
    *, status: str | None, text: str, final: bool = True, context: str = ""
) -> str:
    """Return a reason from the vocabulary; "undefined" when nothing tells."""
    return judge_reason(status=status, text=text, final=final, context=context).reason


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
        # not decided yet (Postfix's verify probe, a 4.x.x failure with no cause)
        "onhold",
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
