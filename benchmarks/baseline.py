"""The straightforward design, as a yardstick for pmail's benchmarks.

This is the original queue handler translated to Python: for each message it reads
the file, parses it with the standard library's ``email`` package, and writes one
transaction holding three kinds of INSERT (the message row, the content row with
text, html and a headers object as plain columns, and one row per attachment with
its decoded bytes). Nothing is compressed, deduplicated or batched, and the raw
message is not kept. Its tables live in their own schema, ``baseline``, so they
never collide with pmail's.

:func:`parse_only` is the other yardstick: parsing the same files with ``email``
in one process and storing nothing.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage, Message, MIMEPart
from pathlib import Path
from typing import Any

import psycopg
from psycopg import pq
from psycopg.types.json import Jsonb

SCHEMA_SQL = """
CREATE SCHEMA IF NOT EXISTS baseline;
CREATE TABLE IF NOT EXISTS baseline.email_messages (
    storage_key varchar(500) PRIMARY KEY,
    tenant_id uuid NOT NULL,
    message_id text,
    from_email varchar(320),
    to_email text,
    subject text,
    direction varchar(20),
    status varchar(50),
    message_type varchar(20),
    campaign_id uuid,
    lead_id uuid,
    parent_message_id text,
    sent_at timestamptz,
    created timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS email_messages_tenant_created
    ON baseline.email_messages (tenant_id, created);
CREATE TABLE IF NOT EXISTS baseline.email_content (
    storage_key varchar(500) PRIMARY KEY
        REFERENCES baseline.email_messages (storage_key),
    tenant_id uuid NOT NULL,
    content_text text,
    content_html text,
    headers jsonb,
    raw_size_bytes integer,
    created timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS baseline.attachments (
    id bigserial PRIMARY KEY,
    parent_storage_key varchar(500) NOT NULL
        REFERENCES baseline.email_content (storage_key),
    tenant_id uuid NOT NULL,
    filename text,
    mime_type text,
    size_bytes integer,
    content bytea,
    storage_disposition text
);
CREATE INDEX IF NOT EXISTS attachments_parent
    ON baseline.attachments (parent_storage_key);
"""

INSERT_MESSAGE = """
INSERT INTO baseline.email_messages (storage_key, tenant_id, message_id, from_email,
    to_email, subject, direction, status, message_type, campaign_id, lead_id,
    parent_message_id, sent_at)
VALUES (%(storage_key)s, %(tenant_id)s, %(message_id)s, %(from_email)s, %(to_email)s,
    %(subject)s, %(direction)s, %(status)s, %(message_type)s, %(campaign_id)s,
    %(lead_id)s, %(parent_message_id)s, %(sent_at)s)
"""

INSERT_CONTENT = """
INSERT INTO baseline.email_content (storage_key, tenant_id, content_text, content_html,
    headers, raw_size_bytes)
VALUES (%(storage_key)s, %(tenant_id)s, %(content_text)s, %(content_html)s,
    %(headers)s, %(raw_size_bytes)s)
"""

INSERT_ATTACHMENT = """
INSERT INTO baseline.attachments (parent_storage_key, tenant_id, filename, mime_type,
    size_bytes, content, storage_disposition)
VALUES (%(parent_storage_key)s, %(tenant_id)s, %(filename)s, %(mime_type)s,
    %(size_bytes)s, %(content)s, %(storage_disposition)s)
"""

TABLE_BYTES = """
SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = 'baseline'
  AND c.relname IN ('email_messages', 'email_content', 'attachments')
"""


@dataclass(frozen=True, slots=True)
class _Attachment:
    filename: str | None
    mime_type: str
    content: bytes
    disposition: str


@dataclass(frozen=True, slots=True)
class _Parsed:
    headers: dict[str, str]
    text: str | None
    html: str | None
    attachments: list[_Attachment]


def create_schema(conn: psycopg.Connection[Any]) -> None:
    """Create the ``baseline`` schema and its three tables if missing, and commit."""
    with conn.transaction():
        conn.execute(SCHEMA_SQL)


def ingest_files(
    conn: psycopg.Connection[Any],
    paths: Iterable[Path],
    *,
    tenant_id: str | uuid.UUID,
    tenant_domain: str | None = None,
) -> int:
    """Store each file in its own committed transaction; return how many were stored.

    `conn` must not be inside a transaction, so that every message commits on its
    own as the original handler did. Messages whose sender is at `tenant_domain`
    are recorded as outbound, the rest as inbound.
    """
    if conn.info.transaction_status != pq.TransactionStatus.IDLE:
        raise ValueError("ingest_files needs a connection outside a transaction")
    tenant = uuid.UUID(str(tenant_id))
    stored = 0
    for path in paths:
        raw = path.read_bytes()
        parsed = _parse(raw)
        row = _message_row(parsed.headers, tenant, tenant_domain)
        key = row["storage_key"]
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(INSERT_MESSAGE, row)
            cur.execute(
                INSERT_CONTENT,
                {
                    "storage_key": key,
                    "tenant_id": tenant,
                    # Like the original handler: HTML-only mail keeps its HTML here.
                    "content_text": parsed.text
                    if parsed.text is not None
                    else parsed.html,
                    "content_html": parsed.html,
                    "headers": Jsonb(parsed.headers),
                    "raw_size_bytes": len(raw),
                },
            )
            for item in parsed.attachments:
                cur.execute(
                    INSERT_ATTACHMENT,
                    {
                        "parent_storage_key": key,
                        "tenant_id": tenant,
                        "filename": item.filename,
                        "mime_type": item.mime_type,
                        "size_bytes": len(item.content),
                        "content": item.content,
                        "storage_disposition": item.disposition,
                    },
                )
        stored += 1
    return stored


def table_bytes(conn: psycopg.Connection[Any]) -> int:
    """Return the on-disk bytes, TOAST and indexes included, of the baseline tables."""
    row = conn.execute(TABLE_BYTES).fetchone()
    return int(row[0]) if row else 0


def parse_cheap(paths: Iterable[Path]) -> int:
    """The cheapest parse Python offers: read each file and build the compat32
    message tree (`email.message_from_bytes`), nothing decoded, one process."""
    count = 0
    for path in paths:
        email.message_from_bytes(path.read_bytes())
        count += 1
    return count


def parse_only(paths: Iterable[Path]) -> int:
    """Parse each file with ``email`` and touch its bodies, storing nothing."""
    count = 0
    for path in paths:
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        for name in ("From", "To", "Subject", "Date", "Message-ID"):
            str(msg.get(name, ""))
        for preference in ("plain", "html"):
            body = msg.get_body(preferencelist=(preference,))
            if body is not None:
                _content(body)
        for part in msg.iter_attachments():
            _content(part)
        count += 1
    return count


# --- parsing -----------------------------------------------------------------


def _parse(raw: bytes) -> _Parsed:
    """Parse with the modern policy, falling back to compat32 on malformed mail."""
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        headers = _headers(msg)
        text = _body(msg, "plain")
        page = _body(msg, "html")
        attachments = [_attachment(part) for part in msg.iter_attachments()]
        return _Parsed(headers, text, page, attachments)
    except Exception:  # the handler must never drop a message it could store
        return _parse_compat32(raw)


def _parse_compat32(raw: bytes) -> _Parsed:
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    text: str | None = None
    page: str | None = None
    attachments: list[_Attachment] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        if part.get_content_disposition() != "attachment":
            if ctype == "text/plain" and text is None:
                text = _decode_text(part)
                continue
            if ctype == "text/html" and page is None:
                page = _decode_text(part)
                continue
        if part is not msg:
            attachments.append(_attachment(part))
    return _Parsed(_headers(msg), text, page, attachments)


def _headers(msg: Message) -> dict[str, str]:
    # As in the original handler: names lower-cased, a repeated header keeps its
    # last value.
    headers: dict[str, str] = {}
    for name, value in msg.items():
        headers[name.lower()] = _clean(str(value))
    return headers


def _body(msg: EmailMessage, subtype: str) -> str | None:
    part = msg.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_subtype() != subtype:
        return None
    content = _content(part)
    if isinstance(content, bytes):
        return _clean(content.decode("utf-8", "replace"))
    return _clean(str(content))


def _content(part: MIMEPart) -> object:
    try:
        return part.get_content()
    except (LookupError, ValueError, KeyError):
        return part.get_payload(decode=True) or b""


def _decode_text(part: Message) -> str:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return _clean(data.decode(charset, "replace"))
    except LookupError:
        return _clean(data.decode("utf-8", "replace"))


def _attachment(part: Message) -> _Attachment:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        # message/rfc822 and message/delivery-status hold sub-messages, not bytes.
        inner = part.get_payload()
        items = inner if isinstance(inner, list) else [inner]
        data = b"".join(
            item.as_bytes() if isinstance(item, Message) else str(item).encode()
            for item in items
        )
    return _Attachment(
        filename=part.get_filename(),
        mime_type=part.get_content_type(),
        content=data,
        disposition=part.get_content_disposition() or "attachment",
    )


def _clean(text: str) -> str:
    """Make text storable in PostgreSQL: no NUL, no lone surrogates."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def _message_row(
    headers: dict[str, str], tenant: uuid.UUID, tenant_domain: str | None
) -> dict[str, object]:
    message_id = headers.get("message-id") or f"<{uuid.uuid4()}@baseline>"
    from_email = email.utils.parseaddr(headers.get("from", ""))[1].lower()
    to_emails = [addr for _, addr in email.utils.getaddresses([headers.get("to", "")])]
    outbound = bool(tenant_domain) and from_email.endswith(f"@{tenant_domain}")
    return {
        # The legacy key: Message-ID plus the wall clock in milliseconds.
        "storage_key": f"email_{message_id}_{time.time_ns() // 1_000_000}"[:500],
        "tenant_id": tenant,
        "message_id": message_id,
        "from_email": from_email[:320],
        "to_email": ", ".join(to_emails),
        "subject": headers.get("subject"),
        "direction": "outbound" if outbound else "inbound",
        "status": "sent" if outbound else "received",
        "message_type": _message_type(headers),
        "campaign_id": _uuid_or_none(headers.get("x-pm-campaign-id")),
        "lead_id": _uuid_or_none(headers.get("x-pm-lead-id")),
        "parent_message_id": headers.get("in-reply-to"),
        "sent_at": _date_or_none(headers.get("date")),
    }


def _message_type(headers: dict[str, str]) -> str:
    if "multipart/report" in headers.get("content-type", "").lower():
        return "bounce"
    if headers.get("auto-submitted", "no").lower() != "no":
        return "auto_reply"
    return "email"


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value.strip()) if value else None
    except ValueError:
        return None


def _date_or_none(value: str | None) -> datetime | None:
    try:
        return email.utils.parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None
