"""Decide what an inbound message is: the order of the checks lives here."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from email.message import Message
from email.utils import getaddresses
from typing import Any

from pmail_cli.classify import (
    autoreply,
    dsn,
    feedback,
    freetext,
    parts,
    products,
    unsubscribe,
)
from pmail_cli.classify.model import (
    Classification,
    RecipientFact,
    Why,
    hard_rule,
    is_hard,
)
from pmail_cli.classify.reasons import (
    Verdict,
    default_status,
    find_status,
    judge_reason,
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
    subject = parts.decoded(parts.indexed(heads, "Subject"))
    return _Context(
        msg=msg,
        parts=found,
        types=[parts.content_type(p) for p in found],
        report_type=_report_type(msg) if found[0].is_multipart() else "",
        subject=subject,
        sender=parts.decoded(parts.indexed(heads, "From")),
        is_reply=is_reply_to_earlier(heads, subject),
        heads=heads,
    )


def _received(msg: Message) -> str:
    """Return every Received header of a message, one per line (bounded)."""
    try:
        values = msg.get_all("Received") or []
    except Exception:
        return ""
    return "\n".join(" ".join(str(v).split())[:500] for v in values[:30])


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


def _result(ctx: _Context, kind: str, basis: str, **extra: Any) -> Classification:
    return Classification(kind=kind, is_reply=ctx.is_reply, basis=basis, **extra)


def _why(found_by: str, verdict: Verdict, fact: RecipientFact) -> Why:
    hard = (
        "soft: a delay is never hard"
        if fact.action == "delayed"
        else hard_rule(
            fact.reason, status=fact.status, reply_code=fact.reply_code, hard=fact.hard
        )
    )
    return Why(
        found_by=found_by, reason=verdict.rule, hard=hard, evidence=verdict.evidence
    )


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
        "an ARF feedback report (message/feedback-report)",
        recipients=tuple(facts),
        feedback_type=ftype,
        original_message_id=_original_id(ctx, ""),
    )


# RFC 5429 (Sieve reject) and RFC 8098: a refusal sent as an MDN says
# "Disposition: automatic-action/MDN-sent-automatically; deleted": the message
# was removed by an automatic action before anyone saw it, not read.
_REFUSED_MDN_RE = re.compile(r"^\s*automatic-action\s*/[^;]*;\s*deleted\b", re.I)


def _read_receipt(ctx: _Context) -> Classification:
    text = ""
    for part, ctype in zip(ctx.parts, ctx.types, strict=True):
        if ctype == "message/disposition-notification":
            text = parts.part_text(part)
            break
    found = dict(feedback.fields(text))
    rcpt = dsn.address(found.get("final-recipient") or found.get("original-recipient"))
    if _REFUSED_MDN_RE.match(found.get("disposition", "")):
        return _refused_mdn(ctx, found, rcpt)
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
        "a disposition notification (RFC 8098 MDN)",
        recipients=(fact,),
        original_message_id=original or _original_id(ctx, ""),
    )


# What "Your message to <...> was automatically rejected: <the script's words>"
# reads as when the words name no cause: the recipient's own filter refused it.
_NAMES_NO_PARTY = frozenset({"undefined", "rejected"})
_SIEVE_REJECT_WHY = (
    "an MDN with disposition automatic-action/...; deleted (RFC 5429's Sieve "
    "reject): the recipient's filter refused the message"
)


def _refused_mdn(
    ctx: _Context, found: dict[str, str], rcpt: str | None
) -> Classification:
    """A refusal written as an MDN (Sieve reject, RFC 5429): a bounce whose reason
    is what its human-readable part says, else the recipient's filter."""
    notice = parts.first_text(ctx.parts)
    verdict = judge_reason(status=None, text=notice)
    if verdict.reason in _NAMES_NO_PARTY:
        verdict = Verdict(
            "filtered",
            _SIEVE_REJECT_WHY,
            evidence=(
                *verdict.evidence,
                f"together: {verdict.reason} -> filtered: {_SIEVE_REJECT_WHY}",
            ),
        )
    status = default_status(verdict.as_stated, permanent=True, reply_code=None)
    fact = RecipientFact(
        recipient=rcpt,
        action="failed",
        status=status,
        reply_code=None,
        diagnostic_code=" ".join(notice.split())[:500] or found.get("disposition"),
        remote_mta=None,
        reason=verdict.reason,
        hard=is_hard(verdict.reason, status=status, reply_code=None),
    )
    fact = replace(fact, why=_why("rfc5429: the MDN's Final-Recipient", verdict, fact))
    original = parts.message_id_in(found.get("original-message-id", ""))
    return _result(
        ctx,
        "bounce",
        "a refusal sent as an MDN (Disposition: automatic-action/...; deleted, "
        "RFC 5429 Sieve reject)",
        recipients=(fact,),
        original_message_id=original or _original_id(ctx, ""),
    )


