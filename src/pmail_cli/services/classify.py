"""Classify messages from files without storing them (no database needed)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import BinaryIO

from pmail_cli.classify import classify_bytes
from pmail_cli.errors import UsageError
from pmail_cli.sources import EmptyInput, NotMail, ReadFailure, WorkItem
from pmail_cli.sources.files import missing_paths, read_paths, reading_mode


def classify_paths(
    paths: list[str], *, as_format: str | None = None, stdin: BinaryIO | None = None
) -> Iterator[dict[str, object]]:
    """Yield one record per message found under paths (unreadable inputs get an error)."""
    as_mbox = reading_mode(as_format)
    if not paths:
        raise UsageError(
            "no input given", hint="pass files, directories, mbox files or -"
        )
    missing = missing_paths(paths)
    if missing:
        raise UsageError(f"no such file or directory: {missing[0]}")
    for event in read_paths(paths, as_mbox=as_mbox, stdin=stdin):
        if isinstance(event, EmptyInput | NotMail):
            continue  # nothing to classify
        if isinstance(event, ReadFailure):
            yield {"path": event.origin, "index": None, "error": event.reason}
            continue
        assert isinstance(event, WorkItem) and event.raw is not None
        index = event.position
        path = event.origin.rsplit("#", 1)[0] if index is not None else event.origin
        yield {"path": path, "index": index, **classify_bytes(event.raw).to_dict()}


def flat(record: dict[str, object]) -> dict[str, object]:
    """One table/csv row: the first recipient's facts beside the message's kind."""
    recipients = record.get("recipients") or []
    first = recipients[0] if isinstance(recipients, list) and recipients else {}
    assert isinstance(first, dict)
    return {
        "path": record["path"],
        "index": record.get("index"),
        "kind": record.get("kind", "error"),
        "is_reply": record.get("is_reply"),
        "recipients": len(recipients) if isinstance(recipients, list) else 0,
        "recipient": first.get("recipient"),
        "status": first.get("status"),
        "reason": first.get("reason"),
        "hard": first.get("hard"),
        "original_message_id": record.get("original_message_id"),
    }


def jsonl(record: dict[str, object]) -> str:
    """One JSON object on one line."""
    return json.dumps(record, ensure_ascii=False)
