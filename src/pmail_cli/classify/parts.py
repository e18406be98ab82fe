"""Bounded, never-raising access to the MIME parts and text of a parsed message."""

from __future__ import annotations

import base64
import binascii
import codecs
import quopri
import re
from collections.abc import Mapping
from email.header import decode_header, make_header
from email.message import Message
from typing import Any

MAX_DEPTH = 8  # multipart nesting we follow; deeper parts are ignored
MAX_PARTS = 200  # parts we look at in one message
HEADER_LIMIT = 2000  # characters of any one header we read
TEXT_LIMIT = 64 * 1024  # characters of any one body we scan

_MSGID_RE = re.compile(r"<[^<>\s@]+@[^<>\s]+>|<[^<>\s]+>")
_MSGID_LINE_RE = re.compile(
    r"^>?\s*Message-ID:[ \t]*(?:\r?\n[ \t]+)?(<[^<>\s]+>)",
    re.IGNORECASE | re.MULTILINE,
)


def walk(msg: Message) -> list[Message]:
    """Return the message and its parts in document order, bounded in depth.

    message/rfc822 parts are returned but not entered: what they hold is the
    returned original, not part of the notice.
    """
    out: list[Message] = []
    stack: list[tuple[Message, int]] = [(msg, 0)]
    while stack and len(out) < MAX_PARTS:
        part, depth = stack.pop()
        out.append(part)
        if depth >= MAX_DEPTH or not part.is_multipart():
            continue
        if part.get_content_maintype() == "message":
            continue
        payload = part.get_payload()
        if isinstance(payload, list):
            children = [p for p in payload if isinstance(p, Message)]
            stack.extend((c, depth + 1) for c in reversed(children))
    return out


def content_type(part: Message) -> str:
    """Return the part's lower-case content type, "text/plain" when unusable."""
    try:
        return part.get_content_type()
    except Exception:
        return "text/plain"


def _clean(value: object) -> str:
    """Return a raw header value as one line; 8-bit bytes are read as UTF-8."""
    if not isinstance(value, str):
        return "" if value is None else str(value)[:HEADER_LIMIT]
    text = value[:HEADER_LIMIT]
    if not text.isascii():
        # compat32 keeps raw 8-bit header bytes as surrogate escapes.
        raw = text.encode("utf-8", errors="surrogateescape")
        text = raw.decode("utf-8", errors="replace")
    return " ".join(text.split())


def header(msg: Message, name: str) -> str:
    """Return a header as one line of text, "" when missing or undecodable.

    Encoded words are left for the caller to decode.
    """
    wanted = name.lower()
    try:
        return _clean(
            next((v for k, v in msg.raw_items() if k.lower() == wanted), None)
        )
    except Exception:
        return ""


def decoded(value: str) -> str:
    """Return a header value with its RFC 2047 encoded words decoded."""
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except Exception:
        return value


def header_index(msg: Message) -> dict[str, str]:
    """Return the first raw value of every header, by lower-case name."""
    index: dict[str, str] = {}
    try:
        for key, value in msg.raw_items():
            index.setdefault(key.lower(), value)
    except Exception:
        return {}
    return index


def indexed(index: Mapping[str, str], name: str) -> str:
    """Return a header from a header_index() as header() would."""
    return _clean(index.get(name.lower()))


def _charset(part: Message) -> str:
    try:
        name = part.get_content_charset() or "utf-8"
        codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return "utf-8"
    return name


def _decode_bytes(data: bytes, charset: str) -> str:
    data = data[: TEXT_LIMIT * 2]
    try:
        return data.decode(charset, errors="replace")[:TEXT_LIMIT]
    except (LookupError, ValueError):
        return data.decode("utf-8", errors="replace")[:TEXT_LIMIT]


def _decode_cte(text: str, cte: str) -> bytes:
    raw = text.encode("ascii", errors="surrogateescape")
    if cte == "base64":
        try:
            return base64.b64decode(b"".join(raw.split()) + b"==", validate=False)
        except (binascii.Error, ValueError):
            return raw
    if cte == "quoted-printable":
        # quopri only knows "=\n" soft breaks; CR-only mail has "=\r".
        return quopri.decodestring(raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n"))
    return raw


def _blocks_text(blocks: list[Message | str] | list[Any]) -> str:
    chunks: list[str] = []
    for block in blocks:
        if not isinstance(block, Message):
            continue
        lines = [f"{k}: {v}" for k, v in block.items()]
        body = block.get_payload()
        if isinstance(body, str) and body.strip():
            lines.append(body)
        chunks.append("\n".join(lines))
    return "\n\n".join(chunks)


def part_text(part: Message) -> str:
    """Return up to TEXT_LIMIT characters of a leaf part's decoded text.

    Line ends are normalised to "\\n" (CR-only and CRLF mail exists).
    """
    text = _part_text(part)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _part_text(part: Message) -> str:
    try:
        payload = part.get_payload()
        cte = header(part, "Content-Transfer-Encoding").lower()
        if isinstance(payload, list):
            text = _blocks_text(payload)
            if cte in ("base64", "quoted-printable") and ":" not in text[:200]:
                return _decode_bytes(_decode_cte(text, cte), _charset(part))
            return text[:TEXT_LIMIT]
        if not isinstance(payload, str):
            return ""
        head = payload[: TEXT_LIMIT * 2]
        if cte in ("base64", "quoted-printable"):
            return _decode_bytes(_decode_cte(head, cte), _charset(part))
        try:
            raw = head.encode("ascii", errors="surrogateescape")
        except UnicodeEncodeError:
            return head[:TEXT_LIMIT]  # compat32 already decoded the 8-bit body
        return _decode_bytes(raw, _charset(part))
    except Exception:
        return ""


_BINARY_TYPES = ("image/", "audio/", "video/", "application/", "font/", "model/")


def first_text(parts: list[Message]) -> str:
    """Return the text of the first text/plain part, else the first readable leaf.

    A multipart whose boundary was lost arrives as a leaf with the raw MIME
    text as payload; that is still worth reading.
    """
    fallback: Message | None = None
    for part in parts:
        if part.is_multipart():
            continue
        ctype = content_type(part)
        if ctype == "text/plain":
            return part_text(part)
        if fallback is None and not ctype.startswith(_BINARY_TYPES):
            fallback = part
    return part_text(fallback) if fallback is not None else ""


def message_id_in(value: str) -> str | None:
    """Return the first "<...>" message id in a header value, or None."""
    m = _MSGID_RE.search(value)
    return m.group(0) if m else None


def message_id_in_text(text: str) -> str | None:
    """Return the id of the first "Message-ID:" line in free text, or None."""
    m = _MSGID_LINE_RE.search(text)
    return m.group(1) if m else None


def attached_message(part: Message) -> Message | None:
    """Return the message inside a message/rfc822 part, or None."""
    try:
        payload = part.get_payload()
    except Exception:
        return None
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    return None
