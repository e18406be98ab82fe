"""Classify messages from files without storing them (no database needed)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import BinaryIO

from pmail_cli.classify import classify_bytes
from pmail_cli.config import MAX_MESSAGE_BYTES
from pmail_cli.errors import UsageError
from pmail_cli.sources import EmptyInput, ReadFailure, Skipped, TooLarge, WorkItem
from pmail_cli.sources.files import read_paths, reading_mode, refuse_missing


def classify_paths(
    paths: list[str],
    *,
    as_format: str | None = None,
    stdin: BinaryIO | None = None,
    explain: bool = False,
    skipped: list[Skipped] | None = None,
    empty: list[str] | None = None,
    max_bytes: int = MAX_MESSAGE_BYTES,
) -> Iterator[dict[str, object]]:
    """Yield one record per message found under paths (unreadable inputs get an error).

    `explain` adds, per message and per recipient, the rule behind each answer; what
    a directory walk leaves out is appended to `skipped`, inputs that hold no message
    (0 bytes, blank) to `empty`. A message over max_bytes gets an error and is not
    read whole.
    """
    as_mbox = reading_mode(as_format)
    if not paths:
        raise UsageError(
            "no input given", hint="pass files, directories, mbox files or -"
        )
    refuse_missing(paths, undone="classified")
    for event in read_paths(paths, as_mbox=as_mbox, stdin=stdin, max_bytes=max_bytes):
        if isinstance(event, Skipped):
            if skipped is not None:
                skipped.append(event)
            continue
        if isinstance(event, EmptyInput):
            if empty is not None:
                empty.append(event.origin)
            continue  # nothing to classify
        if isinstance(event, ReadFailure | TooLarge):
            reason = event.reason if isinstance(event, ReadFailure) else None
            error = reason or (event.describe() if isinstance(event, TooLarge) else "")
            yield {"path": event.origin, "index": None, "error": error}
            continue
        assert isinstance(event, WorkItem) and event.raw is not None
        index = event.position
        path = event.origin.rsplit("#", 1)[0] if index is not None else event.origin
        yield {
            "path": path,
            "index": index,
            **classify_bytes(event.raw).to_dict(explain=explain),
        }


def flat(record: dict[str, object], *, explain: bool = False) -> dict[str, object]:
    """One table/csv row: the first recipient's facts beside the message's kind.

    `explain` adds the rule behind the kind and the first recipient's reasons.
    """
    recipients = record.get("recipients") or []
    first = recipients[0] if isinstance(recipients, list) and recipients else {}
    assert isinstance(first, dict)
    row: dict[str, object] = {
        "path": record["path"],
        "index": record.get("index"),
        "kind": record.get("kind", "error"),
        "is_reply": record.get("is_reply"),
        "recipients": len(recipients) if isinstance(recipients, list) else 0,
        "recipient": first.get("recipient"),
        "status": first.get("status"),
        "reported_status": first.get("reported_status"),
        "reason": first.get("reason"),
        "hard": first.get("hard"),
        "original_message_id": record.get("original_message_id"),
    }
    if explain:
        why = first.get("explain") or {}
        assert isinstance(why, dict)
        row["kind_rule"] = record.get("explain")
        row["found_by"] = why.get("found_by")
        row["reason_rule"] = why.get("reason")
        row["hard_rule"] = why.get("hard")
        evidence = why.get("evidence")
        row["evidence"] = "; ".join(evidence) if isinstance(evidence, list) else None
    return row


def jsonl(record: dict[str, object]) -> str:
    """One JSON object on one line."""
    return json.dumps(record, ensure_ascii=False)


def explanation(record: dict[str, object]) -> list[str]:
    """Lines saying how one message's kind and each recipient's facts were decided."""
    where = (
        record["path"]
        if record.get("index") is None
        else f"{record['path']}#{record['index']}"
    )
    if "error" in record:
        return [f"{where}: error: {record['error']}"]
    lines = [f"{where}: {record['kind']}", f"  because: {record.get('explain')}"]
    recipients = record.get("recipients")
    for fact in recipients if isinstance(recipients, list) else []:
        assert isinstance(fact, dict)
        why = fact.get("explain") or {}
        assert isinstance(why, dict)
        hard = "hard" if fact.get("hard") else "soft"
        lines.append(
            f"  {fact.get('recipient') or '(no recipient found)'}: "
            f"{fact.get('status') or '-'} {fact.get('reason')} {hard}"
        )
        lines.append(f"    found by:  {why.get('found_by', '-')}")
        if fact.get("reported_status") is not None:
            lines.append(f"    reported:  {_reported(fact)}")
        lines.append(f"    reason:    {why.get('reason', '-')}")
        lines.append(f"    hard/soft: {why.get('hard', '-')}")
        evidence = why.get("evidence")
        for number, item in enumerate(evidence if isinstance(evidence, list) else []):
            lines.append(f"    {'evidence:' if number == 0 else '':<10} {item}")
    return lines


def _reported(fact: dict[str, object]) -> str:
    """The DSN's own Status field beside the status pmail reports, in words."""
    reported = fact.get("reported_status")
    if reported == fact.get("status"):
        return f"{reported} (the DSN's Status: field, the same)"
    return (
        f"{reported} (the DSN's Status: field; status above is the code the notice "
        "quotes)"
    )
