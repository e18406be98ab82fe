"""Decide what an inbound message is: the order of the checks lives here."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses
from typing import Any

from pmail_cli.classify import autoreply, dsn, feedback, freetext, parts
from pmail_cli.classify.model import Classification, RecipientFact, is_hard
from pmail_cli.classify.reasons import (
    decide_reason,
    default_status,
    find_status,
    reason_from_text,
)
from pmail_cli.classify.ses import ses_event

logger = logging.getLogger(__name__)

_REPLY_PREFIX_RE = re.compile(
    r"^\s*(?:\[[^\]]{0,60}\]\s*)?"
    r"(?:re|aw|sv|vs|antw|antwort|ref|rif|res|odp|ynt|atb|v[áa]|"
    r"\u56de\u590d|\u56de\u8986|\u7b54\u590d|\u8fd4\u4fe1)"
    r"\s*(?:\[\d+\]|\(\d+\))?\s*[:\uff1a]",
    re.IGNORECASE,
)
_DS_TYPES = frozenset(
    {
        "message/delivery-status",
        "message/global-delivery-status",
        "text/delivery-status",
    }
)
_HEADER_TYPES = frozenset({"text/rfc822-headers", "message/rfc822-headers"})
_DONE = ("delivered", "relayed", "expanded")


@dataclass(frozen=True, slots=True)
class _Context:
    """What every check needs, computed once per message."""

    msg: Message
    parts: list[Message]
    types: list[str]
    report_type: str
    subject: str
    sender: str
    is_reply: bool
    heads: dict[str, str]


def _decoded(value: str) -> str:
    try:
        return str(make_header(decode_header(value)))
    except Exception:
        return value


def _report_type(msg: Message) -> str:
    try:
        value = msg.get_param("report-type")
    except Exception:
        return ""
    return value.strip().lower() if isinstance(value, str) else ""


def is_reply_to_earlier(headers: Mapping[str, str], subject: str) -> bool:
    """Return True when threading headers or a reply prefix say "answer"."""
    if headers.get("in-reply-to", "").strip() or headers.get("references", "").strip():
        return True
    return bool(_REPLY_PREFIX_RE.match(subject))


def _context(msg: Message) -> _Context:
    found = parts.walk(msg)
    heads = parts.header_index(msg)
    subject = _decoded(parts.indexed(heads, "Subject"))
    return _Context(
        msg=msg,
        parts=found,
        types=[parts.content_type(p) for p in found],
        report_type=_report_type(msg) if found[0].is_multipart() else "",
        subject=subject,
        sender=_decoded(parts.indexed(heads, "From")),
        is_reply=is_reply_to_earlier(heads, subject),
        heads=heads,
    )


def _addresses(msg: Message, *names: str) -> set[str]:
    values = [parts.header(msg, n) for n in names]
    try:
        pairs = getaddresses([v for v in values if v])
    except Exception:
        return set()
    return {addr.lower() for _, addr in pairs if "@" in addr}


def _original_id(ctx: _Context, tail: str) -> str | None:
    """Return the Message-ID of the returned or reported original message."""
    for part, ctype in zip(ctx.parts, ctx.types, strict=True):
        if ctype == "message/rfc822":
            inner = parts.attached_message(part)
            found = (
                parts.message_id_in(parts.header(inner, "Message-ID"))
                if inner
                else None
            )
        elif ctype in _HEADER_TYPES:
            found = parts.message_id_in_text(parts.part_text(part))
        else:
            continue
        if found:
            return found
    found = parts.message_id_in_text(tail) if tail else None
    return found or parts.message_id_in(parts.header(ctx.msg, "In-Reply-To"))


def _result(ctx: _Context, kind: str, **extra: Any) -> Classification:
    return Classification(kind=kind, is_reply=ctx.is_reply, **extra)


def _complaint_arf(ctx: _Context) -> Classification:
    text, original = "", None
    for part, ctype in zip(ctx.parts, ctx.types, strict=True):
        if ctype == "message/feedback-report" and not text:
            text = parts.part_text(part)
        elif ctype == "message/rfc822" and original is None:
            original = parts.attached_message(part)
    ftype, facts = feedback.arf_report(text, original)
    return _result(
        ctx,
        "complaint",
        recipients=tuple(facts),
        feedback_type=ftype,
        original_message_id=_original_id(ctx, ""),
    )


def _read_receipt(ctx: _Context) -> Classification:
    text = ""
    for part, ctype in zip(ctx.parts, ctx.types, strict=True):
        if ctype == "message/disposition-notification":
            text = parts.part_text(part)
            break
    found = dict(feedback.fields(text))
    rcpt = dsn.address(found.get("final-recipient") or found.get("original-recipient"))
    fact = RecipientFact(
        recipient=rcpt,
        action=None,
        status=None,
        reply_code=None,
        diagnostic_code=found.get("disposition"),
        remote_mta=None,
        reason="delivered",
        hard=False,
    )
    original = parts.message_id_in(found.get("original-message-id", ""))
    return _result(
        ctx,
        "read_receipt",
        recipients=(fact,),
        original_message_id=original or _original_id(ctx, ""),
    )


def _block_reason(
    block: dict[str, str], *, status: str | None, section: str, notice: str
) -> str:
    """Return the reason of one DSN recipient block.

    The Diagnostic-Code decides; when it says nothing we recognise, the
    notice's lines about the recipient (then the whole notice) are read; a
    gloss on a specific status ("5.2.1 (mailbox disabled)") has the last word.
    """
    diag = dsn.strip_type(block.get("diagnostic-code")) or ""
    final = dsn.action_of(block) != "delayed"
    reason = decide_reason(status=status, text=diag, final=final, context=section[:800])
    if reason_from_text(diag) is None:
        for text in (section, notice):
            if reason_from_text(text) is not None:
                reason = decide_reason(
                    status=status, text=f"{diag}\n{text}", final=final
                )
                break
    comment = block.get("status", "").partition("(")[2]
    if status and not status.endswith(".0.0") and reason_from_text(comment):
        reason = decide_reason(status=status, text=comment, final=final)
    return reason


def _block_fact(block: dict[str, str], notice: str) -> RecipientFact:
    rcpt = dsn.address(
        block.get("final-recipient")
        or block.get("original-recipient")
        or block.get("x-actual-recipient")
    )
    action = dsn.action_of(block)
    diag = dsn.strip_type(block.get("diagnostic-code"))
    code = dsn.reply_code_of(block)
    section = _section_for(notice, rcpt)
    status = dsn.status_of(block)
    if (status is None or status.endswith(".0.0")) and not diag:
        status = find_status(section) or status
    reason = _block_reason(block, status=status, section=section, notice=notice)
    if action in _DONE or (status or "").startswith("2"):
        reason = "delivered"
    if status is None and action == "failed":
        status = default_status(reason, permanent=True, reply_code=code)
    failed = action != "delayed" and reason != "delivered"
    return RecipientFact(
        recipient=rcpt,
        action=action,
        status=status,
        reply_code=code,
        diagnostic_code=diag,
        remote_mta=dsn.strip_type(block.get("remote-mta")),
        reason=reason,
        hard=failed and is_hard(reason, status=status, reply_code=code),
    )


def _section_for(notice: str, rcpt: str | None) -> str:
    """Return the notice lines about `rcpt`, or the whole notice."""
    if rcpt:
        at = notice.lower().find(rcpt)
        if at >= 0:
            return notice[at : at + 1500]
    return notice[:4096]


def _kind_of(facts: list[RecipientFact]) -> str:
    actions = {f.action for f in facts}
    if "failed" in actions:
        return "bounce"
    if "delayed" in actions:
        return "delay"
    if actions & set(_DONE):
        return "delivery_report"
    statuses = {(f.status or "")[:1] for f in facts}
    if statuses and statuses <= {"2"}:
        return "delivery_report"
    return "bounce"


def _report_blocks(ctx: _Context, body: str) -> list[dict[str, str]]:
    """Return DSN recipient blocks from the report part, else from text parts."""
    for part, ctype in zip(ctx.parts, ctx.types, strict=True):
        if ctype in _DS_TYPES:
            blocks = dsn.recipient_blocks(parts.part_text(part))
            if blocks:
                return blocks
    for part, ctype in zip(ctx.parts, ctx.types, strict=True):
        if (
            ctype.startswith("text/")
            and ctype != "text/html"
            and not part.is_multipart()
        ):
            text = body if part is ctx.parts[0] else parts.part_text(part)
            if dsn.has_report_fields(text):
                return dsn.recipient_blocks(text)
    return []


def _structured(ctx: _Context, body: str, suspect: bool) -> Classification | None:
    has_ds = any(t in _DS_TYPES for t in ctx.types)
    if not (has_ds or ctx.report_type == "delivery-status" or suspect):
        return None
    notice = freetext.notice_text(body)
    blocks = _report_blocks(ctx, body)
    if not blocks:
        return None
    facts = [_block_fact(b, notice) for b in blocks]
    return _result(
        ctx,
        _kind_of(facts),
        recipients=tuple(facts),
        original_message_id=_original_id(ctx, body[len(notice) :]),
    )


def _notice_fact(
    rcpt: str | None, explanation: str, notice: str, *, temp: bool, final: bool
) -> RecipientFact:
    status, code = freetext.codes_of(explanation, notice)
    reason = decide_reason(status=status, text=explanation, final=final)
    if reason == "undefined":
        reason = decide_reason(status=status, text=notice, final=final)
    if status is None:
        status = default_status(reason, permanent=not temp, reply_code=code)
    return RecipientFact(
        recipient=rcpt,
        action="failed",
        status=status,
        reply_code=code,
        diagnostic_code=freetext.diagnostic_lines(explanation, rcpt or ""),
        remote_mta=freetext.remote_mta(explanation) or freetext.remote_mta(notice),
        reason=reason,
        hard=is_hard(reason, status=status, reply_code=code),
    )


def _free_text_bounce(ctx: _Context, body: str) -> Classification:
    notice = freetext.notice_text(body)
    failed = sorted(_addresses(ctx.msg, "X-Failed-Recipients"))
    excluded = _addresses(ctx.msg, "To", "From", "Return-Path", "Reply-To")
    found = freetext.notice_recipients(notice, failed=failed, excluded=excluded)
    warning = freetext.is_warning(subject=ctx.subject, notice=notice)
    temp = warning or freetext.is_temporary(ctx.subject + "\n" + notice)
    facts = [
        _notice_fact(r.address, r.explanation, notice, temp=temp, final=not warning)
        for r in found
    ]
    if not facts:
        facts = [_notice_fact(None, notice, notice, temp=temp, final=not warning)]
    if warning:
        facts = [replace(f, action="delayed", hard=False) for f in facts]
    return _result(
        ctx,
        "delay" if warning else "bounce",
        recipients=tuple(facts),
        original_message_id=_original_id(ctx, body[len(notice) :]),
    )


def _may_be_ses(ctx: _Context) -> bool:
    """Return True for mail from Amazon's notification service (SNS/SES)."""
    return "amazonaws.com" in ctx.sender.lower() or "amazonses" in ctx.sender.lower()