def _block_reason(
    block: dict[str, str],
    *,
    status: str | None,
    section: str,
    notice: str,
    product: str | None,
) -> Verdict:
    """Return the reason of one DSN recipient block and the rule behind it.

    The Diagnostic-Code decides; when it says nothing we recognise, the
    notice's lines about the recipient (then the whole notice) are read; a
    gloss on a specific status ("5.2.1 (mailbox disabled)") has the last word.
    """
    diag = dsn.strip_type(block.get("diagnostic-code")) or ""
    final = dsn.action_of(block) != "delayed"
    remote = dsn.strip_type(block.get("remote-mta"))
    verdict = judge_reason(
        status=status,
        text=diag,
        final=final,
        context=section[:800],
        product=product,
        remote=remote,
    )
    if reason_from_text(diag, product) is None:
        for where, text in (
            ("the notice's lines about the recipient", section),
            ("the notice", notice),
        ):
            if reason_from_text(text, product) is not None:
                found = judge_reason(
                    status=status,
                    text=f"{diag}\n{text}",
                    final=final,
                    product=product,
                    remote=remote,
                )
                verdict = replace(found, rule=f"{found.rule} (in {where})")
                break
    comment = block.get("status", "").partition("(")[2]
    if status and not status.endswith(".0.0") and reason_from_text(comment):
        found = judge_reason(
            status=status, text=comment, final=final, product=product, remote=remote
        )
        verdict = replace(found, rule=f"{found.rule} (the Status field's gloss)")
    return verdict


def _block_fact(
    block: dict[str, str], notice: str, found_by: str, product: str | None
) -> RecipientFact:
    named = [
        dsn.address(block.get(key))
        for key in ("final-recipient", "original-recipient", "x-actual-recipient")
    ]
    # the first full address; a bare local part ("LOCAL; lead") only if none is
    rcpt = next((a for a in named if a and "@" in a), None) or next(
        (a for a in named if a), None
    )
    action = dsn.action_of(block)
    diag = dsn.strip_type(block.get("diagnostic-code"))
    code = dsn.reply_code_of(block)
    section = _section_for(notice, rcpt)
    status = dsn.status_of(block)
    if (status is None or status.endswith(".0.0")) and not diag:
        status = find_status(section) or status
    verdict = _block_reason(
        block, status=status, section=section, notice=notice, product=product
    )
    if action in _DONE or (status or "").startswith("2"):
        verdict = Verdict("delivered", f"Action: {action}, status {status}")
    if status is None and action == "failed":
        status = default_status(verdict.as_stated, permanent=True, reply_code=code)
    failed = action != "delayed" and verdict.reason != "delivered"
    fact = RecipientFact(
        recipient=rcpt,
        action=action,
        status=status,
        reply_code=code,
        diagnostic_code=diag,
        remote_mta=dsn.strip_type(block.get("remote-mta")),
        reason=verdict.reason,
        hard=failed and is_hard(verdict.reason, status=status, reply_code=code),
        reported_status=dsn.reported_status_of(block),
    )
    return replace(fact, why=_why(found_by, verdict, fact))


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


