"""Turn one raw message into the rows pmail stores. Pure: runs in worker processes.

Everything CPU-heavy happens here (parse, classify, split out attachments, verify the
reassembly, compress), so the database writer only copies finished rows.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pmail_cli import vocab
from pmail_cli.batch import WorkItem
from pmail_cli.mail.compress import Compressed, Dictionary, compress, compress_blob
from pmail_cli.mail.parse import (
    MAX_ADDRESS,
    Message,
    ParsedMessage,
    clean_text,
    header_fields,
    header_value,
    headers_document,
    html_text,
    parse_message,
)
from pmail_cli.mail.rawsplit import verified_split
from pmail_cli.mail.searchtext import SearchText, search_text
from pmail_cli.output import counted
from pmail_cli.rows import (
    AttachmentRow,
    BlobRow,
    ContentRow,
    FactRow,
    MessageRow,
    text_safe,
)

if TYPE_CHECKING:  # imported where used: the writer process never classifies
    from pmail_cli.classify import Classification

DIRECTIONS = vocab.INGEST_DIRECTIONS


@dataclass(frozen=True, slots=True)
class PrepareContext:
    """What a worker needs to know about the tenant to prepare its messages."""

    tenant_id: str
    direction: str  # auto | inbound | outbound
    accounts: Mapping[str, str] = field(default_factory=dict)  # address -> account id
    dictionary: Dictionary | None = None
    email_account_id: str | None = None
    campaign_header: str = "X-PM-Campaign-Id"
    lead_header: str = "X-PM-Lead-Id"
    sql_bodies: bool = True  # fill content_html and headers (docs/sql.md)


@dataclass(slots=True)
class PreparedMessage:
    """Every row one message becomes, ready for the batch writer."""

    message: MessageRow
    content: ContentRow | None = None  # None: a message without content (legacy refs)
    attachments: list[AttachmentRow] = field(default_factory=list)
    blobs: list[BlobRow] = field(default_factory=list)  # the attachments' files
    facts: list[FactRow] = field(default_factory=list)
    # what a source's own mapping found, for its hook: (kind, table, key, detail)
    notes: list[tuple[str, str, str, str]] = field(default_factory=list)

    @property
    def storage_key(self) -> str:
        """The message's storage key."""
        return self.message.storage_key

    def text_safe(self) -> PreparedMessage:
        """The same rows with every text value storable (rows.text_safe)."""
        return dataclasses.replace(
            self,
            message=text_safe(self.message),
            content=text_safe(self.content) if self.content else None,
            attachments=[text_safe(a) for a in self.attachments],
            facts=[text_safe(f) for f in self.facts],
        )

    @property
    def origin(self) -> str:
        """Where the message came from."""
        return self.message.source or ""

    @property
    def flagged(self) -> bool:
        """True when something was wrong with the message."""
        return bool(self.message.parse_problems)

    @property
    def raw_size(self) -> int:
        """Bytes of the message as it arrived."""
        return self.content.raw_size_bytes if self.content is not None else 0

    @property
    def stored_size(self) -> int:
        """Bytes stored for the raw form (attachments not counted)."""
        return self.content.compressed_size_bytes if self.content is not None else 0


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
    return "outbound" if sender and sender in ctx.accounts else "inbound"


def _sending_account(
    ctx: PrepareContext, parsed: ParsedMessage, outbound: bool
) -> str | None:
    """The account an outbound message was sent from, when its From is one of them."""
    if not outbound:
        return None
    return ctx.accounts.get((parsed.from_email or "").split(",")[0].strip())


def _uuid_header(parsed: ParsedMessage, name: str) -> str | None:
    value = header_value(parsed.msg, name)
    if value is None:
        return None
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        return None


def _attachments(
    key: str, parsed: ParsedMessage
) -> tuple[list[AttachmentRow], list[BlobRow]]:
    rows: list[AttachmentRow] = []
    blobs: list[BlobRow] = []
    for part in parsed.attachments:
        rows.append(
            AttachmentRow(
                parent_storage_key=key,
                part_index=part.part_index,
                size_bytes=len(part.data),
                sha256=part.sha256,
                filename=part.filename,
                mime_type=part.mime_type,
                storage_disposition=part.disposition,
                content_id=part.content_id,
            )
        )
        blobs.append(blob_row(part.sha256, part.data))
    return rows, blobs


