"""Turn one raw message into the rows pmail stores. Pure: runs in worker processes.

Everything CPU-heavy happens here (parse, classify, split out attachments, verify the
reassembly, compress), so the database writer only copies finished rows.
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from pmail_cli.mail.compress import Compressed, Dictionary, compress, compress_blob
from pmail_cli.mail.parse import (
    ParsedMessage,
    clean_text,
    header_value,
    html_text,
    parse_message,
)
from pmail_cli.mail.rawsplit import verified_split

if TYPE_CHECKING:  # imported where used: the writer process never classifies
    from pmail_cli.classify import Classification, RecipientFact

DIRECTIONS = ("auto", "inbound", "outbound")


@dataclass(frozen=True, slots=True)
class PrepareContext:
    """What a worker needs to know about the tenant to prepare its messages."""

    tenant_id: str
    direction: str  # auto | inbound | outbound
    account_emails: frozenset[str] = frozenset()
    dictionary: Dictionary | None = None
    email_account_id: str | None = None
    campaign_header: str = "X-PM-Campaign-Id"
    lead_header: str = "X-PM-Lead-Id"


@dataclass(frozen=True, slots=True)
class PreparedAttachment:
    """An attachments row plus its blob (compressed) for the per-tenant store."""

    part_index: int
    filename: str | None
    mime_type: str
    size_bytes: int
    disposition: str | None
    content_id: str | None
    sha256: bytes
    blob: Compressed


@dataclass(slots=True)
class PreparedMessage:
    """Every value of one message's rows, ready to COPY."""

    storage_key: str
    origin: str
    raw_sha256: bytes
    raw_size: int
    message_id: str | None
    in_reply_to: str | None
    references: list[str]
    direction: str
    message_type: str
    status: str
    from_email: str | None
    from_name: str | None
    to_email: str | None
    cc_email: str | None
    subject: str | None
    sent_at: datetime | None
    campaign_id: str | None
    lead_id: str | None
    email_account_id: str | None
    problems: list[str]
    content_text: str | None
    raw: Compressed
    raw_form: str
    splices_json: str | None
    attachments: list[PreparedAttachment] = field(default_factory=list)
    is_reply: bool = False
    original_message_id: str | None = None
    feedback_type: str | None = None
    auto_reply_until: date | None = None
    link_keys: list[str] = field(default_factory=list)
    facts: tuple[RecipientFact, ...] = ()


def storage_key_for(tenant_id: str, raw: bytes) -> str:
    """Derive a message's storage key from its tenant and its exact bytes."""
    digest = hashlib.sha256(_uuid_bytes(tenant_id))
    digest.update(raw)  # no copy of raw, unlike hashing tenant + raw
    return digest.hexdigest()[:32]


@functools.lru_cache(maxsize=64)
def _uuid_bytes(tenant_id: str) -> bytes:
    return uuid.UUID(tenant_id).bytes


def _direction(ctx: PrepareContext, parsed: ParsedMessage) -> str:
    if ctx.direction != "auto":
        return ctx.direction
    sender = (parsed.from_email or "").split(",")[0].strip()
    return "outbound" if sender and sender in ctx.account_emails else "inbound"


def _uuid_header(parsed: ParsedMessage, name: str) -> str | None:
    value = header_value(parsed.msg, name)
    if value is None:
        return None
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        return None


def _attachments(parsed: ParsedMessage) -> list[PreparedAttachment]:
    return [
        PreparedAttachment(
            part_index=part.part_index,
            filename=part.filename,
            mime_type=part.mime_type,
            size_bytes=len(part.data),
            disposition=part.disposition,
            content_id=part.content_id,
            sha256=part.sha256,
            blob=compress_blob(part.data),
        )
        for part in parsed.attachments
    ]


def _classify(parsed: ParsedMessage, direction: str) -> Classification | None:
    if direction != "inbound" or parsed.msg is None:
        return None
    from pmail_cli.classify import classify_message  # workers only

    return classify_message(parsed.msg)