def _report_blocks(ctx: _Context, body: str) -> tuple[list[dict[str, str]], str]:
    """Return DSN recipient blocks and where they were found.

    The report part comes first, then DSN fields written into a text part.
    """
    for part, ctype in zip(ctx.parts, ctx.types, strict=True):
        if ctype in _DS_TYPES:
            blocks = dsn.recipient_blocks(parts.part_text(part))
            if blocks:
                return blocks, f"rfc3464: the {ctype} part"
    for part, ctype in zip(ctx.parts, ctx.types, strict=True):
        if (
            ctype.startswith("text/")
            and ctype != "text/html"
            and not part.is_multipart()
        ):
            text = body if part is ctx.parts[0] else parts.part_text(part)
            if dsn.has_report_fields(text):
                blocks = dsn.recipient_blocks(text)
                return blocks, f"rfc3464: DSN fields in a {ctype} part"
    return [], ""


def _structured(
    ctx: _Context, body: str, suspect: bool, product: str | None
) -> Classification | None:
    has_ds = any(t in _DS_TYPES for t in ctx.types)
    if not (has_ds or ctx.report_type == "delivery-status" or suspect):
        return None
    notice = freetext.notice_text(body)
    blocks, found_by = _report_blocks(ctx, body)
    if not blocks:
        return None
    facts = [_block_fact(b, notice, found_by, product) for b in blocks]
    if len(facts) == 1 and facts[0].recipient is None:
        # a report block without Final-Recipient: the returned message's
        # only recipient, as for a free-text notice that names none
        found, by = _fallback_recipient(ctx, body[len(notice) :], notice)
        if found and facts[0].why is not None:
            why = replace(facts[0].why, found_by=f"{found_by}; {by}")
            facts = [replace(facts[0], recipient=found[0].address, why=why)]
    kind = _kind_of(facts)
    return _result(
        ctx,
        kind,
        f"{found_by}: {_KIND_BASIS[kind]}",
        recipients=tuple(facts),
        original_message_id=_original_id(ctx, body[len(notice) :]),
    )


_KIND_BASIS = {
    "bounce": "a recipient failed (Action: failed, or a 4/5.x.x status without an action)",
    "delay": "every recipient is Action: delayed",
    "delivery_report": "every recipient was delivered, relayed or expanded",
}


def _notice_fact(
    item: freetext.NoticeRecipient | None,
    notice: str,
    *,
    temp: bool,
    warning: bool,
    found_by: str,
    product: products.Product | None,
) -> RecipientFact:
    """One recipient of a free-text notice; `warning`: delivery is still retried."""
    final = not warning
    rcpt = item.address if item else None
    explanation = item.explanation if item else notice
    status, code = freetext.codes_of(explanation, notice)
    name = product.name if product else None
    verdict = judge_reason(status=status, text=explanation, final=final, product=name)
    if verdict.reason == "undefined":
        found = judge_reason(status=status, text=notice, final=final, product=name)
        verdict = replace(found, rule=f"{found.rule} (in the whole notice)")
    if status is None:
        status = default_status(verdict.as_stated, permanent=not temp, reply_code=code)
    fact = RecipientFact(
        recipient=rcpt,
        action="delayed" if warning else "failed",
        status=status,
        reply_code=code,
        diagnostic_code=freetext.diagnostic_lines(explanation, rcpt or ""),
        remote_mta=freetext.remote_mta(explanation) or freetext.remote_mta(notice),
        reason=verdict.reason,
        hard=final and is_hard(verdict.reason, status=status, reply_code=code),
    )
    return replace(fact, why=_why(found_by, verdict, fact))


def _notice_recipients(
    ctx: _Context, notice: str, product: products.Product | None
) -> tuple[list[freetext.NoticeRecipient], str]:
    """Return a notice's failed recipients and which reader found them."""
    excluded = _addresses(ctx.msg, "To", "From", "Return-Path", "Reply-To")
    failed = sorted(_addresses(ctx.msg, "X-Failed-Recipients"))
    if product is not None and not failed:
        found = products.read_recipients(product, notice, excluded=excluded)
        if found:
            return found, f"{product.name}: {product.title}'s recipient lines"
    found = freetext.notice_recipients(notice, failed=failed, excluded=excluded)
    if failed:
        return found, "generic free text: the X-Failed-Recipients header"
    return found, "generic free text: addresses the notice names"


# A list's post names the list in To:, not the member whose delivery failed.
_LIST_LINE_RE = re.compile(r"^list-(?:id|post)[ \t]*:", re.I | re.M)
_TO_LINE_RE = re.compile(r"^(?:to|cc)[ \t]*:[ \t]*(.*(?:\n[ \t]+.*)*)", re.I | re.M)


