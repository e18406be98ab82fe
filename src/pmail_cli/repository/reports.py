"""Report queries (sql/queries/reports) and the rollups' upkeep (sql/queries/analytics)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from psycopg.rows import class_row

from pmail_cli.db import Connection
from pmail_cli.sqlfiles import load_sql


@dataclass(frozen=True, slots=True)
class VolumeDay:
    """One day of `report volume` (the original design's columns first)."""

    date: date
    total_emails: int
    inbound_emails: int
    outbound_emails: int
    delivered_emails: int
    bounced_emails: int
    replied_emails: int
    complained_emails: int


@dataclass(frozen=True, slots=True)
class StorageDay:
    """One day of `report storage`."""

    date: date
    messages: int
    raw_bytes: int
    stored_bytes: int
    compression_ratio: Decimal | None
    attachment_bytes: int
    dedup_saved_bytes: int


@dataclass(frozen=True, slots=True)
class StatusGroup:
    """One direction/type/status group of `report status`."""

    direction: str
    message_type: str
    status: str
    email_count: int
    avg_size: Decimal | None
    total_attachments: int


@dataclass(frozen=True, slots=True)
class CampaignCounts:
    """What one campaign sent and got back."""

    campaign_id: uuid.UUID
    sent: int | None
    replied: int
    auto_replied: int
    hard_bounced: int
    soft_bounced: int
    blocked: int
    complained: int


@dataclass(frozen=True, slots=True)
class MailboxCounts:
    """What one sending account sent and got back."""

    email_account_id: uuid.UUID
    sent: int
    bounced: int
    hard_bounced: int
    blocked: int
    complained: int
    replied: int


@dataclass(frozen=True, slots=True)
class BounceGroup:
    """Bounces of one reason, domain or reporting MTA."""

    key: str
    bounces: int
    hard: int
    soft: int
    top_reason: str | None = None


@dataclass(frozen=True, slots=True)
class AttachmentType:
    """Attachments of one MIME type."""

    mime_type: str
    attachments: int
    distinct_files: int
    bytes: int
    stored_bytes: int
    dedup_saved_bytes: int


@dataclass(frozen=True, slots=True)
class RollupTotals:
    """Rollup totals against the base tables' for one tenant."""

    tenant_id: uuid.UUID
    rollup_messages: int
    base_messages: int
    rollup_raw_bytes: int
    base_raw_bytes: int


@dataclass(frozen=True, slots=True)
class WindowDays:
    """Today in a zone, and where a rolling window of N days that ends now starts."""

    today: date
    first_day: date
    start: datetime


def window_days(conn: Connection, *, days: int, tz: str) -> WindowDays:
    """Today and the first day and instant of `days` days back from now, on the
    server's clock and the zone's calendar (the seed's `now() - interval 'N days'`)."""
    with conn.cursor(row_factory=class_row(WindowDays)) as cur:
        cur.execute(load_sql("reports/window_days"), {"days": days, "tz": tz})
        found = cur.fetchone()
    assert found is not None  # one row, always
    return found


def _window(
    tenant_id: uuid.UUID | None,
    since: object,
    until: object,
    start: datetime | None = None,
) -> dict[str, object]:
    return {"tenant_id": tenant_id, "since": since, "until": until, "start": start}


def volume(
    conn: Connection,
    *,
    tenant_id: uuid.UUID | None,
    since: date,
    until: date,
    start: datetime | None = None,
) -> list[VolumeDay]:
    """Messages per day from the rollups."""
    with conn.cursor(row_factory=class_row(VolumeDay)) as cur:
        cur.execute(load_sql("reports/volume"), _window(tenant_id, since, until, start))
        return cur.fetchall()


def volume_from_messages(
    conn: Connection,
    *,
    tenant_id: uuid.UUID | None,
    since: date,
    until: date,
    tz: str,
    by_sent: bool,
    start: datetime | None = None,
) -> list[VolumeDay]:
    """Messages per day counted from email_messages, in any time zone."""
    params = _window(tenant_id, since, until, start) | {"tz": tz, "by_sent": by_sent}
    with conn.cursor(row_factory=class_row(VolumeDay)) as cur:
        cur.execute(load_sql("reports/volume_from_messages"), params)
        return cur.fetchall()


def storage(
    conn: Connection,
    *,
    tenant_id: uuid.UUID | None,
    since: date,
    until: date,
    start: datetime | None = None,
) -> list[StorageDay]:
    """Bytes per day from the rollups."""
    with conn.cursor(row_factory=class_row(StorageDay)) as cur:
        cur.execute(
            load_sql("reports/storage"), _window(tenant_id, since, until, start)
        )
        return cur.fetchall()


def status(
    conn: Connection,
    *,
    tenant_id: uuid.UUID | None,
    since: date,
    until: date,
    start: datetime | None = None,
) -> list[StatusGroup]:
    """Direction x type x status from the rollups."""
    with conn.cursor(row_factory=class_row(StatusGroup)) as cur:
        cur.execute(load_sql("reports/status"), _window(tenant_id, since, until, start))
        return cur.fetchall()


def campaigns(
    conn: Connection,
    *,
    tenant_id: uuid.UUID | None,
    since: date,
    until: date,
    start: datetime | None = None,
    block_reasons: list[str],
) -> list[CampaignCounts]:
    """Per campaign counts from the rollups."""
    params = _window(tenant_id, since, until, start) | {"block_reasons": block_reasons}
    with conn.cursor(row_factory=class_row(CampaignCounts)) as cur:
        cur.execute(load_sql("reports/campaigns"), params)
        return cur.fetchall()


def mailboxes(
    conn: Connection,
    *,
    tenant_id: uuid.UUID | None,
    since: date,
    until: date,
    start: datetime | None = None,
    block_reasons: list[str],
) -> list[MailboxCounts]:
    """Per sending account counts from the rollups."""
    params = _window(tenant_id, since, until, start) | {"block_reasons": block_reasons}
    with conn.cursor(row_factory=class_row(MailboxCounts)) as cur:
        cur.execute(load_sql("reports/mailboxes"), params)
        return cur.fetchall()


def bounces_by_reason(
    conn: Connection,
    *,
    tenant_id: uuid.UUID | None,
    since: date,
    until: date,
    start: datetime | None = None,
) -> list[BounceGroup]:
    """Bounces by reason from the rollups."""
    rows = conn.execute(
        load_sql("reports/bounces_by_reason"), _window(tenant_id, since, until, start)
    ).fetchall()
    return [
        BounceGroup(str(k), int(str(n)), int(str(h)), int(str(s)))
        for k, n, h, s in rows
    ]


def _bounces_by_fact(
    conn: Connection,
    name: str,
    tenant_id: uuid.UUID | None,
    since: datetime,
    until: datetime,
) -> list[BounceGroup]:
    rows = conn.execute(load_sql(name), _window(tenant_id, since, until)).fetchall()
    return [
        BounceGroup(
            str(k), int(str(n)), int(str(h)), int(str(s)), None if r is None else str(r)
        )
        for k, n, h, s, r in rows
    ]


def bounces_by_domain(
    conn: Connection, *, tenant_id: uuid.UUID | None, since: datetime, until: datetime
) -> list[BounceGroup]:
    """Failed recipients by domain, from the delivery facts."""
    return _bounces_by_fact(conn, "reports/bounces_by_domain", tenant_id, since, until)


def bounces_by_remote_mta(
    conn: Connection, *, tenant_id: uuid.UUID | None, since: datetime, until: datetime
) -> list[BounceGroup]:
    """Failed recipients by reporting MTA, from the delivery facts."""
    return _bounces_by_fact(
        conn, "reports/bounces_by_remote_mta", tenant_id, since, until
    )


def attachments(
    conn: Connection, *, tenant_id: uuid.UUID | None, since: datetime, until: datetime
) -> list[AttachmentType]:
    """Attachments by MIME type, from the attachment tables."""
    with conn.cursor(row_factory=class_row(AttachmentType)) as cur:
        cur.execute(load_sql("reports/attachments"), _window(tenant_id, since, until))
        return cur.fetchall()


def clear_rollups(conn: Connection, *, tenant_id: uuid.UUID | None) -> None:
    """Forget one tenant's (or every tenant's) rollups."""
    conn.execute(load_sql("analytics/clear_rollups"), {"tenant_id": tenant_id})


def rebuild_message_rollups(conn: Connection, *, tenant_id: uuid.UUID | None) -> int:
    """Recompute message_rollups; return the rows written."""
    cur = conn.execute(
        load_sql("analytics/rebuild_message_rollups"), {"tenant_id": tenant_id}
    )
    return cur.rowcount


def rebuild_storage_rollups(conn: Connection, *, tenant_id: uuid.UUID | None) -> int:
    """Recompute storage_rollups; return the rows written."""
    cur = conn.execute(
        load_sql("analytics/rebuild_storage_rollups"), {"tenant_id": tenant_id}
    )
    return cur.rowcount


def rollup_totals(
    conn: Connection, *, tenant_id: uuid.UUID | None
) -> list[RollupTotals]:
    """Rollup totals against base-table totals, per tenant."""
    with conn.cursor(row_factory=class_row(RollupTotals)) as cur:
        cur.execute(load_sql("analytics/rollup_totals"), {"tenant_id": tenant_id})
        return cur.fetchall()


def campaign_names(conn: Connection, *, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Campaign names from pmail's own campaigns table (those that have one)."""
    rows = conn.execute(load_sql("reports/campaign_names"), {"ids": ids}).fetchall()
    return {uuid.UUID(str(i)): str(n) for i, n in rows if n is not None}


def account_names(conn: Connection, *, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Account addresses from pmail's own email_accounts table."""
    rows = conn.execute(load_sql("reports/account_names"), {"ids": ids}).fetchall()
    return {uuid.UUID(str(i)): str(n) for i, n in rows}
