"""The legacy columns as pmail keeps them, and back to a message. Pure.

A migrated legacy message has no raw message: its headers (the legacy jsonb, an
object or an array of pairs), text and HTML are kept exactly as one JSON document,
compressed in `raw_data` (raw_form `legacy`; docs/migrate-legacy.md). `bundle` makes
that document, `unbundle` reads it, and `rebuild_message` turns it and the files back
into a standard RFC 5322 message for export and show.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from email import encoders
from email._policybase import compat32  # not email.policy: it loads headerregistry too
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

from pmail_cli.mail.parse import clean_text

BUNDLE_VERSION = 1
REBUILT_HEADER = "X-Pmail-Rebuilt"
# the headers a rebuilt body sets itself (and classification replaces)
STRUCTURAL = frozenset({"content-type", "content-transfer-encoding", "mime-version"})


def header_pairs(headers: object) -> list[tuple[str, str]]:
    """(name, value) pairs of either legacy layout: an object, or an array of pairs."""
    if isinstance(headers, dict):
        items: Iterator[tuple[object, object]] = iter(headers.items())
    elif isinstance(headers, list):
        items = (
            (h[0], h[1]) for h in headers if isinstance(h, list | tuple) and len(h) == 2
        )
    else:
        return []
    return [(clean_text(str(k)), _value_text(v)) for k, v in items if str(k).strip()]


def _value_text(value: object) -> str:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return ", ".join(_value_text(v) for v in value)
    return "" if value is None else clean_text(json.dumps(value, ensure_ascii=False))


def bundle(headers: object, text: str | None, html: str | None) -> bytes:
    """The legacy columns as one JSON document (what raw_data keeps, compressed)."""
    return bundle_json(json.dumps(headers, ensure_ascii=False), text, html)


def bundle_json(headers_json: str | None, text: str | None, html: str | None) -> bytes:
    """`bundle`, with the headers as the JSON text they were read as (not re-encoded)."""
    dump = json.dumps
    body = (
        f'"text_is_html":true,"html":{dump(html, ensure_ascii=False)}'
        if text is not None and text == html
        else f'"text":{dump(text, ensure_ascii=False)},"html":{dump(html, ensure_ascii=False)}'
    )
    head = headers_json if headers_json is not None else "null"
    return f'{{"v":{BUNDLE_VERSION},"headers":{head},{body}}}'.encode()


@dataclass(frozen=True, slots=True)
class LegacyParts:
    """The legacy columns as kept in raw_data."""

    headers: object
    text: str | None
    html: str | None


def unbundle(data: bytes) -> LegacyParts:
    """Inverse of `bundle`."""
    doc = json.loads(data)
    html = doc.get("html")
    text = html if doc.get("text_is_html") else doc.get("text")
    return LegacyParts(doc.get("headers"), text, html)


@dataclass(frozen=True, slots=True)
class RebuildFile:
    """An attachment to put back into a rebuilt message."""

    filename: str | None
    mime_type: str | None
    disposition: str | None
    data: bytes


def rebuild_message(parts: LegacyParts, files: Sequence[RebuildFile]) -> bytes:
    """A standard RFC 5322 message (CRLF) made of the legacy columns and files.

    The legacy headers come first, in their order, except the MIME structure ones,
    which the rebuilt body sets; line breaks inside a value become spaces.
    `X-Pmail-Rebuilt` says that no raw message was kept. The same stored message
    always rebuilds to the same bytes (boundaries derive from its content).
    """
    seed = hashlib.sha256(
        bundle(parts.headers, parts.text, parts.html) + b"".join(f.data for f in files)
    ).hexdigest()[:24]
    body = _body(parts, seed)
    if files:
        mixed = MIMEMultipart("mixed", boundary=f"pmail-mixed-{seed}")
        del mixed["MIME-Version"]
        mixed.attach(body)
        for f in files:
            mixed.attach(_file_part(f))
        body = mixed
    out = Message()
    for name, value in header_pairs(parts.headers):
        if name.lower() not in STRUCTURAL:
            out[_header_name(name)] = _header_value(value)
    out[REBUILT_HEADER] = "from legacy columns; no raw message was kept"
    out["MIME-Version"] = "1.0"
    for name, value in body.items():
        out[name] = value
    out.set_payload(body.get_payload())
    return out.as_bytes(policy=compat32.clone(linesep="\r\n"))


def _body(parts: LegacyParts, seed: str) -> Message:
    text = parts.text if parts.text != parts.html else None
    pieces = [
        _part(MIMEText(value, subtype, "utf-8"))
        for value, subtype in ((text, "plain"), (parts.html, "html"))
        if value is not None
    ]
    if not pieces:
        return _part(MIMEText("", "plain", "utf-8"))
    if len(pieces) == 1:
        return pieces[0]
    alternative = _part(MIMEMultipart("alternative", boundary=f"pmail-alt-{seed}"))
    for piece in pieces:
        alternative.attach(piece)
    return alternative


def _part(part: Message) -> Message:
    del part["MIME-Version"]  # once, on the message itself
    return part


def _file_part(f: RebuildFile) -> Message:
    maintype, _, subtype = (f.mime_type or "application/octet-stream").partition("/")
    part = _part(MIMEBase(maintype or "application", subtype or "octet-stream"))
    part.set_payload(f.data)
    encoders.encode_base64(part)
    disposition = (
        f.disposition if f.disposition in ("attachment", "inline") else "attachment"
    )
    if f.filename:
        name = f.filename.replace("\r", " ").replace("\n", " ")
        part.add_header(
            "Content-Disposition", disposition, filename=("utf-8", "", name)
        )
    else:
        part.add_header("Content-Disposition", disposition)
    return part


def _header_name(name: str) -> str:
    cleaned = "".join(c for c in name if 33 <= ord(c) <= 126 and c != ":")
    return "-".join(w[:1].upper() + w[1:] for w in cleaned.split("-")) or "X-Unnamed"


def _header_value(value: str) -> str:
    flat = value.replace("\r", " ").replace("\n", " ")
    if flat.isascii():
        return flat
    return Header(flat, "utf-8", maxlinelen=10_000).encode()  # RFC 2047 words