def _returned_recipients(ctx: _Context, tail: str) -> list[str]:
    """Return the To/Cc addresses of the returned original message.

    Read from its message/rfc822 part, else its text/rfc822-headers part, else
    the header block quoted after the notice; none for a mailing list's post.
    """
    values: list[str] = []
    for part, ctype in zip(ctx.parts, ctx.types, strict=True):
        if ctype == "message/rfc822":
            inner = parts.attached_message(part)
            if inner is not None:
                if parts.header(inner, "List-Id") or parts.header(inner, "List-Post"):
                    return []
                values = [parts.header(inner, "To"), parts.header(inner, "Cc")]
        elif ctype in _HEADER_TYPES:
            text = parts.part_text(part)[:16384]
            if _LIST_LINE_RE.search(text):
                return []
            values = _TO_LINE_RE.findall(text)[:2]
        if values:
            break
    if not values and tail:
        if _LIST_LINE_RE.search(tail[:16384]):
            return []
        values = _TO_LINE_RE.findall(tail[:16384])[:1]  # its first header block
    try:
        pairs = getaddresses([v for v in values if v])
    except Exception:
        return []
    return list(dict.fromkeys(a.lower() for _, a in pairs if "@" in a))


def _fallback_recipient(
    ctx: _Context, tail: str, notice: str
) -> tuple[list[freetext.NoticeRecipient], str]:
    """A notice that names no recipient: the only address its subject names,
    else the returned message's only recipient."""
    excluded = _addresses(ctx.msg, "To", "From", "Return-Path", "Reply-To")
    named = {a.lower() for a in freetext.addresses_in(ctx.subject)} - excluded
    if len(named) == 1:
        item = freetext.NoticeRecipient(named.pop(), notice[:2000])
        return [item], "the only address the subject names (the notice names none)"
    found = [a for a in _returned_recipients(ctx, tail) if a not in excluded]
    if len(found) != 1:
        return [], ""
    item = freetext.NoticeRecipient(found[0], notice[:2000])
    return [item], "the returned message's only recipient (the notice names none)"


def _free_text_bounce(
    ctx: _Context, body: str, basis: str, product: products.Product | None
) -> Classification:
    notice = freetext.notice_text(body)
    if product is None:
        claimed = products.by_body(notice)
        if claimed is not None:
            product, marker = claimed
            basis = f"{basis}; {product.title}'s layout ({marker})"
    found, found_by = _notice_recipients(ctx, notice, product)
    if not found:
        found, by = _fallback_recipient(ctx, body[len(notice) :], notice)
        found_by = by or found_by
    warning = freetext.is_warning(subject=ctx.subject, notice=notice)
    temp = warning or freetext.is_temporary(ctx.subject + "\n" + notice)

    def fact(item: freetext.NoticeRecipient | None, by: str) -> RecipientFact:
        return _notice_fact(
            item, notice, temp=temp, warning=warning, found_by=by, product=product
        )

    facts = [fact(item, found_by) for item in found] or [
        fact(None, "no recipient found")
    ]
    if warning:
        basis = f"{basis}; it says delivery is still being retried"
    return _result(
        ctx,
        "delay" if warning else "bounce",
        basis,
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
            f"an Amazon SES {event.kind} notification (JSON)",
            recipients=event.recipients,
            feedback_type=event.feedback_type,
            original_message_id=event.message_id,
        )
    hotmail = feedback.hotmail_recipient(ctx.msg, ctx.parts)
    if hotmail is not None:
        return _complaint(ctx, hotmail, "abuse", "a Hotmail/Outlook.com JMRP report")
    if feedback.is_unsubscribe_request(ctx.msg):
        sender = sorted(_addresses(ctx.msg, "From"))
        return _complaint(
            ctx,
            sender[0] if sender else None,
            "opt-out",
            "a mail client's one-click unsubscribe (X-Apple-Unsubscribe)",
        )
    return None


