"""Read RFC 3464 delivery-status fields, wherever a report happens to put them."""

from __future__ import annotations

import re

from pmail_cli.classify.reasons import (
    STATUS_RE,
    find_reply_code,
    find_status,
    paired_status,
)

_FIELD_RE = re.compile(r"^([A-Za-z][A-Za-z0-9-]{1,40})[ \t]*:[ \t]*(.*)$")
_ADDR_RE = re.compile(r"[^\s<>\"';:,()\[\]]+@[^\s<>\"';:,()\[\]]+\.[A-Za-z0-9-]+")
_RECIPIENT_KEYS = ("final-recipient", "original-recipient", "x-actual-recipient")
_BLOCK_KEYS = frozenset({*_RECIPIENT_KEYS, "action", "status", "diagnostic-code"})
_ACTIONS = ("failed", "delayed", "delivered", "relayed", "expanded")
MAX_BLOCKS = 100


def _blocks(text: str) -> list[dict[str, str]]:
    """Split report text into field blocks, unfolding continuation lines."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last: str | None = None
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
            current, last = {}, None
            continue
        if line[0] in " \t" and last is not None:
            current[last] += " " + line.strip()
            continue
        m = _FIELD_RE.match(line)
        if m is None:
            last = None
            continue
        key, value = m.group(1).lower(), m.group(2).strip()
        if key in current and key in _BLOCK_KEYS:
            # A second recipient without a blank line in between.
            blocks.append(current)
            current = {}
        current[key] = value
        last = key
        if len(blocks) > MAX_BLOCKS:
            break
    if current:
        blocks.append(current)
    return blocks


def recipient_blocks(text: str) -> list[dict[str, str]]:
    """Return the per-recipient field blocks found in report text."""
    found: list[dict[str, str]] = []
    for block in _blocks(text):
        has_rcpt = any(k in block for k in _RECIPIENT_KEYS)
        if (has_rcpt and ("action" in block or "status" in block)) or (
            "action" in block and "status" in block
        ):
            found.append(block)
    return found[:MAX_BLOCKS]


def has_report_fields(text: str) -> bool:
    """Return True when `text` holds at least one per-recipient DSN block."""
    low = text.lower()
    if "status:" not in low and "action:" not in low:
        return False
    return bool(recipient_blocks(text))


def address(value: str | None) -> str | None:
    """Return the bare lower-case address in a field like "rfc822; <a@b.c>"."""
    if not value:
        return None
    _, sep, rest = value.partition(";")
    candidate = rest if sep else value
    m = _ADDR_RE.search(candidate) or _ADDR_RE.search(value)
    if m is None:
        text = candidate.strip().strip("<>").strip()
        return text.lower() or None
    return m.group(0).strip(".").lower()


def strip_type(value: str | None) -> str | None:
    """Drop the "smtp;" / "dns;" type prefix of a typed DSN field."""
    if not value:
        return None
    kind, sep, rest = value.partition(";")
    if sep and " " not in kind.strip() and len(kind) < 20:
        value = rest
    return value.strip() or None


def action_of(block: dict[str, str]) -> str | None:
    """Return the normalised Action of a recipient block, or None."""
    value = block.get("action", "").strip().lower()
    for action in _ACTIONS:
        if value.startswith(action):
            return action
    return None


def reported_status_of(block: dict[str, str]) -> str | None:
    """Return the block's `Status:` field as the reporter wrote it (the first X.Y.Z
    in it, nothing else), or None when the block has none."""
    m = STATUS_RE.search(block.get("status", ""))
    return ".".join(m.groups()) if m is not None else None


def status_of(block: dict[str, str]) -> str | None:
    """Return the block's X.Y.Z status, sharpened by its diagnostic code."""
    declared = reported_status_of(block)
    diag = block.get("diagnostic-code", "")
    paired = paired_status(diag)
    if paired is not None:
        return paired  # the remote server's own words beat the reporter's
    found = find_status(diag)
    if declared is None:
        return found
    if found and declared.endswith(".0.0") and found[0] == declared[0]:
        return found
    return declared


def reply_code_of(block: dict[str, str]) -> int | None:
    """Return the SMTP reply code quoted in the block's diagnostic, or None."""
    diag = strip_type(block.get("diagnostic-code")) or ""
    return find_reply_code(diag[:200])
