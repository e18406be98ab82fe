"""Reports: volume, storage, status, attachments, campaigns, mailboxes, bounces.

They read the rollup tables (kept current by triggers in every writing transaction,
sql/migrations/0006) for one tenant or all, over a window of days in the tenant's
time zone; docs/reports.md says what every column means.
"""

from __future__ import annotations

import uuid
import zoneinfo
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from pmail_cli import vocab
from pmail_cli.db import Connection
from pmail_cli.errors import UsageError
from pmail_cli.repository import reports as repo
from pmail_cli.repository import suppressions as suppressions_repo
from pmail_cli.repository import writer as writer_repo
from pmail_cli.repository.tenants import Tenant
from pmail_cli.services import audit, tenants

# The row types the reports return, for cli/ to name (it never imports repository).
VolumeDay = repo.VolumeDay
StorageDay = repo.StorageDay
StatusGroup = repo.StatusGroup
AttachmentType = repo.AttachmentType
BounceGroup = repo.BounceGroup

MAX_DAYS = 3660
# Bounce reasons that say the sender was refused for reputation, policy or content:
# the "blocked" column of campaigns and mailboxes (docs/reports.md).
BLOCK_REASONS = [
    "blocked",
    "policyviolation",
    "spamdetected",
    "badreputation",
    "rejected",
    "requireptr",
    "authfailure",
    "virusdetected",
    "contenterror",
]
NameLookup = Callable[[str, list[uuid.UUID]], dict[uuid.UUID, str]]


@dataclass(frozen=True, slots=True)
class Window:
    """Which tenant(s) and which days (inclusive) a report covers.

    `start` is set for a rolling window (`--days N` alone): the instant N days before
    now, within `since`, which is then a partial day counted from that instant on.
    """

    tenant: Tenant | None  # None: every tenant
    since: date
    until: date
    tz: str
    start: datetime | None = None

    @property
    def tenant_id(self) -> uuid.UUID | None:
        """The tenant's id, or None for every tenant."""
        return self.tenant.tenant_id if self.tenant else None

    def instants(self) -> tuple[datetime, datetime]:
        """The window as [start, end) instants in its time zone."""
        zone = zoneinfo.ZoneInfo(self.tz)
        start = self.start or datetime.combine(self.since, time(), zone)
        end = datetime.combine(self.until + timedelta(days=1), time(), zone)
        return start.astimezone(UTC), end.astimezone(UTC)


def window(
    conn: Connection,
    *,
    tenant: str | None,
    all_tenants: bool,
    days: int,
    since: date | None,
    until: date | None,
    tz: str | None,
) -> Window:
    """Resolve --tenant/--all-tenants and --days/--since/--until/--tz, or refuse.

    `--days N` alone is the seed's window, `created >= now() - interval 'N days'`
    counted on the zone's clock: its first day is partial. With `--until` it is the N
    whole days that end that day; `--since` is whole days.
    """
    if all_tenants and tenant is not None:
        raise UsageError(
            "--tenant and --all-tenants do not go together",
            hint="give one: --tenant NAME for one tenant, --all-tenants for all",
        )
    if not all_tenants and tenant is None:
        raise UsageError(
            "give --tenant NAME or --all-tenants",
            hint="a report covers one tenant or all of them; mail stored without "
            "--tenant is in 'default' (--tenant default)",
        )
    chosen = tenants.find_tenant(conn, tenant) if tenant is not None else None
    zone = tz or (chosen.time_zone if chosen else "UTC")
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"unknown time zone {zone!r}", hint="use an IANA name such as Europe/Berlin"
        ) from None
    if not 1 <= days <= MAX_DAYS:
        raise UsageError(
            f"--days must be between 1 and {MAX_DAYS}",
            hint="a report covers at most that many days; --since/--until pick any",
        )
    rolling = repo.window_days(conn, days=days, tz=zone)
    if since is None and until is None:
        return Window(chosen, rolling.first_day, rolling.today, zone, rolling.start)
    end = until or rolling.today
    if end >= date.max or (since or end) <= date.min + timedelta(days=MAX_DAYS):
        raise UsageError(
            "the report window must end after year 1 and before 9999-12-31",
            hint="give --since/--until inside that range",
        )
    start = since or end - timedelta(days=days - 1)
    if start > end:
        raise UsageError(f"--since {start} is after --until {end}")
    if (end - start).days >= MAX_DAYS:
        raise UsageError(f"a report covers at most {MAX_DAYS} days")
    return Window(chosen, start, end, zone)


