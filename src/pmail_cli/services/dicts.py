"""Train and inspect a tenant's zstd dictionaries."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import zstandard

from pmail_cli.db import Connection
from pmail_cli.errors import PermissionDenied, PmailError
from pmail_cli.mail.compress import (
    Dictionary,
    compress,
    decompress,
    train,
    usable,
    zstd_dict_id,
)
from pmail_cli.repository import dicts as repo
from pmail_cli.repository.dicts import DictInfo, RawToRecompress
from pmail_cli.repository.tenants import Tenant
from pmail_cli.services import audit
from pmail_cli.services.tenants import rewrites_stored_bytes, scoped
from pmail_cli.sources import WorkItem

logger = logging.getLogger(__name__)

SAMPLE_LIMIT = 4000
MIN_SAMPLES = 50
AUTO_TRAIN_AT = 300
RECOMPRESS_BATCH = 500
SAMPLE_PREFIX = 16 * 1024  # headers and bodies; attachments come later in a message
# the most a run holds back to train on (large messages: train after the first batches)
TRAIN_AHEAD_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class TrainResult:
    """A newly trained dictionary."""

    dict_id: int
    size_bytes: int
    sample_count: int
    sample_bytes: int
    data: bytes
    unchanged: bool = False  # the newest dictionary was trained on these same messages

    @property
    def dictionary(self) -> Dictionary:
        """The trained dictionary, ready to compress with."""
        return Dictionary(self.dict_id, self.data)


def train_dictionary(
    conn: Connection, tenant: Tenant, *, sample_limit: int = SAMPLE_LIMIT
) -> TrainResult:
    """Train a new dictionary on the tenant's latest mail; older ones stay readable."""
    with scoped(conn, tenant):
        stored = repo.sample_raw(conn, tenant_id=tenant.tenant_id, limit=sample_limit)
        needed = {s.dict_id for s in stored if s.dict_id is not None}
        dicts = repo.get_dicts(
            conn, tenant_id=tenant.tenant_id, dict_ids=sorted(needed)
        )
        samples = [
            decompress(
                s.raw_data, s.compression, dicts.get(s.dict_id) if s.dict_id else None
            )
            for s in stored
        ]
        latest = repo.latest_dict_samples(conn, tenant_id=tenant.tenant_id)
        if latest is not None:
            # the sample is the tenant's newest mail: the same count and bytes as the
            # newest dictionary's means no mail arrived since it was trained
            dictionary, count, nbytes = latest
            if (count, nbytes) == (len(samples), sum(map(len, samples))):
                return TrainResult(
                    dictionary.dict_id,
                    len(dictionary.data),
                    count,
                    nbytes,
                    dictionary.data,
                    unchanged=True,
                )
        trained = _train_and_store(conn, tenant, samples)
        audit.record(
            conn,
            "dict train",
            tenant_id=tenant.tenant_id,
            params={"sample_limit": sample_limit},
            result={
                "dict_id": trained.dict_id,
                "samples": trained.sample_count,
                "bytes": trained.size_bytes,
            },
        )
        return trained


def train_from_samples(
    conn: Connection, tenant: Tenant, samples: list[bytes]
) -> TrainResult:
    """Train and store a dictionary from messages about to be ingested."""
    with scoped(conn, tenant):
        return _train_and_store(conn, tenant, [s[:SAMPLE_PREFIX] for s in samples])


def _train_and_store(
    conn: Connection, tenant: Tenant, samples: list[bytes]
) -> TrainResult:
    if len(samples) < MIN_SAMPLES:
        raise PmailError(
            f"tenant {tenant.name!r} has {len(samples)} messages; a dictionary needs "
            f"at least {MIN_SAMPLES}",
            hint="ingest more mail first",
        )
    try:
        data = train(samples)
    except zstandard.ZstdError as exc:
        raise PmailError(
            f"zstd could not train a dictionary on {len(samples)} messages: {exc}",
            hint="ingest more (and more varied) mail first",
        ) from None
    dict_id = repo.insert_dict(
        conn,
        tenant_id=tenant.tenant_id,
        zstd_dict_id=zstd_dict_id(data),
        dict_data=data,
        sample_count=len(samples),
        sample_bytes=sum(map(len, samples)),
    )
    return TrainResult(dict_id, len(data), len(samples), sum(map(len, samples)), data)


def check_may_recompress(conn: Connection) -> None:
    """Refuse, before anything is done, a recompression this session may not run."""
    if not rewrites_stored_bytes(conn):
        raise PermissionDenied(
            "a tenant's login does not rewrite stored mail: recompressing it is an "
            "administrator's job",
            hint="run `pmail dict train --recompress` as the owner of pmail's tables "
            "or a member of pmail_admin; without --recompress, a login trains a "
            "dictionary that new mail uses (docs/security.md)",
        )