def _other_complaint(ctx: _Context, body: str) -> Classification | None:
    event = ses_event(body) if _may_be_ses(ctx) and "Type" in body else None
    if event is not None:
        return _result(
            ctx,
            event.kind,
            recipients=event.recipients,
            feedback_type=event.feedback_type,
            original_message_id=event.message_id,
        )
    hotmail = feedback.hotmail_recipient(ctx.msg, ctx.parts)
    if hotmail is not None:
        return _complaint(ctx, hotmail, "abuse")
    if feedback.is_unsubscribe_request(ctx.msg):
        sender = sorted(_addresses(ctx.msg, "From"))
        return _complaint(ctx, sender[0] if sender else None, "opt-out")
    return None


def _complaint(ctx: _Context, rcpt: str | None, ftype: str) -> Classification:
    return _result(
        ctx,
        "complaint",
        recipients=(feedback.complaint_fact(rcpt),),
        feedback_type=ftype,
        original_message_id=_original_id(ctx, ""),
    )


def _auto_reply(ctx: _Context, body: str) -> Classification:
    sender = sorted(_addresses(ctx.msg, "From"))
    fact = RecipientFact(
        recipient=sender[0] if sender else None,
        action=None,
        status=None,
        reply_code=None,
        diagnostic_code=None,
        remote_mta=None,
        reason="vacation",
        hard=False,
    )
    until = autoreply.return_date(
        ctx.subject + "\n" + body, sent=autoreply.sent_date(ctx.msg)
    )
    return _result(
        ctx,
        "auto_reply",
        recipients=(fact,),
        auto_reply_until=until,
        original_message_id=parts.message_id_in(parts.header(ctx.msg, "In-Reply-To")),
    )