def _rollup_zone(w: Window, report: str) -> None:
    """Rollups count days in each tenant's own zone; refuse another one."""
    own = w.tenant.time_zone if w.tenant else "UTC"
    if w.tenant is not None and w.tz != own:
        raise UsageError(
            f"`report {report}` counts days in the tenant's time zone ({own}), not {w.tz}",
            hint="only `report volume` counts in any zone; or set the tenant's with "
            "`pmail tenant set NAME --time-zone ZONE`",
        )


def volume(
    conn: Connection, w: Window, *, by_sent: bool = False
) -> list[repo.VolumeDay]:
    """Messages per day: from the rollups, or counted from the messages when the days
    are the messages' own dates (by_sent) or in another zone than the tenant's."""
    own = w.tenant.time_zone if w.tenant else None
    with _scope(conn, w):
        if (
            by_sent
            or (own is not None and w.tz != own)
            or (own is None and w.tz != "UTC")
        ):
            return repo.volume_from_messages(
                conn,
                tenant_id=w.tenant_id,
                since=w.since,
                until=w.until,
                tz=w.tz,
                by_sent=by_sent,
                start=w.start,
            )
        return repo.volume(
            conn, tenant_id=w.tenant_id, since=w.since, until=w.until, start=w.start
        )


def storage(conn: Connection, w: Window) -> list[repo.StorageDay]:
    """Bytes per day: raw, stored, compression, what deduplication saved."""
    _rollup_zone(w, "storage")
    with _scope(conn, w):
        return repo.storage(
            conn, tenant_id=w.tenant_id, since=w.since, until=w.until, start=w.start
        )


def status(conn: Connection, w: Window) -> list[repo.StatusGroup]:
    """Direction x type x status: count, average size, attachments."""
    _rollup_zone(w, "status")
    with _scope(conn, w):
        return repo.status(
            conn, tenant_id=w.tenant_id, since=w.since, until=w.until, start=w.start
        )


def attachments(conn: Connection, w: Window) -> list[repo.AttachmentType]:
    """Attachments by MIME type: parts, distinct files, bytes, savings."""
    start, end = w.instants()
    with _scope(conn, w):
        return repo.attachments(conn, tenant_id=w.tenant_id, since=start, until=end)


def bounces(conn: Connection, w: Window, *, by: str) -> list[repo.BounceGroup]:
    """Bounces by reason (rollups), or failed recipients by domain or reporting MTA."""
    with _scope(conn, w):
        if by == "reason":
            _rollup_zone(w, "bounces")
            return repo.bounces_by_reason(
                conn,
                tenant_id=w.tenant_id,
                since=w.since,
                until=w.until,
                start=w.start,
            )
        start, end = w.instants()
        if by == "domain":
            return repo.bounces_by_domain(
                conn, tenant_id=w.tenant_id, since=start, until=end
            )
        if by == "remote-mta":
            return repo.bounces_by_remote_mta(
                conn, tenant_id=w.tenant_id, since=start, until=end
            )
    raise vocab.refused("--by", by, vocab.BOUNCES_BY)


@dataclass(slots=True)
class CampaignRow:
    """One line of `report campaigns`; rates are fractions of `sent`."""

    campaign_id: uuid.UUID
    campaign: str | None
    sent: int
    replied: int
    reply_rate: float | None
    auto_replied: int
    hard_bounced: int
    soft_bounced: int
    bounce_rate: float | None
    blocked: int
    complained: int
    complaint_rate: float | None
    note: str = ""


@dataclass(slots=True)
class MailboxRow:
    """One line of `report mailboxes`; rates are fractions of `sent`."""

    email_account_id: uuid.UUID
    mailbox: str | None
    sent: int
    bounced: int
    bounce_rate: float | None
    hard_bounced: int
    blocked: int
    block_rate: float | None
    complained: int
    complaint_rate: float | None
    replied: int
    reply_rate: float | None
    note: str = ""


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True, slots=True)
class Names:
    """Where campaign and mailbox names come from, and what a miss is called."""

    lookup: NameLookup
    missing: str = "not in pmail's campaigns/email_accounts"
    source: str = "pmail"
    problems: list[str] = field(default_factory=list)


