"""Complaints: ARF feedback reports (RFC 5965) and the common non-ARF loops."""

from __future__ import annotations

import re
from email.message import Message

from pmail_cli.classify.dsn import address
from pmail_cli.classify.model import RecipientFact
from pmail_cli.classify.parts import attached_message, content_type, header

_FIELD_RE = re.compile(r"^([A-Za-z][A-Za-z0-9-]{1,40})[ \t]*:[ \t]*(.*)$", re.M)
_RCPT_FIELDS = ("original-rcpt-to", "removal-recipient")
# Hotmail/Outlook.com JMRP reports name the complaining mailbox in this header.
HOTMAIL_HEADER = "X-HmXmrOriginalRecipient"
MAX_RECIPIENTS = 100


def fields(text: str) -> list[tuple[str, str]]:
    """Return the (lower-case name, value) fields of a report body, in order."""
    return [(m.group(1).lower(), m.group(2).strip()) for m in _FIELD_RE.finditer(text)]


def complaint_fact(recipient: str | None) -> RecipientFact:
    """Return the fact recorded for one complaining recipient."""
    return RecipientFact(
        recipient=recipient,
        action=None,
        status=None,
        reply_code=None,
        diagnostic_code=None,
        remote_mta=None,
        reason="feedback",
        hard=False,
    )


def arf_report(
    report_text: str, original: Message | None
) -> tuple[str, list[RecipientFact]]:
    """Return (feedback type, complained recipients) of an ARF report.

    Recipients come from Original-Rcpt-To / Removal-Recipient, else from the
    To: of the reported message; the type defaults to "abuse".
    """
    found = fields(report_text)
    ftype = next((v.lower() for k, v in found if k == "feedback-type"), "") or "abuse"
    rcpts = [address(v) for k, v in found if k in _RCPT_FIELDS]
    if not any(rcpts) and original is not None:
        rcpts = [address(header(original, "To"))]
    unique = list(dict.fromkeys(r for r in rcpts if r))[:MAX_RECIPIENTS]
    facts = [complaint_fact(r) for r in unique] or [complaint_fact(None)]
    return ftype.split()[0], facts


def hotmail_recipient(msg: Message, parts: list[Message]) -> str | None:
    """Return the complainant of a Hotmail-style (non-ARF) loop report, or None."""
    value = header(msg, HOTMAIL_HEADER)
    if value:
        return address(value) or value.lower()
    for part in parts:
        if content_type(part) != "message/rfc822":
            continue
        inner = attached_message(part)
        if inner is not None and header(inner, HOTMAIL_HEADER):
            return address(header(inner, HOTMAIL_HEADER))
    return None


def is_unsubscribe_request(msg: Message) -> bool:
    """Return True for a mail client's one-click unsubscribe (an opt-out)."""
    return header(msg, "X-Apple-Unsubscribe").lower() == "true"
