"""Legacy rows as the rows pmail stores. Pure: runs in workers.

The old queue handler kept no raw message: a legacy message is a row of
`content_inbox_message_refs`, its headers/text/HTML in `content_objects`, and its
files in the legacy `attachments` table (../shared/LEGACY.md). pmail keeps those
legacy columns exactly, as one compressed JSON document in `raw_data` (raw_form
`legacy`, compressed with the tenant's dictionary like any raw message), stores the
files once per tenant like every attachment, and fills the message columns from the
legacy values (normalised as docs/migrate-legacy.md says). `rebuild_message` turns
the legacy columns back into a standard RFC 5322 message for export and show.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from typing import TYPE_CHECKING

from pmail_cli import vocab
from pmail_cli.batch import WorkItem
from pmail_cli.mail.compress import compress
from pmail_cli.mail.legacy_bundle import STRUCTURAL, bundle_json, header_pairs
from pmail_cli.mail.parse import (
    MAX_ADDRESS,
    addresses,
    clean_text,
    first_id,
    headers_document,
    html_text,
    message_ids,
    parse_date,
)
from pmail_cli.mail.prepare import (
    PrepareContext,
    PreparedMessage,
    blob_row,
    fact_rows,
    link_ids,
)
from pmail_cli.rows import AttachmentRow, BlobRow, ContentRow, MessageRow

if TYPE_CHECKING:
    from pmail_cli.classify import Classification

MESSAGE_TYPES = vocab.MESSAGE_TYPES
_INBOUND = {"inbound", "in", "incoming", "received"}
_OUTBOUND = {"outbound", "out", "outgoing", "sent"}
KNOWN_STATUSES = frozenset(vocab.STATUSES)
_KEY_ID = re.compile(r"^email_(.+)_\d+$", re.S)
_CLASSIFIED = {None, "bounce", "delay", "complaint", "auto_reply"}


@dataclass(frozen=True, slots=True)
class LegacyFile:
    """One row of the legacy attachments table, as the migration reads it."""

    legacy_id: int
    size_bytes: int  # the true size: the length of the bytes
    sha256: bytes
    filename: str | None
    mime_type: str | None
    disposition: str | None
    data: bytes | None = None  # the bytes, when the tenant may not have them yet


@dataclass(frozen=True, slots=True)
class LegacyRow:
    """One legacy message as the source read it: the legacy values, untouched."""

    table: str  # content_inbox_message_refs, or content_objects for content without ref
    storage_key: str
    tenant_id: str
    email_account_id: str | None = None
    campaign_id: str | None = None
    lead_id: str | None = None
    parent_message_id: str | None = None
    direction: str | None = None
    message_type: str | None = None
    from_email: str | None = None
    subject: str | None = None
    to_email: str | None = None
    status: str | None = None
    processed: datetime | None = None
    created: datetime | None = None
    updated: datetime | None = None
    has_content: bool = True
    content_tenant_id: str | None = None
    content_text: str | None = None
    content_html: str | None = None
    headers_json: str | None = None  # the legacy jsonb as text
    raw_size_bytes: int | None = None
    content_created: datetime | None = None
    expires: datetime | None = None
    retention_days: int | None = None
    files: tuple[LegacyFile, ...] = ()
    notes: tuple[tuple[str, str, str, str], ...] = ()  # what the source found itself
    page_end: str | None = None  # the page's last key, on each tenant's last row of it


@dataclass(frozen=True, slots=True)
class LegacyRecord:
    """One legacy message with its values normalised (docs/migrate-legacy.md)."""

    table: str  # content_inbox_message_refs, or content_objects for content without ref
    storage_key: str
    tenant_id: str
    direction: str
    status: str
    message_type: str | None  # None: classify it
    email_account_id: str | None = None
    campaign_id: str | None = None
    lead_id: str | None = None
    parent_message_id: str | None = None
    from_email: str | None = None
    to_email: str | None = None
    subject: str | None = None
    created: datetime | None = None
    updated: datetime | None = None
    processed: datetime | None = None
    has_content: bool = True
    content_text: str | None = None
    content_html: str | None = None
    headers: object = None  # the legacy jsonb: an object, or an array of pairs
    headers_json: str | None = None  # the same, as the text it was read as
    raw_size_bytes: int | None = None
    content_created: datetime | None = None
    expires: datetime | None = None
    retention_days: int | None = None
    files: tuple[LegacyFile, ...] = ()
    problems: tuple[str, ...] = ()  # stored in parse_problems
    notes: tuple[tuple[str, str, str, str], ...] = ()  # (kind, table, key, detail)


def normalise_direction(value: str | None) -> str | None:
    """`inbound`/`outbound` for the spellings the old handler used, else None."""
    word = (value or "").strip().lower()
    if word in _INBOUND:
        return "inbound"
    if word in _OUTBOUND:
        return "outbound"
    return None


def normalise_type(value: str | None) -> str | None:
    """A known message_type in any case, else None (the message is classified)."""
    word = (value or "").strip().lower()
    return word if word in MESSAGE_TYPES else None


def normalise_status(value: str | None) -> str | None:
    """The status trimmed and lower-cased; None when there is none."""
    word = (value or "").strip().lower()
    return word or None


REFS, CONTENT = "content_inbox_message_refs", "content_objects"
ATTACHMENTS = "attachments"
Note = tuple[str, str, str, str]  # (anomaly kind, legacy table, legacy key, detail)
NO_CONTENT = "legacy: no content row (migrated as a message without content)"


def _direction(
    value: str | None, sender: str | None, accounts: Collection[str]
) -> tuple[str, str | None]:
    """The direction, and what to note when it had to be decided by the account rule."""
    found = normalise_direction(value)
    if found is not None:
        return found, None
    own = (sender or "").split(",")[0].strip().lower() in accounts
    chosen = "outbound" if own else "inbound"
    return chosen, f"{value!r} -> {chosen}"


def record_of(row: LegacyRow, accounts: Collection[str]) -> LegacyRecord:
    """Normalise one legacy row by the documented rules, noting every change made.

    `accounts` are the tenant's own addresses: an unknown direction is outbound when
    the message came from one of them, inbound otherwise.
    """
    if row.table == CONTENT:
        return _orphan_record(row, accounts)
    key = row.storage_key
    notes = list(row.notes)
    direction, unknown = _direction(row.direction, row.from_email, accounts)
    if unknown:
        notes.append(("unknown_direction", REFS, key, unknown))
    status = normalise_status(row.status)
    if status is None:
        status = "sent" if direction == "outbound" else "received"
        notes.append(("missing_status", REFS, key, f"NULL -> {status}"))
    elif status not in KNOWN_STATUSES:
        notes.append(("unknown_status", REFS, key, f"{row.status!r} kept"))
    kind = normalise_type(row.message_type)
    if row.message_type is not None and kind is None:
        notes.append(
            ("unknown_message_type", REFS, key, f"{row.message_type!r} -> classified")
        )
    if row.has_content and row.content_tenant_id != row.tenant_id:
        detail = f"content tenant {row.content_tenant_id}, kept {row.tenant_id}"
        notes.append(("tenant_mismatch", CONTENT, key, detail))
    if not row.has_content:
        notes.append(("ref_without_content", REFS, key, "migrated without content"))
    return LegacyRecord(
        table=REFS,
        storage_key=key,
        tenant_id=row.tenant_id,
        direction=direction,
        status=status,
        message_type=kind,
        email_account_id=row.email_account_id,
        campaign_id=row.campaign_id,
        lead_id=row.lead_id,
        parent_message_id=row.parent_message_id,
        from_email=row.from_email,
        to_email=row.to_email,
        subject=row.subject,
        created=row.created,
        updated=row.updated,
        processed=row.processed,
        has_content=row.has_content,
        content_text=row.content_text,
        content_html=row.content_html,
        headers=_headers(row.headers_json),
        headers_json=row.headers_json,
        raw_size_bytes=row.raw_size_bytes,
        content_created=row.content_created,
        expires=row.expires,
        retention_days=row.retention_days,
        files=row.files,
        problems=() if row.has_content else (NO_CONTENT,),
        notes=tuple(notes),
    )


def _headers(text: str | None) -> object:
    return None if text is None else json.loads(text)


def _orphan_record(row: LegacyRow, accounts: Collection[str]) -> LegacyRecord:
    """A content row no message row refers to: the message row comes from its headers."""
    headers = _headers(row.headers_json)
    get = {k.lower(): v for k, v in reversed(header_pairs(headers))}
    sender, _ = addresses([get["from"]] if "from" in get else [])
    to, _ = addresses([get["to"]] if "to" in get else [])
    direction, _ = _direction(None, sender, accounts)
    return LegacyRecord(
        table=CONTENT,
        storage_key=row.storage_key,
        tenant_id=row.tenant_id,
        direction=direction,
        status="sent" if direction == "outbound" else "received",
        message_type=None,
        from_email=sender,
        to_email=to,
        subject=get.get("subject"),
        created=row.created,
        updated=row.created,
        processed=row.created,
        content_text=row.content_text,
        content_html=row.content_html,
        headers=headers,
        headers_json=row.headers_json,
        raw_size_bytes=row.raw_size_bytes,
        content_created=row.created,
        expires=row.expires,
        retention_days=row.retention_days,
        files=row.files,
        notes=(
            *row.notes,
            (
                "content_without_ref",
                CONTENT,
                row.storage_key,
                "message row built from headers",
            ),
        ),
    )


def _first(pairs: Sequence[tuple[str, str]], name: str) -> str | None:
    for key, value in pairs:
        if key.lower() == name:
            return value
    return None


def parent_id(value: str | None) -> str | None:
    """The legacy parent_message_id as a Message-ID: `<…>` as written, bare ones
    wrapped in angle brackets (the old code wrote both)."""
    found = first_id(value)
    if not found or found.startswith("<"):
        return found
    return f"<{found}>" if " " not in found else found


def key_message_id(storage_key: str) -> str | None:
    """The Message-ID inside a legacy key `email_<Message-ID>_<epoch-ms>`, if any."""
    found = _KEY_ID.match(storage_key)
    if not found or not found.group(1).strip():
        return None
    value = found.group(1).strip()
    return value if value.startswith("<") else f"<{value}>"


def display_text(text: str | None, html: str | None) -> str | None:
    """The searchable text: the text body, or the visible text where the old handler
    put the HTML into content_text (or kept only HTML)."""
    if text is not None and (html is None or text != html):
        return clean_text(text)
    return html_text(html) if html else None


def _classify(pairs: list[tuple[str, str]], body: str) -> Classification:
    from pmail_cli.classify import classify_message  # workers only

    msg = Message()
    for name, value in pairs:
        if name.lower() not in STRUCTURAL:
            msg[name] = value
    msg["Content-Type"] = "text/plain; charset=utf-8"
    msg.set_payload(body)
    return classify_message(msg)


def legacy_message_id(storage_key: str, pairs: list[tuple[str, str]]) -> str | None:
    """The Message-ID a migrated message gets: the headers', else the one inside its
    key `email_<Message-ID>_<ms>` (the run stores it; the dry run counts its twins)."""
    found = first_id(_first(pairs, "message-id")) or key_message_id(storage_key)
    return clean_text(found) if found else None


def file_size_note(legacy_id: int, size_bytes: object, true_size: int) -> Note | None:
    """The anomaly of a legacy file whose size_bytes is not the length of its bytes
    (files of messages with content; the others are orphan_attachment)."""
    if size_bytes is not None and int(str(size_bytes)) == true_size:
        return None
    detail = f"legacy size_bytes {size_bytes}, bytes {true_size}"
    return ("attachment_size_mismatch", ATTACHMENTS, str(legacy_id), detail)


def estimate_size(record: LegacyRecord, pairs: list[tuple[str, str]]) -> int:
    """Bytes of the message the legacy row describes, when the row does not say."""
    head = sum(len(k) + len(v.encode()) + 4 for k, v in pairs)
    bodies = sum(
        len(b.encode()) for b in (record.content_text, record.content_html) if b
    )
    return head + bodies + sum(f.size_bytes * 4 // 3 for f in record.files)


def prepare_legacy(item: WorkItem, ctx: PrepareContext) -> PreparedMessage:
    """The rows of one legacy message; never raises on dirty values."""
    assert isinstance(item.record, LegacyRow)
    record = record_of(item.record, ctx.accounts)
    key = record.storage_key
    pairs = header_pairs(record.headers)
    message_id = legacy_message_id(key, pairs)
    in_reply_to = first_id(_first(pairs, "in-reply-to"))
    references = message_ids(_first(pairs, "references"))
    parent = parent_id(record.parent_message_id)
    from_header = _first(pairs, "from")
    header_from, from_name = addresses([from_header] if from_header else [])
    cc, _ = addresses([v for k, v in pairs if k.lower() == "cc"])
    inbound = record.direction == "inbound"
    found = None
    if inbound and record.message_type in _CLASSIFIED:
        body = record.content_text or html_text(record.content_html) or ""
        found = _classify(pairs, body)
    kind = record.message_type or (found.kind if found else "email")
    problems = list(record.problems)
    message = MessageRow(
        storage_key=key,
        direction=record.direction,
        status=record.status,
        message_type=kind,
        message_id=message_id,
        in_reply_to=in_reply_to,
        references_ids=references or None,
        parent_message_id=parent,
        email_account_id=record.email_account_id,
        campaign_id=record.campaign_id,
        lead_id=record.lead_id,
        from_email=_bounded(_lower(record.from_email), problems, "from_email")
        or header_from,
        from_name=from_name,
        to_email=_bounded(
            clean_text(record.to_email) if record.to_email else None,
            problems,
            "to_email",
        ),
        cc_email=cc,
        subject=clean_text(record.subject) if record.subject is not None else None,
        sent_at=parse_date(_first(pairs, "date"), []),
        attachment_count=len(record.files) if record.has_content else 0,
        parse_problems=problems or None,
        source=f"legacy:{record.table}",
        is_reply=found.is_reply if found else bool(in_reply_to or parent),
        original_message_id=found.original_message_id if found else None,
        feedback_type=found.feedback_type if found else None,
        auto_reply_until=found.auto_reply_until if found else None,
        link_keys=_link_keys(found, [parent, in_reply_to, *reversed(references)])
        if inbound
        else None,
        created=record.created,
        updated=record.updated,
        processed=record.processed,
    )
    prepared = PreparedMessage(
        message, facts=fact_rows(key, found), notes=list(record.notes)
    )
    if record.has_content:
        prepared.content = _content(record, pairs, ctx)
        # the message row carries its content's size (reports, validate); a message
        # without content has no size to give (docs/migrate-legacy.md)
        message.raw_size_bytes = prepared.content.raw_size_bytes
        prepared.attachments = _attachment_rows(record)
        prepared.blobs = _blobs(record)
    cleaned = _cleaned(record)
    if cleaned:
        message.parse_problems = [*(message.parse_problems or []), cleaned]
    return prepared


def _attachment_rows(record: LegacyRecord) -> list[AttachmentRow]:
    return [
        AttachmentRow(
            parent_storage_key=record.storage_key,
            part_index=i,
            size_bytes=f.size_bytes,
            sha256=f.sha256,
            filename=clean_text(f.filename) if f.filename else None,
            mime_type=f.mime_type,
            storage_disposition=f.disposition,
        )
        for i, f in enumerate(record.files)
    ]


def _blobs(record: LegacyRecord) -> list[BlobRow]:
    return [blob_row(f.sha256, f.data) for f in record.files if f.data is not None]


def _cleaned(record: LegacyRecord) -> str | None:
    """A problem line when text had to be cleaned for PostgreSQL (NUL, bad UTF-8);
    the exact legacy values stay in raw_data."""
    fields = (record.content_text, record.content_html, record.subject, record.to_email)
    if any(v is not None and clean_text(v) != v for v in fields):
        return "legacy text held NUL or invalid UTF-8; cleaned in the columns"
    return None


def _bounded(value: str | None, problems: list[str], column: str) -> str | None:
    """A legacy address column without the items longer than MAX_ADDRESS: no mailbox
    is that long, and the address indexes cannot hold one (a batch with such a row
    would fail on every run). What is left out is said in `problems`; the exact
    legacy value stays in raw_data."""
    if value is None or len(value) <= MAX_ADDRESS:
        return value
    items = [item.strip() for item in value.split(",")]
    kept = [item for item in items if item and len(item) <= MAX_ADDRESS]
    overlong = sum(len(item) > MAX_ADDRESS for item in items)
    problems.append(
        f"address longer than {MAX_ADDRESS} characters left out: "
        f"{overlong} of legacy {column}"
    )
    return ", ".join(kept) or None


def _lower(value: str | None) -> str | None:
    return clean_text(value).strip().lower() or None if value else None


def _link_keys(
    found: Classification | None, candidates: list[str | None]
) -> list[str] | None:
    """What the message may answer, best first: the original a bounce returns, the
    legacy parent_message_id, In-Reply-To, then References from the last."""
    ordered = [found.original_message_id] if found and found.original_message_id else []
    ordered += [c for c in candidates if c]
    return link_ids(ordered) or None


def legacy_sql_columns(headers: object, html: str | None) -> tuple[str | None, str]:
    """content_html and headers (JSON text) of a legacy row: its own html and its
    headers in either legacy layout (an object loses repeats; pairs keep them)."""
    return (
        clean_text(html) if html is not None else None,
        headers_document(header_pairs(headers)),
    )


def _sql_columns(
    record: LegacyRecord, ctx: PrepareContext
) -> tuple[str | None, str | None]:
    if not ctx.sql_bodies:
        return None, None
    return legacy_sql_columns(record.headers, record.content_html)


def _content(
    record: LegacyRecord, pairs: list[tuple[str, str]], ctx: PrepareContext
) -> ContentRow:
    packed = compress(
        bundle_json(record.headers_json, record.content_text, record.content_html),
        ctx.dictionary,
    )
    html, headers = _sql_columns(record, ctx)
    return ContentRow(
        storage_key=record.storage_key,
        raw_size_bytes=record.raw_size_bytes
        if record.raw_size_bytes is not None and record.raw_size_bytes >= 0
        else estimate_size(record, pairs),
        compressed_size_bytes=len(packed.data),
        raw_form="legacy",
        compression=packed.compression,
        content_text=display_text(record.content_text, record.content_html),
        content_html=html,
        headers=headers,
        raw_data=packed.data,
        dict_id=packed.dict_id,
        expires=record.expires,
        retention_days=record.retention_days,
        created=record.content_created,
    )


def prepare_legacy_batch(
    items: Sequence[WorkItem], ctx: PrepareContext
) -> list[PreparedMessage]:
    """Prepare a batch of legacy records, in order (module-level: sent to workers).

    A record that breaks the mapping is still stored: its legacy columns and files
    as they are, the message row from the record's own values, flagged.
    """
    prepared = []
    for item in items:
        try:
            prepared.append(prepare_legacy(item, ctx).text_safe())
        except Exception as exc:  # a mapping bug must not lose the message
            prepared.append(_fallback(item, ctx, exc).text_safe())
    return prepared


def _fallback(item: WorkItem, ctx: PrepareContext, exc: Exception) -> PreparedMessage:
    row = item.record
    assert isinstance(row, LegacyRow)
    try:
        record = record_of(row, ctx.accounts)
    except Exception:  # even the normalisation broke: keep the row's own values
        record = LegacyRecord(
            table=row.table,
            storage_key=row.storage_key,
            tenant_id=row.tenant_id,
            direction=normalise_direction(row.direction) or "inbound",
            status=normalise_status(row.status) or "received",
            message_type=None,
            has_content=row.has_content,
            content_text=row.content_text,
            content_html=row.content_html,
            headers_json=row.headers_json,
            files=row.files,
        )
    problem = f"not mapped, internal error: {type(exc).__name__}: {exc}"[:300]
    message = MessageRow(
        storage_key=record.storage_key,
        direction=record.direction,
        status=record.status,
        message_type=record.message_type or "email",
        parse_problems=[*record.problems, problem],
        source=f"legacy:{record.table}",
        created=record.created,
        updated=record.updated,
        processed=record.processed,
    )
    prepared = PreparedMessage(message, notes=list(record.notes))
    if record.has_content:
        prepared.content = _content(record, [], ctx)
        message.raw_size_bytes = prepared.content.raw_size_bytes
        prepared.attachments = _attachment_rows(record)
        prepared.blobs = _blobs(record)
    return prepared


def file_sha256(data: bytes) -> bytes:
    """The key an attachment file is stored under."""
    return hashlib.sha256(data).digest()