def link_keys(parsed: ParsedMessage, found: Classification | None) -> list[str]:
    """md5 of the Message-IDs this message may answer, best candidate first.

    Bounces and complaints point at the original returned inside them; replies at
    In-Reply-To, then References from the last one back.
    """
    ordered: list[str] = []
    if found is not None and found.original_message_id:
        ordered.append(found.original_message_id)
    if parsed.in_reply_to:
        ordered.append(parsed.in_reply_to)
    ordered.extend(reversed(parsed.references))
    keys: list[str] = []
    for message_id in ordered:
        key = hashlib.md5(clean_text(message_id).encode("utf-8")).hexdigest()
        if key not in keys:
            keys.append(key)
    return keys[:50]


def prepare_message(raw: bytes, origin: str, ctx: PrepareContext) -> PreparedMessage:
    """Parse, classify, split and compress one message; never raises on bad mail."""
    parsed = parse_message(raw)
    direction = _direction(ctx, parsed)
    split = verified_split(raw, parsed.attachments)
    classification = _classify(parsed, direction)
    outbound = direction == "outbound"
    return PreparedMessage(
        storage_key=storage_key_for(ctx.tenant_id, raw),
        origin=origin,
        raw_sha256=hashlib.sha256(raw).digest(),
        raw_size=len(raw),
        message_id=parsed.message_id,
        in_reply_to=parsed.in_reply_to,
        references=parsed.references,
        direction=direction,
        message_type=classification.kind if classification else "email",
        status="sent" if outbound else "received",
        from_email=parsed.from_email,
        from_name=parsed.from_name,
        to_email=parsed.to_email,
        cc_email=parsed.cc_email,
        subject=parsed.subject,
        sent_at=parsed.sent_at,
        campaign_id=_uuid_header(parsed, ctx.campaign_header) if outbound else None,
        lead_id=_uuid_header(parsed, ctx.lead_header) if outbound else None,
        email_account_id=ctx.email_account_id,
        problems=parsed.problems,
        content_text=parsed.text if parsed.text is not None else html_text(parsed.html),
        raw=compress(split.skeleton, ctx.dictionary),
        raw_form="spliced" if split.splices else "whole",
        splices_json=json.dumps([s.to_json() for s in split.splices])
        if split.splices
        else None,
        attachments=_attachments(parsed),
        is_reply=classification.is_reply
        if classification
        else bool(parsed.in_reply_to),
        original_message_id=classification.original_message_id
        if classification
        else None,
        feedback_type=classification.feedback_type if classification else None,
        auto_reply_until=classification.auto_reply_until if classification else None,
        link_keys=link_keys(parsed, classification) if direction == "inbound" else [],
        facts=classification.recipients if classification else (),
    )


def _fallback(
    raw: bytes, origin: str, ctx: PrepareContext, exc: Exception
) -> PreparedMessage:
    """Keep a message that broke the preparation: raw whole, flagged, nothing parsed."""
    return PreparedMessage(
        storage_key=storage_key_for(ctx.tenant_id, raw),
        origin=origin,
        raw_sha256=hashlib.sha256(raw).digest(),
        raw_size=len(raw),
        message_id=None,
        in_reply_to=None,
        references=[],
        direction="inbound" if ctx.direction == "auto" else ctx.direction,
        message_type="email",
        status="received" if ctx.direction != "outbound" else "sent",
        from_email=None,
        from_name=None,
        to_email=None,
        cc_email=None,
        subject=None,
        sent_at=None,
        campaign_id=None,
        lead_id=None,
        email_account_id=ctx.email_account_id,
        problems=[f"not parsed, internal error: {type(exc).__name__}: {exc}"[:300]],
        content_text=None,
        raw=compress(raw, ctx.dictionary),
        raw_form="whole",
        splices_json=None,
    )


def prepare_batch(
    items: Sequence[tuple[bytes, str]], ctx: PrepareContext
) -> list[PreparedMessage]:
    """Prepare a batch of (raw, origin) pairs, in order; every message comes back."""
    prepared: list[PreparedMessage] = []
    for raw, origin in items:
        try:
            prepared.append(prepare_message(raw, origin, ctx))
        except Exception as exc:  # a parser bug must not lose the message
            prepared.append(_fallback(raw, origin, ctx, exc))
    return prepared
