"""The rows one stored message becomes: one dataclass per table, field = column.

This is the single table spec of the write path. The batch writer COPYs these
dataclasses into staging tables with the fields as the column list (in field
order, after `tenant_id`, which the writer adds), and the INSERT … SELECT
statements in sql/queries/writer/ take their column lists from here too. Adding a
column is one field here (with a default), the code that fills it, and a
migration (docs/architecture.md).

A column named in a row type's DB_DEFAULTS is left out of a batch's COPY when it is
None in every row, so the table's own default applies (`created` is the time of the commit, on
the server's clock); a source that knows better (a legacy row's own `created`)
sets it.
"""

from __future__ import annotations

import dataclasses
import functools
from datetime import date, datetime
from typing import ClassVar, TypeVar


@dataclasses.dataclass(slots=True)
class MessageRow:
    """email_messages: who, what, when, campaign/lead, direction, type, status."""

    TABLE: ClassVar[str] = "email_messages"
    STAGE: ClassVar[str] = "pmail_stage_messages"
    DB_DEFAULTS: ClassVar[frozenset[str]] = frozenset(
        {"created", "updated", "processed"}
    )

    storage_key: str
    direction: str
    status: str
    message_type: str = "email"
    message_id: str | None = None
    in_reply_to: str | None = None
    references_ids: list[str] | None = None  # NULL rather than empty
    parent_message_id: str | None = None
    parent_storage_key: str | None = None
    email_account_id: str | None = None
    campaign_id: str | None = None
    lead_id: str | None = None
    from_email: str | None = None
    from_name: str | None = None
    to_email: str | None = None
    cc_email: str | None = None
    subject: str | None = None
    sent_at: datetime | None = None
    attachment_count: int = 0
    parse_problems: list[str] | None = None  # NULL when nothing was wrong
    source: str | None = None
    is_reply: bool = False
    original_message_id: str | None = None
    feedback_type: str | None = None
    auto_reply_until: date | None = None
    link_keys: list[str] | None = None
    raw_size_bytes: int | None = None  # a copy of the content row's, for analytics
    bounce_class: str | None = None  # hard | soft, for bounces
    bounce_reason: str | None = None  # the deciding recipient's reason, for bounces
    unsubscribe: str | None = None  # why inbound mail asks to be unsubscribed
    created: datetime | None = None
    updated: datetime | None = None
    processed: datetime | None = None


@dataclasses.dataclass(slots=True)
class ContentRow:
    """email_content: the searchable text, sizes, hash and the compressed raw form."""

    TABLE: ClassVar[str] = "email_content"
    STAGE: ClassVar[str] = "pmail_stage_content"
    DB_DEFAULTS: ClassVar[frozenset[str]] = frozenset({"created"})

    storage_key: str
    raw_size_bytes: int
    compressed_size_bytes: int
    raw_form: str  # whole | spliced | none
    compression: str  # none | zstd | zstd-dict
    content_text: str | None = None
    content_html: str | None = None  # for SQL readers, unless the tenant has it off
    headers: str | None = None  # JSON text (mail.parse.headers_document), the same
    raw_sha256: bytes | None = None
    raw_data: bytes | None = None
    raw_splices: str | None = None  # JSON text
    dict_id: int | None = None
    expires: datetime | None = None
    retention_days: int | None = None
    created: datetime | None = None
    search_extra: str | None = None  # words the body lacks (mail/searchtext.py)
    search_enclosed: str | None = None  # an enclosed message's words


@dataclasses.dataclass(frozen=True, slots=True)
class AttachmentRow:
    """attachments: one attachment part of a message, pointing at its blob."""

    TABLE: ClassVar[str] = "attachments"
    STAGE: ClassVar[str] = "pmail_stage_attachments"

    parent_storage_key: str
    part_index: int
    size_bytes: int
    sha256: bytes
    filename: str | None = None
    mime_type: str | None = None
    storage_disposition: str | None = None
    content_id: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class BlobRow:
    """attachment_blobs: one distinct file, stored once per tenant."""

    TABLE: ClassVar[str] = "attachment_blobs"
    STAGE: ClassVar[str] = "pmail_stage_blobs"

    sha256: bytes
    size_bytes: int
    compressed_size_bytes: int
    compression: str  # none | zstd
    data: bytes


@dataclasses.dataclass(frozen=True, slots=True)
class FactRow:
    """delivery_facts: what a DSN says about one recipient."""

    TABLE: ClassVar[str] = "delivery_facts"
    STAGE: ClassVar[str] = "pmail_stage_facts"

    storage_key: str
    recipient_index: int
    reason: str
    hard: bool
    recipient: str | None = None
    action: str | None = None
    status: str | None = None
    reply_code: int | None = None
    diagnostic_code: str | None = None
    remote_mta: str | None = None
    reported_status: str | None = None  # the DSN's own Status: field (0026)


Row = MessageRow | ContentRow | AttachmentRow | BlobRow | FactRow
ROW_TYPES: tuple[type[Row], ...] = (
    MessageRow,
    ContentRow,
    AttachmentRow,
    BlobRow,
    FactRow,
)


def columns(row_type: type[Row]) -> tuple[str, ...]:
    """The columns of a row type, in field order (without tenant_id)."""
    return tuple(f.name for f in dataclasses.fields(row_type))


def defaulted(row_type: type[Row]) -> frozenset[str]:
    """The columns whose table default applies when a batch leaves them all None."""
    return getattr(row_type, "DB_DEFAULTS", frozenset())


R = TypeVar("R")


def text_safe(row: R) -> R:
    """The row with its text values made storable: PostgreSQL TEXT holds no NUL and
    no lone surrogate. Parsing cleans what it reads; this is the last guard, so a
    value no one thought of never fails a whole batch's COPY."""
    changed: dict[str, object] = {}
    for name in _field_names(type(row)):  # type: ignore[arg-type]
        value = getattr(row, name)
        if type(value) is str:
            if not (value.isascii() and "\x00" not in value) and not _storable(value):
                changed[name] = _clean(value)
        elif (
            type(value) is list
            and value
            and type(value[0]) is str
            and not all(_storable(v) for v in value)
        ):
            changed[name] = [_clean(v) for v in value]
    return dataclasses.replace(row, **changed) if changed else row  # type: ignore[type-var]


@functools.cache
def _field_names(row_type: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(row_type))


def _storable(value: str) -> bool:
    if "\x00" in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _clean(value: str) -> str:
    value = value.replace("\x00", "")
    return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