def classify(msg: Message) -> Classification:
    """Classify a parsed message; may raise on pathological input."""
    ctx = _context(msg)
    if ctx.report_type == "feedback-report" or "message/feedback-report" in ctx.types:
        return _complaint_arf(ctx)
    if (
        ctx.report_type == "disposition-notification"
        or "message/disposition-notification" in ctx.types
    ):
        return _read_receipt(ctx)
    # Reading the body is the expensive part; ordinary mail mostly skips it.
    evidence = freetext.bounce_evidence(sender=ctx.sender, subject=ctx.subject)
    reportish = (
        ctx.report_type == "delivery-status" or ctx.types[0] == "multipart/report"
    )
    needs_body = evidence is None or evidence or reportish or _may_be_ses(ctx)
    body = parts.first_text(ctx.parts) if needs_body else ""
    suspect = freetext.body_says_bounce(body) if evidence is None else evidence
    found = _structured(ctx, body, suspect)
    if found is not None:
        return found
    found = _other_complaint(ctx, body)
    if found is not None:
        return found
    if suspect or ctx.report_type == "delivery-status":
        return _free_text_bounce(ctx, body)
    if autoreply.is_auto_reply(ctx.heads, subject=ctx.subject):
        return _auto_reply(ctx, body or parts.first_text(ctx.parts))
    return _result(ctx, "email")


def fallback(msg: Message) -> Classification:
    """Return the most that can be said when classification failed."""
    try:
        subject = _decoded(parts.header(msg, "Subject"))
        heads = parts.header_index(msg)
        return Classification(
            kind="email", is_reply=is_reply_to_earlier(heads, subject)
        )
    except Exception:
        return Classification(kind="email", is_reply=False)