def _let_go_of_large_payloads(parsed: ParsedMessage) -> None:
    """Drop the encoded text of large leaf parts once split and classified: only
    headers and the bodies already read are used after that, and a big attachment
    would otherwise be held twice more (its text, beside its bytes and the raw)
    while its file is compressed."""
    parts = [parsed.msg] if parsed.msg is not None else []
    while parts:  # not Message.walk: that recurses, and mail can nest deep
        part = parts.pop()
        payload = vars(part).get("_payload")
        if isinstance(payload, list):
            parts.extend(p for p in payload if isinstance(p, Message))
        elif isinstance(payload, str) and len(payload) > LARGE_PAYLOAD:
            part.set_payload("")
    parsed.attachments = [
        dataclasses.replace(a, encoded="") if len(a.encoded) > LARGE_PAYLOAD else a
        for a in parsed.attachments
    ]


LARGE_PAYLOAD = 1 << 20


def blob_row(sha256: bytes, data: bytes) -> BlobRow:
    """The attachment_blobs row of one file (compressed when that helps)."""
    packed = compress_blob(data)
    return BlobRow(
        sha256=sha256,
        size_bytes=len(data),
        compressed_size_bytes=len(packed.data),
        compression=packed.compression,
        data=packed.data,
    )


def fact_rows(
    key: str, found: Classification | None, problems: list[str] | None = None
) -> list[FactRow]:
    """The delivery_facts rows of a classified message: one per failed recipient. A
    recipient longer than MAX_ADDRESS is no address: the row keeps its facts without
    it (noted in `problems`), so it suppresses nothing."""
    if found is None:
        return []
    overlong = sum(len(f.recipient or "") > MAX_ADDRESS for f in found.recipients)
    if overlong and problems is not None:
        problems.append(
            f"address longer than {MAX_ADDRESS} characters left out: "
            f"{counted(overlong, 'failed recipient')}"
        )
    return [
        FactRow(
            storage_key=key,
            recipient_index=i,
            reason=f.reason,
            hard=f.hard,
            recipient=_clean(f.recipient)
            if len(f.recipient or "") <= MAX_ADDRESS
            else None,
            action=f.action,
            status=f.status,
            reply_code=f.reply_code,
            diagnostic_code=_clean(f.diagnostic_code),
            remote_mta=_clean(f.remote_mta),
            reported_status=f.reported_status,
        )
        for i, f in enumerate(found.recipients)
    ]


def _clean(value: str | None) -> str | None:
    return clean_text(value) if value else None


def _classify(parsed: ParsedMessage, direction: str) -> Classification | None:
    if direction != "inbound" or parsed.msg is None:
        return None
    from pmail_cli.classify import classify_message  # workers only

    return classify_message(parsed.msg, text=parsed.text)


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
    return link_ids(ordered)


def link_ids(message_ids: list[str]) -> list[str]:
    """md5 of each Message-ID (what linking looks parents up by), repeats dropped,
    at most 50, in the order given."""
    keys: list[str] = []
    for message_id in message_ids:
        key = hashlib.md5(clean_text(message_id).encode("utf-8")).hexdigest()
        if key not in keys:
            keys.append(key)
    return keys[:50]


def content_row(
    key: str, raw: bytes, stored: bytes, ctx: PrepareContext, *, splices: str | None
) -> ContentRow:
    """The email_content row of a raw message (stored: what raw_data will hold)."""
    packed: Compressed = compress(stored, ctx.dictionary)
    return ContentRow(
        storage_key=key,
        raw_size_bytes=len(raw),
        compressed_size_bytes=len(packed.data),
        raw_form="spliced" if splices else "whole",
        compression=packed.compression,
        raw_sha256=hashlib.sha256(raw).digest(),
        raw_data=packed.data,
        raw_splices=splices,
        dict_id=packed.dict_id,
    )


def body_text(parsed: ParsedMessage) -> str | None:
    """content_text: the text part, else the HTML part's visible text."""
    return parsed.text if parsed.text is not None else html_text(parsed.html)


def stored_search_text(raw: bytes) -> SearchText:
    """The extra search text of a stored message's raw bytes, as prepare_message
    finds it (the search_extra backfill)."""
    parsed = parse_message(raw)
    return search_text(parsed, body_text(parsed))


def sql_columns(parsed: ParsedMessage) -> tuple[str | None, str]:
    """email_content's content_html and headers (JSON text) of a parsed message."""
    return parsed.html, headers_document(header_fields(parsed.msg))


def raw_sql_columns(raw: bytes) -> tuple[str | None, str]:
    """The SQL columns of raw bytes, for mail whose preparation broke: what a parse gives,
    else no html and `{}` (docs/sql.md: the raw message stays the truth)."""
    try:
        return sql_columns(parse_message(raw))
    except Exception:  # the same bug that broke the preparation
        return None, "{}"


