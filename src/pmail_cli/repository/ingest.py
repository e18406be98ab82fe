"""Write prepared batches: COPY into session staging tables, then INSERT ... SELECT."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from pmail_cli.db import Connection, as_bytes
from pmail_cli.mail.parse import clean_text
from pmail_cli.mail.prepare import PreparedMessage
from pmail_cli.sqlfiles import load_sql

_MESSAGE_COLUMNS = (
    "tenant_id, storage_key, message_id, in_reply_to, references_ids, direction, "
    "message_type, status, from_email, from_name, to_email, cc_email, subject, sent_at, "
    "campaign_id, lead_id, email_account_id, attachment_count, parse_problems, source, "
    "is_reply, original_message_id, feedback_type, auto_reply_until, link_keys"
)
_CONTENT_COLUMNS = (
    "tenant_id, storage_key, content_text, raw_size_bytes, "
    "compressed_size_bytes, raw_sha256, raw_form, raw_data, raw_splices, compression, dict_id"
)
_ATTACHMENT_COLUMNS = (
    "tenant_id, parent_storage_key, part_index, filename, mime_type, size_bytes, "
    "storage_disposition, content_id, sha256"
)
_FACT_COLUMNS = (
    "tenant_id, storage_key, recipient_index, recipient, action, status, reply_code, "
    "diagnostic_code, remote_mta, reason, hard"
)
_BLOB_COLUMNS = (
    "tenant_id, sha256, size_bytes, compressed_size_bytes, compression, data"
)


def create_staging(conn: Connection) -> None:
    """Create this session's staging tables (idempotent)."""
    conn.execute(load_sql("ingest/create_staging"))


def analyze_tables(conn: Connection) -> None:
    """Refresh the planner statistics of the tables ingest writes to."""
    conn.execute(load_sql("ingest/analyze_tables"))


def lock_tenant_writes(conn: Connection, *, tenant_id: uuid.UUID) -> None:
    """Hold the tenant's ingest lock until the transaction ends."""
    conn.execute(load_sql("ingest/lock_tenant_writes"), {"tenant_id": tenant_id})


def existing_keys(
    conn: Connection, *, tenant_id: uuid.UUID, keys: Sequence[str]
) -> set[str]:
    """Return the subset of keys the tenant already stores."""
    rows = conn.execute(
        load_sql("ingest/existing_keys"), {"tenant_id": tenant_id, "keys": list(keys)}
    )
    return {str(r[0]) for r in rows}


def existing_blobs(
    conn: Connection, *, tenant_id: uuid.UUID, hashes: Sequence[bytes]
) -> set[bytes]:
    """Return the subset of attachment hashes the tenant already stores."""
    rows = conn.execute(
        load_sql("ingest/existing_blobs"),
        {"tenant_id": tenant_id, "hashes": list(hashes)},
    )
    return {as_bytes(r[0]) for r in rows}


def _copy_messages(
    conn: Connection, tenant_id: uuid.UUID, batch: Sequence[PreparedMessage]
) -> None:
    with (
        conn.cursor() as cur,
        cur.copy(f"COPY pmail_stage_messages ({_MESSAGE_COLUMNS}) FROM STDIN") as copy,
    ):
        for m in batch:
            copy.write_row(
                (
                    tenant_id,
                    m.storage_key,
                    m.message_id,
                    m.in_reply_to,
                    m.references or None,
                    m.direction,
                    m.message_type,
                    m.status,
                    m.from_email,
                    m.from_name,
                    m.to_email,
                    m.cc_email,
                    m.subject,
                    m.sent_at,
                    m.campaign_id,
                    m.lead_id,
                    m.email_account_id,
                    len(m.attachments),
                    m.problems or None,
                    m.origin,
                    m.is_reply,
                    m.original_message_id,
                    m.feedback_type,
                    m.auto_reply_until,
                    m.link_keys or None,
                )
            )


def _copy_content(
    conn: Connection, tenant_id: uuid.UUID, batch: Sequence[PreparedMessage]
) -> None:
    with (
        conn.cursor() as cur,
        cur.copy(f"COPY pmail_stage_content ({_CONTENT_COLUMNS}) FROM STDIN") as copy,
    ):
        for m in batch:
            copy.write_row(
                (
                    tenant_id,
                    m.storage_key,
                    m.content_text,
                    m.raw_size,
                    len(m.raw.data),
                    m.raw_sha256,
                    m.raw_form,
                    m.raw.data,
                    m.splices_json,
                    m.raw.compression,
                    m.raw.dict_id,
                )
            )


def _copy_attachments(
    conn: Connection,
    tenant_id: uuid.UUID,
    batch: Sequence[PreparedMessage],
    new_blobs: set[bytes],
) -> None:
    with conn.cursor() as cur:
        with cur.copy(
            f"COPY pmail_stage_attachments ({_ATTACHMENT_COLUMNS}) FROM STDIN"
        ) as copy:
            for m in batch:
                for a in m.attachments:
                    copy.write_row(
                        (
                            tenant_id,
                            m.storage_key,
                            a.part_index,
                            a.filename,
                            a.mime_type,
                            a.size_bytes,
                            a.disposition,
                            a.content_id,
                            a.sha256,
                        )
                    )
        written: set[bytes] = set()
        with cur.copy(f"COPY pmail_stage_blobs ({_BLOB_COLUMNS}) FROM STDIN") as copy:
            for m in batch:
                for a in m.attachments:
                    if a.sha256 in new_blobs and a.sha256 not in written:
                        written.add(a.sha256)
                        copy.write_row(
                            (
                                tenant_id,
                                a.sha256,
                                a.size_bytes,
                                len(a.blob.data),
                                a.blob.compression,
                                a.blob.data,
                            )
                        )


def _copy_facts(
    conn: Connection, tenant_id: uuid.UUID, batch: Sequence[PreparedMessage]
) -> None:
    with (
        conn.cursor() as cur,
        cur.copy(f"COPY pmail_stage_facts ({_FACT_COLUMNS}) FROM STDIN") as copy,
    ):
        for m in batch:
            for i, f in enumerate(m.facts):
                copy.write_row(
                    (
                        tenant_id,
                        m.storage_key,
                        i,
                        clean_text(f.recipient) if f.recipient else None,
                        f.action,
                        f.status,
                        f.reply_code,
                        clean_text(f.diagnostic_code) if f.diagnostic_code else None,
                        clean_text(f.remote_mta) if f.remote_mta else None,
                        f.reason,
                        f.hard,
                    )
                )


def stage_batch(
    conn: Connection,
    *,
    tenant_id: uuid.UUID,
    batch: Sequence[PreparedMessage],
    new_blobs: set[bytes],
) -> None:
    """COPY one batch into the session's staging tables (caller's transaction)."""
    _copy_messages(conn, tenant_id, batch)
    _copy_content(conn, tenant_id, batch)
    _copy_attachments(conn, tenant_id, batch, new_blobs)
    _copy_facts(conn, tenant_id, batch)


def insert_staged(conn: Connection) -> list[str]:
    """Move the staged batch into the tables, skipping stored messages; return new keys."""
    conn.execute(load_sql("ingest/reset_staged_new"))
    conn.execute(load_sql("ingest/insert_staged_links"))
    keys = [str(r[0]) for r in conn.execute(load_sql("ingest/insert_staged_messages"))]
    if keys:
        conn.execute(load_sql("ingest/insert_staged_facts"))
        conn.execute(load_sql("ingest/insert_staged_content"))
        conn.execute(load_sql("ingest/insert_staged_blobs"))
        conn.execute(load_sql("ingest/insert_staged_attachments"))
    return keys