def recompress(
    conn: Connection,
    tenant: Tenant,
    dictionary: Dictionary,
    *,
    only_plain: bool,
    batch: int = RECOMPRESS_BATCH,
) -> int:
    """Move stored raw forms to `dictionary` (all, or those without one); return count.

    Each batch is decompressed, checked to decompress to the same bytes after
    recompression, and updated in its own transaction, so an interruption leaves
    every row readable with the dictionary its row names. Only a trusted session
    may (check_may_recompress).
    """
    check_may_recompress(conn)
    done = 0
    while True:
        with scoped(conn, tenant):
            rows = repo.select_for_recompress(
                conn,
                tenant_id=tenant.tenant_id,
                dict_id=dictionary.dict_id,
                only_plain=only_plain,
                limit=batch,
            )
            if not rows:
                return done
            needed = sorted({r.dict_id for r in rows if r.dict_id is not None})
            old = repo.get_dicts(conn, tenant_id=tenant.tenant_id, dict_ids=needed)
            packed = [_repack(r, old, dictionary) for r in rows]
            repo.update_compression(
                conn,
                tenant_id=tenant.tenant_id,
                dict_id=dictionary.dict_id,
                keys=[r.storage_key for r in rows],
                data=packed,
            )
        done += len(rows)


def _repack(row: RawToRecompress, old: dict[int, bytes], new: Dictionary) -> bytes:
    plain = decompress(row.raw_data, row.compression, old.get(row.dict_id or 0))
    packed = compress(plain, new)
    if decompress(packed.data, packed.compression, new.data) != plain:
        raise PmailError(f"recompressing {row.storage_key} did not round-trip")
    return packed.data


def current_dictionary(conn: Connection, tenant: Tenant) -> Dictionary | None:
    """Return the dictionary new mail of the tenant is compressed with: its newest,
    unless zstd cannot use it (then none, with a warning: a tenant's login may insert
    dictionary rows, and one zstd refuses must not stop every ingest of the tenant)."""
    with scoped(conn, tenant):
        newest = repo.latest_dict(conn, tenant_id=tenant.tenant_id)
    if newest is not None and not usable(newest):
        logger.warning(
            "dictionary %d of tenant %s is not one zstd can use; new mail is "
            "compressed without a dictionary until a newer one is trained "
            "(`pmail dict train`)",
            newest.dict_id,
            tenant.name,
        )
        return None
    return newest


def auto_train_due(conn: Connection, tenant: Tenant, *, threshold: int) -> bool:
    """True when the tenant has no dictionary yet but enough mail to train one."""
    with scoped(conn, tenant):
        stats = repo.dict_stats(conn, tenant_id=tenant.tenant_id)
    return stats.dicts == 0 and stats.without_dict >= threshold


def list_dictionaries(conn: Connection, tenant: Tenant) -> list[DictInfo]:
    """Return the tenant's dictionaries with how many messages use each."""
    with scoped(conn, tenant):
        return repo.list_dicts(conn, tenant_id=tenant.tenant_id)


def _replay(head: deque[WorkItem], rest: Iterator[WorkItem]) -> Iterator[WorkItem]:
    """The held-back head, then the rest; an item handed on is no longer held."""
    while head:
        yield head.popleft()
    yield from rest


@dataclass(slots=True)
class DictionaryPolicy:
    """Which dictionary a run compresses with, and when the tenant's first is trained.

    A tenant with dictionaries uses its newest. A tenant without one gets it before
    anything is written when the input holds at least `train_at` messages (the head
    of the input teaches it, so the whole run is stored with it); otherwise as soon
    as its stored mail reaches `train_at`, when the rows stored without it are
    recompressed into it (by a trusted session; a tenant's login leaves them).
    `train_at` 0 never trains automatically.
    """

    conn: Connection
    tenant: Tenant
    train_at: int = AUTO_TRAIN_AT
    dictionary: Dictionary | None = None
    trained: int | None = None  # the dict_id this run trained

    def start(self) -> Dictionary | None:
        """Load the tenant's newest dictionary; return it."""
        self.dictionary = current_dictionary(self.conn, self.tenant)
        return self.dictionary

    def train_ahead(
        self, items: Iterator[WorkItem], *, on_training: Callable[[], None]
    ) -> Iterator[WorkItem]:
        """Train on the head of a large input before anything is written."""
        if self.dictionary is not None or self.train_at <= 0:
            return items
        head: deque[WorkItem] = deque()
        held = 0
        for item in items:  # at most train_at messages and TRAIN_AHEAD_BYTES
            head.append(item)
            held += item.nbytes
            if len(head) >= self.train_at or held >= TRAIN_AHEAD_BYTES:
                break
        samples = [i.raw for i in head if i.raw is not None]
        if len(samples) >= self.train_at:
            on_training()  # e.g. start worker processes meanwhile
            self._use(train_from_samples(self.conn, self.tenant, samples))
        return _replay(head, items)

    def after_batch(self) -> bool:
        """Train once the tenant has enough stored mail; True when it did."""
        if self.dictionary is not None or self.train_at <= 0:
            return False
        if not auto_train_due(self.conn, self.tenant, threshold=self.train_at):
            return False
        self._use(train_dictionary(self.conn, self.tenant))
        # the mail that taught the dictionary is the mail it compresses best
        self.finish()
        return True

    def finish(self) -> None:
        """Move rows stored without a dictionary during this run into the new one
        (a tenant's login leaves them as they are: it does not rewrite stored mail)."""
        if (
            self.trained is not None
            and self.dictionary is not None
            and rewrites_stored_bytes(self.conn)
        ):
            recompress(self.conn, self.tenant, self.dictionary, only_plain=True)

    def _use(self, trained: TrainResult) -> None:
        self.trained = trained.dict_id
        self.dictionary = trained.dictionary
