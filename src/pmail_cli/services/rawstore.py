"""Rebuild stored messages to their exact original bytes, verified by sha256."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pmail_cli.db import Connection
from pmail_cli.mail.compress import decompress
from pmail_cli.mail.legacy_bundle import (
    LegacyParts,
    RebuildFile,
    rebuild_message,
    unbundle,
)
from pmail_cli.mail.rawsplit import Splice
from pmail_cli.mail.verify import unpack_raw
from pmail_cli.repository import dicts as dicts_repo
from pmail_cli.repository import messages as repo
from pmail_cli.repository.messages import AttachmentFile, StoredRawParts
from pmail_cli.repository.tenants import Tenant
from pmail_cli.services.tenants import scoped

CHUNK = 200


@dataclass(frozen=True, slots=True)
class RebuiltMessage:
    """One message's bytes as rebuilt from storage, and whether they match its hash."""

    parts: StoredRawParts
    raw: bytes | None  # None when nothing could be rebuilt
    verified: bool
    problem: str | None = None
    rebuilt: bool = False  # made from legacy columns: no raw message was ever kept
    legacy: LegacyParts | None = None  # those columns, for a rebuilt message


class _Rebuilder:
    def __init__(self, conn: Connection, tenant: Tenant) -> None:
        self.conn = conn
        self.tenant = tenant
        self.dicts: dict[int, bytes] = {}
        self.files: dict[str, list[AttachmentFile]] = defaultdict(list)

    def load_dictionaries(self, rows: list[StoredRawParts]) -> None:
        wanted = {r.dict_id for r in rows if r.dict_id is not None} - set(self.dicts)
        if wanted:
            self.dicts.update(
                dicts_repo.get_dicts(
                    self.conn, tenant_id=self.tenant.tenant_id, dict_ids=sorted(wanted)
                )
            )

    def _blobs(self, hashes: Iterable[bytes]) -> dict[bytes, bytes]:
        wanted = sorted(set(hashes))
        if not wanted:
            return {}
        blobs = repo.get_blobs(
            self.conn, tenant_id=self.tenant.tenant_id, hashes=wanted
        )
        return {b.sha256: decompress(b.data, b.compression) for b in blobs}

    def load_files(self, rows: list[StoredRawParts]) -> None:
        """The attachment rows of the messages that are rebuilt from legacy columns."""
        keys = [r.storage_key for r in rows if r.raw_form == "legacy"]
        self.files = defaultdict(list)
        if keys:
            found = repo.get_attachment_files(
                self.conn, tenant_id=self.tenant.tenant_id, keys=keys
            )
            for f in found:
                self.files[f.parent_storage_key].append(f)

    def _legacy(self, row: StoredRawParts, bundle: bytes) -> RebuiltMessage:
        files = self.files.get(row.storage_key, [])
        data = self._blobs(f.sha256 for f in files)
        parts = unbundle(bundle)
        raw = rebuild_message(
            parts,
            [
                RebuildFile(
                    f.filename, f.mime_type, f.storage_disposition, data[f.sha256]
                )
                for f in files
            ],
        )
        return RebuiltMessage(row, raw, False, None, rebuilt=True, legacy=parts)

    def rebuild(self, row: StoredRawParts) -> RebuiltMessage:
        if row.raw_form == "none" or row.raw_data is None:
            return RebuiltMessage(row, None, False, "no raw message stored")
        try:
            dict_data = self.dicts.get(row.dict_id) if row.dict_id is not None else None
            splices = row.raw_splices or []
            blobs = self._blobs(Splice.from_json(s).sha256 for s in splices)
            body = unpack_raw(
                row.raw_form,
                row.raw_data,
                row.raw_splices,
                row.compression,
                dict_data,
                blobs.__getitem__,
            )
            if row.raw_form == "legacy":
                return self._legacy(row, body)
        except Exception as exc:  # any decode failure is a finding, not a crash
            return RebuiltMessage(
                row, None, False, f"cannot rebuild: {type(exc).__name__}: {exc}"
            )
        ok = (
            row.raw_sha256 is not None
            and hashlib.sha256(body).digest() == row.raw_sha256
        )
        return RebuiltMessage(row, body, ok, None if ok else "sha256 mismatch")


def rebuild_messages(
    conn: Connection, tenant: Tenant, keys: list[str]
) -> Iterator[RebuiltMessage]:
    """Yield the given messages rebuilt from storage, in the order of keys."""
    rebuilder = _Rebuilder(conn, tenant)
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        with scoped(conn, tenant):
            rows = {
                r.storage_key: r
                for r in repo.get_raw_parts(
                    conn, tenant_id=tenant.tenant_id, keys=chunk
                )
            }
            rebuilder.load_dictionaries(list(rows.values()))
            rebuilder.load_files(list(rows.values()))
            rebuilt = [rebuilder.rebuild(rows[k]) for k in chunk if k in rows]
        yield from rebuilt
