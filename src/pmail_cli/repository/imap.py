"""IMAP import state: per-folder checkpoints and folder memberships."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from psycopg.rows import class_row

from pmail_cli.db import Connection
from pmail_cli.sqlfiles import load_sql


@dataclass(frozen=True, slots=True)
class FolderState:
    """Where the import of one folder stands."""

    uidvalidity: int
    last_uid: int
    highest_modseq: int | None


def get_folder_state(
    conn: Connection, *, tenant_id: uuid.UUID, email_account_id: uuid.UUID, folder: str
) -> FolderState | None:
    """Return the folder's checkpoint, or None before its first import."""
    with conn.cursor(row_factory=class_row(FolderState)) as cur:
        cur.execute(
            load_sql("imap/get_folder_state"),
            {
                "tenant_id": tenant_id,
                "email_account_id": email_account_id,
                "folder": folder,
            },
        )
        return cur.fetchone()


def save_folder_state(
    conn: Connection,
    *,
    tenant_id: uuid.UUID,
    email_account_id: uuid.UUID,
    folder: str,
    uidvalidity: int,
    last_uid: int,
    highest_modseq: int | None,
    direction: str,
) -> None:
    """Record the folder's checkpoint (last_uid never moves back within a UIDVALIDITY)."""
    conn.execute(
        load_sql("imap/save_folder_state"),
        {
            "tenant_id": tenant_id,
            "email_account_id": email_account_id,
            "folder": folder,
            "uidvalidity": uidvalidity,
            "last_uid": last_uid,
            "highest_modseq": highest_modseq,
            "direction": direction,
        },
    )


def forget_stale_memberships(
    conn: Connection,
    *,
    tenant_id: uuid.UUID,
    email_account_id: uuid.UUID,
    folder: str,
    uidvalidity: int,
) -> None:
    """Drop memberships recorded under another UIDVALIDITY of the folder."""
    conn.execute(
        load_sql("imap/forget_stale_memberships"),
        {
            "tenant_id": tenant_id,
            "email_account_id": email_account_id,
            "folder": folder,
            "uidvalidity": uidvalidity,
        },
    )


def insert_memberships(
    conn: Connection,
    *,
    tenant_id: uuid.UUID,
    email_account_id: uuid.UUID,
    folder: str,
    uidvalidity: int,
    uids: list[int],
    keys: list[str],
) -> None:
    """Record that the messages with these keys sit in the folder under these UIDs."""
    conn.execute(
        load_sql("imap/insert_memberships"),
        {
            "tenant_id": tenant_id,
            "email_account_id": email_account_id,
            "folder": folder,
            "uidvalidity": uidvalidity,
            "uids": uids,
            "keys": keys,
        },
    )


@dataclass(frozen=True, slots=True)
class RefusedMessage:
    """A message of a folder refused for its size, remembered for the next runs."""

    uid: int
    size_bytes: int


def list_refused(
    conn: Connection,
    *,
    tenant_id: uuid.UUID,
    email_account_id: uuid.UUID,
    folder: str,
    uidvalidity: int,
) -> list[RefusedMessage]:
    """The folder's messages refused for their size under this UIDVALIDITY."""
    with conn.cursor(row_factory=class_row(RefusedMessage)) as cur:
        cur.execute(
            load_sql("imap/list_refused"),
            {
                "tenant_id": tenant_id,
                "email_account_id": email_account_id,
                "folder": folder,
                "uidvalidity": uidvalidity,
            },
        )
        return cur.fetchall()


def save_refused(
    conn: Connection,
    *,
    tenant_id: uuid.UUID,
    email_account_id: uuid.UUID,
    folder: str,
    uidvalidity: int,
    refused: list[tuple[int, int]],
    max_bytes: int,
) -> None:
    """Remember messages (uid, size) refused for being over max_bytes."""
    conn.execute(
        load_sql("imap/save_refused"),
        {
            "tenant_id": tenant_id,
            "email_account_id": email_account_id,
            "folder": folder,
            "uidvalidity": uidvalidity,
            "uids": [uid for uid, _ in refused],
            "sizes": [size for _, size in refused],
            "max_bytes": max_bytes,
        },
    )


def forget_refused(
    conn: Connection,
    *,
    tenant_id: uuid.UUID,
    email_account_id: uuid.UUID,
    folder: str,
    uidvalidity: int,
    uids: list[int],
) -> None:
    """Forget refused messages stored since or gone, and any of another UIDVALIDITY."""
    conn.execute(
        load_sql("imap/forget_refused"),
        {
            "tenant_id": tenant_id,
            "email_account_id": email_account_id,
            "folder": folder,
            "uidvalidity": uidvalidity,
            "uids": uids,
        },
    )
