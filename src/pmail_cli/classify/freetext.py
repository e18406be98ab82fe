"""Recognise non-standard, free-text bounce notices and pull facts out of them.

Postfix, Exim, qmail, sendmail, Exchange, Gmail, Yahoo, GroupWise, Lotus and
others each write their own prose. What they share is used here: who sends
them, what the subject says, a handful of stock sentences, the recipient on
a line of its own (or before a colon), and the SMTP reply quoted below it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pmail_cli.classify.reasons import find_reply_code, find_status, remote_host

_DAEMON_RE = re.compile(
    r"mailer[-_. ]?daemon|postmaster|post_master|mail[-_. ]delivery"
    r"|mdaemon|mail administrator|delivery[-_. ]subsystem|mailer_daemon"
    r"|e500_smtp|antivirus|\bimss\b|system administrator",
    re.IGNORECASE,
)
_SUBJECT_RE = re.compile(
    r"undeliver|undelivered|delivery status notification \((?:failure|delay)"
    r"|delivery (?:status )?notification|mail delivery|delivery fail"
    r"|failure notice|failure delivery|returned mail|returning message"
    r"|non[- ]?deliver|could not be delivered|not (?:be )?delivered"
    r"|delivery problem|delayed mail|message delayed|delivery delayed|warning: message"
    r"|delivery warning|mail (?:error|failure|failed)|failed mail"
    r"|nameserver error|delivery error|error during delivery"
    r"|permanent delivery|processing error|delivery report"
    r"|message you sent|returned to sender|unzustellbar|no entregado"
    r"|non remis|bounce|user unknown|unknown user|error sending your (?:mail|message)|\u0441\u043e\u043e\u0431\u0449\u0435\u043d\u0438\u0435"
    r"|\u9000\u4fe1|\u9000\u56de",
    re.IGNORECASE,
)
_FORWARD_RE = re.compile(r"\s*(?:fwd?|wg|tr|rv|vs|doorst)\s*:", re.IGNORECASE)
_BODY_RE = re.compile(
    r"could not be delivered|couldn't be delivered|was not delivered"
    r"|not be delivered|undeliverable|undelivered|delivery has failed"
    r"|delivery to the following recipient|following address(?:\(es\))? failed"
    r"|permanent error|permanent fatal error|unable to deliver"
    r"|delivery failed|wasn't able to deliver|not able to deliver"
    r"|did not reach the following|following recipients? (?:failed|could not)"
    r"|delivery is delayed to"
    r"|message could not be|returned to (?:the )?sender|delivery attempts"
    r"|has not yet been delivered|transcript of session follows"
    r"|while attempting to deliver|error occurred while trying to deliver"
    r"|delivery status notification|mail delivery software"
    r"|this is the mail system at|qmail-send program|delivery failure"
    r"|message not delivered|did not receive your message"
    r"|no such user|user unknown|unknown user|was rejected|bounced"
    r"|^<[^\s<>@]+@[^\s<>]+>:[ \t]*$"
    r"|nicht zugestellt|no pudo ser entregado|pas pu .tre (?:remis|d.livr)"
    r"|\u9001\u4fe1\u3067\u304d\u307e\u305b\u3093",
    re.IGNORECASE | re.MULTILINE,
)
# Where the returned original begins: the notice ends there.
# The rule characters before the heading ("----- ", "== ", "> ") are one class:
# two quantifiers over the same characters made a long run of spaces
# backtrack for minutes.
_END_RE = re.compile(
    r"^[ \t>|*=_-]*(?:"
    r"this is a copy of|(?:a )?copy of (?:the|your) (?:original )?message"
    r"|below (?:this line )?is a copy|original message|returned message"
    r"|undelivered message|unsent message|message headers follow"
    r"|headers of the original|text of (?:the|your) (?:original )?message"
    r"|the original message|mensaje original|message d'origine"
    r"|original message follows|included is a copy|returned mail follows"
    r"|\u0438\u0441\u0445\u043e\u0434\u043d\u043e\u0435"
    r")",
    re.IGNORECASE | re.MULTILINE,
)
# An address, with bounded parts: unbounded ones made hostile runs of
# address characters backtrack quadratically. Local parts up to 128 characters
# (VERP and SRS addresses pass RFC 5321's 64), up to 10 domain labels.
ADDRESS = (
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,128}@[A-Za-z0-9-]{1,63}"
    r"(?:\.[A-Za-z0-9-]{1,63}){1,9}"
)
# A free search starts only where a run of address characters starts.
_ADDR_RE = re.compile(r"(?<![A-Za-z0-9.!#$%&'*+/=?^_`{|}~-])" + ADDRESS)
_RCPT_LINE_RE = re.compile(
    r"^[ \t]*(?:[^\s=]{1,64}=)?[\"'<(]{0,8}(" + ADDRESS + r")[\"'>)]*[ \t]*"
    r"(?::|$|\(|;|\s-\s|\son\s)",
    re.MULTILINE,
)
_RCPT_TO_RE = re.compile(
    r"(?:rcpt to|recipient|to)[ \t]*:[ \t]*<?([^\s<>@]+@[^\s<>]+?)>?(?:[\s,;]|$)",
    re.IGNORECASE,
)
_TEMPORARY_RE = re.compile(
    r"temporary|delayed|warning|not yet been delivered|will (?:continue|retry)"
    r"|still being retried|will be retried|try again",
    re.IGNORECASE,
)
_WARNING_RE = re.compile(
    r"warning only|only a (?:temporary failure report|notification about a delay)"
    r"|not yet been delivered|delivery attempts will continue|still being retried"
    r"|will (?:continue|keep) (?:trying|to try)|will retry|will be retried"
    r"|will continue to be attempted"
    r"|no need to resend|do not need to re-?send|delivery incomplete",
    re.IGNORECASE,
)
_DELAY_SUBJECT_RE = re.compile(
    r"\(delay\)|\bdelayed\b|delivery delay|still being retried", re.IGNORECASE
)
_FINAL_RE = re.compile(
    r"permanent|fatal|given up|giving up|gave up|failed permanently", re.IGNORECASE
)
_TRANSIENT_REPLY_LINE_RE = re.compile(r"^[ \t]*4\d\d[ -][^\n]*", re.MULTILINE)
_SKIP_LOCALS = frozenset({"postmaster", "mailer-daemon", "mailer_daemon", "abuse"})
# Notices end by naming where to get help: Postfix's "please send mail to
# postmaster", Exim's "contact the postmaster", a provider's "contact
# support@...". An address right after such words is the reporter's help
# address, never the failed recipient (read only when the notice names no
# address on a line of its own).
_HELP_CUE_RE = re.compile(
    r"(?:contact(?:ing)?|write to|send (?:e-?)?mail to|e-?mail(?: us)?(?: at)?"
    r"|reach us at|questions[^\n.]{0,30}?|assistance[^\n.]{0,30}?)"
    r"[ \t:]*(?:us[ \t]+at[ \t]+|the[ \t]+\w+[ \t]+at[ \t]+)?<?$",
    re.IGNORECASE,
)
MAX_RECIPIENTS = 50


@dataclass(frozen=True, slots=True)
class NoticeRecipient:
    """A recipient named in a free-text notice and the lines that explain it."""

    address: str
    explanation: str


def bounce_evidence(*, sender: str, subject: str) -> bool | None:
    """Return what sender and subject say about a bounce; None if undecided.

    A daemon sender with a failure subject is a bounce; a person's message,
    or one forwarding a notice, is not; the rest depends on the body.
    """
    daemon = bool(_DAEMON_RE.search(sender))
    if not daemon and _FORWARD_RE.match(subject):
        return False  # a person passing a notice on is writing an email
    subject_hit = bool(_SUBJECT_RE.search(subject))
    if daemon and subject_hit:
        return True
    if not (daemon or subject_hit):
        return False
    return None


def bounce_wording(body: str) -> str | None:
    """Return the failure-notice wording the start of a body uses, or None."""
    m = _BODY_RE.search(body[:8192])
    return " ".join(m.group(0).split()) if m else None


def notice_text(body: str) -> str:
    """Return the notice part of a body, without the returned original."""
    m = _END_RE.search(body)
    if m is not None and m.start() > 0:
        return body[: m.start()]
    return body[:8192]


def is_temporary(text: str) -> bool:
    """Return True when a notice says delivery will still be retried."""
    head = text[:4096]
    if re.search(r"permanent|fatal|given up|giving up", head, re.IGNORECASE):
        return False
    return bool(_TEMPORARY_RE.search(head))


def is_warning(*, subject: str, notice: str) -> bool:
    """Return True for a delay warning: delivery is still being retried."""
    head = notice[:4096]
    # A remote's transient (4xx) reply quoted on its own lines is not the
    # reporter giving up, whatever it says (Yahoo's "421 4.7.0 [TS03] ...
    # permanently deferred" in an Exim warning).
    if _FINAL_RE.search(_TRANSIENT_REPLY_LINE_RE.sub("", head)):
        return False
    return bool(_WARNING_RE.search(head) or _DELAY_SUBJECT_RE.search(subject))


def _usable(addr: str, excluded: set[str]) -> bool:
    addr = addr.lower()
    local = addr.partition("@")[0]
    return addr not in excluded and local not in _SKIP_LOCALS


def _candidates(notice: str, excluded: set[str]) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for m in _RCPT_LINE_RE.finditer(notice):
        found.append((m.start(1), m.group(1)))
    for m in _RCPT_TO_RE.finditer(notice):
        found.append((m.start(1), m.group(1)))
    if not any(_usable(addr.strip(".,;:"), excluded) for _, addr in found):
        # nothing usable on a line of its own: any address in the prose
        found = [
            (m.start(), m.group(0))
            for m in _ADDR_RE.finditer(notice)
            if not _HELP_CUE_RE.search(notice[max(0, m.start() - 60) : m.start()])
        ]
    out: list[tuple[int, str]] = []
    seen: set[str] = set()
    for pos, addr in sorted(found):
        addr = addr.strip(".,;:").lower()
        if addr in seen or not _usable(addr, excluded):
            continue
        seen.add(addr)
        out.append((pos, addr))
    return out[:MAX_RECIPIENTS]


def notice_recipients(
    notice: str, *, failed: list[str], excluded: set[str]
) -> list[NoticeRecipient]:
    """Return the failed recipients of a notice, each with its explanation.

    `failed` (e.g. from X-Failed-Recipients) wins over addresses found in the
    prose; `excluded` holds addresses that are never the failed recipient.
    """
    found = _candidates(notice, excluded)
    if failed:
        positions = {addr: pos for pos, addr in found}
        found = sorted(
            (positions.get(a, notice.lower().find(a)), a)
            for a in dict.fromkeys(x.lower() for x in failed)
        )
    out: list[NoticeRecipient] = []
    for i, (pos, addr) in enumerate(found):
        start = max(pos, 0)
        end = found[i + 1][0] if i + 1 < len(found) else len(notice)
        if end <= start:
            end = len(notice)
        out.append(NoticeRecipient(addr, notice[start:end][:2000]))
    return out


def addresses_in(text: str) -> list[str]:
    """Return every address in `text` (at most MAX_RECIPIENTS)."""
    return [m.group(0).strip(".") for m in _ADDR_RE.finditer(text)][:MAX_RECIPIENTS]


def remote_mta(text: str) -> str | None:
    """Return the remote host named in a notice ("host mx.example.org [ip]")."""
    return remote_host(text)


def diagnostic_lines(explanation: str, address: str) -> str | None:
    """Return the explanation as one line, without the recipient address."""
    text = explanation.replace(address, "", 1) if explanation else ""
    text = " ".join(text.split()).strip(" :<>-")
    return text[:500] or None


def codes_of(explanation: str, notice: str) -> tuple[str | None, int | None]:
    """Return (status, reply code) from a recipient's lines, else the notice."""
    status = find_status(explanation) or find_status(notice)
    reply = find_reply_code(explanation) or find_reply_code(notice)
    return status, reply