def _complaint(
    ctx: _Context, rcpt: str | None, ftype: str, basis: str
) -> Classification:
    return _result(
        ctx,
        "complaint",
        basis,
        recipients=(feedback.complaint_fact(rcpt),),
        feedback_type=ftype,
        original_message_id=_original_id(ctx, ""),
    )


def _auto_reply(ctx: _Context, body: str, marker: str) -> Classification:
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
        f"an automatic reply: {marker}",
        recipients=(fact,),
        auto_reply_until=until,
        original_message_id=parts.message_id_in(parts.header(ctx.msg, "In-Reply-To")),
    )


def _believed(claim: products.Claim, *, basis: str, evidence: bool | None) -> bool:
    """Return True when a product's claim on a message is to be believed.

    A header of the product's own that proves a notice (FML's list headers,
    Exchange's X-MS-Embedded-Report, Verizon's sender) is enough, even from a
    sender that does not look like a mail daemon. From a person (no daemon
    sender and no failure subject, or a forward) nothing else counts: a person
    may quote a notice. Otherwise the layout's own body marker is enough, and
    a subject line or a hint (a header the product, or the receiving side,
    puts on all mail) needs the message to read as a notice already.
    """
    if claim.own_header:
        return True
    if evidence is False:
        return False
    return claim.marker is not None or bool(basis)


def classify(msg: Message, *, text: str | None = None) -> Classification:
    """Classify a parsed message; may raise on pathological input. `text` is its
    decoded text body if the caller has one (read for unsubscribe requests)."""
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
    claims = products.by_headers(
        ctx.heads, _received(msg) if "received" in ctx.heads else ""
    )
    reportish = (
        ctx.report_type == "delivery-status" or ctx.types[0] == "multipart/report"
    )
    needs_body = evidence is None or evidence or reportish or claims or _may_be_ses(ctx)
    body = parts.first_text(ctx.parts) if needs_body else ""
    basis = ""
    if evidence:
        basis = (
            f'a mail daemon\'s sender ("{ctx.sender[:60]}") with a failure subject'
            f' ("{ctx.subject[:60]}")'
        )
    elif evidence is None:
        wording = freetext.bounce_wording(body)
        if wording:
            basis = f'the body uses the wording of a failure notice ("{wording}")'
        elif dsn.has_report_fields(body):
            basis = "DSN fields (Final-Recipient, Action, Status) in the body"
    claimed = products.choose(claims, body)
    product = None
    if claimed is not None and _believed(claimed, basis=basis, evidence=evidence):
        product = claimed.product
        basis = f"{basis}; {claimed.describe()}" if basis else claimed.describe()
    suspect = bool(basis)
    found = _structured(ctx, body, suspect, product.name if product else None)
    if found is not None:
        return found
    found = _other_complaint(ctx, body)
    if found is not None:
        return found
    if suspect or ctx.report_type == "delivery-status":
        return _free_text_bounce(
            ctx,
            body,
            basis or "report-type=delivery-status without DSN fields",
            product,
        )
    marker = autoreply.auto_reply_marker(ctx.heads, subject=ctx.subject)
    if marker is not None:
        return _auto_reply(ctx, body or parts.first_text(ctx.parts), marker)
    return _email(ctx, body, text)


def _email(ctx: _Context, body: str, text: str | None) -> Classification:
    """Ordinary mail, and whether it asks to be unsubscribed (`text`: the decoded
    text body when the caller has it, so it is not decoded twice)."""
    asked = unsubscribe.request(
        subject=ctx.subject,
        recipients=[
            parts.indexed(ctx.heads, name)
            for name in ("To", "Cc", "Delivered-To", "X-Original-To")
        ],
        body=lambda: body or text or parts.first_text(ctx.parts),
    )
    basis = "no report, notice or auto-reply marker"
    if asked:
        basis = f"{basis}; an unsubscribe request ({asked})"
    return _result(ctx, "email", basis, unsubscribe=asked)


def fallback(msg: Message) -> Classification:
    """Return the most that can be said when classification failed."""
    try:
        subject = parts.decoded(parts.header(msg, "Subject"))
        heads = parts.header_index(msg)
        return Classification(
            kind="email", is_reply=is_reply_to_earlier(heads, subject)
        )
    except Exception:
        return Classification(kind="email", is_reply=False)