def prepare_message(item: WorkItem, ctx: PrepareContext) -> PreparedMessage:
    """Parse, classify, split and compress one message; never raises on bad mail."""
    raw = item.raw or b""
    key = item.key or storage_key_for(ctx.tenant_id, raw)
    parsed = parse_message(raw)
    direction = _direction(ctx, parsed)
    split = verified_split(raw, parsed.attachments)
    found = _classify(parsed, direction)
    outbound = direction == "outbound"
    _let_go_of_large_payloads(parsed)
    attachments, blobs = _attachments(key, parsed)
    splices = (
        json.dumps([s.to_json() for s in split.splices]) if split.splices else None
    )
    content = content_row(key, raw, split.skeleton, ctx, splices=splices)
    content.content_text = body_text(parsed)
    if ctx.sql_bodies:
        content.content_html, content.headers = sql_columns(parsed)
    found_text = search_text(parsed, content.content_text)
    content.search_extra, content.search_enclosed = (
        found_text.extra,
        found_text.enclosed,
    )
    facts = fact_rows(key, found, parsed.problems)
    message = MessageRow(
        storage_key=key,
        direction=direction,
        status="sent" if outbound else "received",
        message_type=found.kind if found else "email",
        message_id=parsed.message_id,
        in_reply_to=parsed.in_reply_to,
        references_ids=parsed.references or None,
        email_account_id=ctx.email_account_id
        or _sending_account(ctx, parsed, outbound),
        campaign_id=_uuid_header(parsed, ctx.campaign_header) if outbound else None,
        lead_id=_uuid_header(parsed, ctx.lead_header) if outbound else None,
        from_email=parsed.from_email,
        from_name=parsed.from_name,
        to_email=parsed.to_email,
        cc_email=parsed.cc_email,
        subject=parsed.subject,
        sent_at=parsed.sent_at,
        attachment_count=len(attachments),
        parse_problems=parsed.problems or None,
        source=item.origin,
        is_reply=found.is_reply if found else bool(parsed.in_reply_to),
        original_message_id=found.original_message_id if found else None,
        feedback_type=found.feedback_type if found else None,
        auto_reply_until=found.auto_reply_until if found else None,
        link_keys=(link_keys(parsed, found) or None)
        if direction == "inbound"
        else None,
        raw_size_bytes=len(raw),
        unsubscribe=found.unsubscribe if found else None,
    )
    message.bounce_class, message.bounce_reason = bounce_summary(
        message.message_type, facts
    )
    return PreparedMessage(message, content, attachments, blobs, facts)


def bounce_summary(
    kind: str, facts: Sequence[FactRow]
) -> tuple[str | None, str | None]:
    """(hard | soft, reason) of a bounce: hard when any recipient is; the reason of the
    first hard recipient, else of the first. (None, None) for everything else."""
    if kind != "bounce":
        return None, None
    deciding = next((f for f in facts if f.hard), facts[0] if facts else None)
    hard = deciding is not None and deciding.hard
    return ("hard" if hard else "soft"), (deciding.reason if deciding else None)


def _fallback(item: WorkItem, ctx: PrepareContext, exc: Exception) -> PreparedMessage:
    """Keep a message that broke the preparation: raw whole, flagged, nothing parsed."""
    raw = item.raw or b""
    key = item.key or storage_key_for(ctx.tenant_id, raw)
    direction = "inbound" if ctx.direction == "auto" else ctx.direction
    message = MessageRow(
        storage_key=key,
        direction=direction,
        status="sent" if direction == "outbound" else "received",
        email_account_id=ctx.email_account_id,
        parse_problems=[
            f"not parsed, internal error: {type(exc).__name__}: {exc}"[:300]
        ],
        source=item.origin,
        raw_size_bytes=len(raw),
    )
    content = content_row(key, raw, raw, ctx, splices=None)
    if ctx.sql_bodies:
        content.content_html, content.headers = raw_sql_columns(raw)
    return PreparedMessage(message, content)


def prepare_batch(
    items: Sequence[WorkItem], ctx: PrepareContext
) -> list[PreparedMessage]:
    """Prepare a batch of work items, in order; every message comes back."""
    prepared: list[PreparedMessage] = []
    for item in items:
        try:
            prepared.append(prepare_message(item, ctx).text_safe())
        except Exception as exc:  # a parser bug must not lose the message
            prepared.append(_fallback(item, ctx, exc).text_safe())
    return prepared