def campaigns(conn: Connection, w: Window, names: Names) -> list[CampaignRow]:
    """Per campaign: sent, replies, auto-replies, hard/soft bounces, blocks, complaints."""
    _rollup_zone(w, "campaigns")
    with _scope(conn, w):
        found = repo.campaigns(
            conn,
            tenant_id=w.tenant_id,
            since=w.since,
            until=w.until,
            start=w.start,
            block_reasons=BLOCK_REASONS,
        )
    named = names.lookup("campaigns", [c.campaign_id for c in found])
    rows = []
    for c in found:
        sent = c.sent or 0
        bounced = c.hard_bounced + c.soft_bounced
        rows.append(
            CampaignRow(
                c.campaign_id,
                named.get(c.campaign_id),
                sent,
                c.replied,
                _rate(c.replied, sent),
                c.auto_replied,
                c.hard_bounced,
                c.soft_bounced,
                _rate(bounced, sent),
                c.blocked,
                c.complained,
                _rate(c.complained, sent),
                "" if c.campaign_id in named else names.missing,
            )
        )
    return rows


def mailboxes(conn: Connection, w: Window, names: Names) -> list[MailboxRow]:
    """Per sending account: sent, bounce, block, complaint and reply rates."""
    _rollup_zone(w, "mailboxes")
    with _scope(conn, w):
        found = repo.mailboxes(
            conn,
            tenant_id=w.tenant_id,
            since=w.since,
            until=w.until,
            start=w.start,
            block_reasons=BLOCK_REASONS,
        )
    named = names.lookup("accounts", [m.email_account_id for m in found])
    return [
        MailboxRow(
            m.email_account_id,
            named.get(m.email_account_id),
            m.sent,
            m.bounced,
            _rate(m.bounced, m.sent),
            m.hard_bounced,
            m.blocked,
            _rate(m.blocked, m.sent),
            m.complained,
            _rate(m.complained, m.sent),
            m.replied,
            _rate(m.replied, m.sent),
            "" if m.email_account_id in named else names.missing,
        )
        for m in found
    ]


def local_names(conn: Connection, w: Window) -> Names:
    """Names from pmail's own campaigns and email_accounts tables."""

    def lookup(kind: str, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
        if not ids:
            return {}
        with _scope(conn, w):
            if kind == "campaigns":
                return repo.campaign_names(conn, ids=ids)
            return repo.account_names(conn, ids=ids)

    return Names(lookup)


def _scope(conn: Connection, w: Window) -> AbstractContextManager[None]:
    return tenants.scoped(conn, w.tenant) if w.tenant else tenants.every_tenant(conn)


@dataclass(frozen=True, slots=True)
class Rebuilt:
    """What `analytics rebuild` wrote."""

    message_rows: int
    storage_rows: int
    suppression_rows: int = 0


def rebuild(conn: Connection, tenant: Tenant | None) -> Rebuilt:
    """Recompute the rollups and the suppression list of a tenant (or of every
    tenant) in one transaction."""
    tenant_id = tenant.tenant_id if tenant else None
    with tenants.scoped(conn, tenant) if tenant else tenants.every_tenant(conn):
        if tenant_id is not None:
            # no batch of the tenant is half-written while its list is rewritten
            # (both would insert the same suppression rows)
            writer_repo.lock_tenant_writes(conn, tenant_id=tenant_id)
        repo.clear_rollups(conn, tenant_id=tenant_id)
        suppressions_repo.clear_suppressions(conn, tenant_id=tenant_id)
        rebuilt = Rebuilt(
            repo.rebuild_message_rollups(conn, tenant_id=tenant_id),
            repo.rebuild_storage_rollups(conn, tenant_id=tenant_id),
            suppressions_repo.rebuild_suppressions(conn, tenant_id=tenant_id),
        )
        audit.record(
            conn,
            "analytics rebuild",
            tenant_id=tenant_id,
            params={},
            result={
                "message_rows": rebuilt.message_rows,
                "storage_rows": rebuilt.storage_rows,
                "suppression_rows": rebuilt.suppression_rows,
            },
        )
        return rebuilt


def rollup_totals(
    conn: Connection, tenant: Tenant | None
) -> Sequence[repo.RollupTotals]:
    """Rollup totals against the base tables', per tenant."""
    with tenants.scoped(conn, tenant) if tenant else tenants.every_tenant(conn):
        return repo.rollup_totals(conn, tenant_id=tenant.tenant_id if tenant else None)
