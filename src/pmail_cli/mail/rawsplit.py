"""Take attachment bytes out of a raw message and put them back, exactly.

A base64 attachment is stored once per tenant (decoded, keyed by sha256). The raw
message keeps a skeleton: the raw bytes with each such attachment's encoded body cut
out, plus a splice record saying where it went and how it was encoded (line length,
line ending, final newline). Reassembly re-encodes the decoded bytes and must give
back the original sha256; a part whose re-encoding would differ is never cut out.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pmail_cli.mail.parse import AttachmentPart

MIN_SPLICE_BYTES = 512  # smaller parts are not worth a splice record
MIME_LINE = 76  # what RFC 2045 encoders write, and what base64.encodebytes writes


@dataclass(frozen=True, slots=True)
class Splice:
    """Where one encoded attachment was cut from the raw message, and how to redo it."""

    offset: int  # position in the skeleton where the encoded bytes go back
    sha256: bytes
    line_length: int
    eol: bytes
    final_eol: bool

    def to_json(self) -> list[object]:
        """Compact JSON form: [offset, sha256 hex, line length, eol, final eol]."""
        return [
            self.offset,
            self.sha256.hex(),
            self.line_length,
            self.eol.decode(),
            self.final_eol,
        ]

    @classmethod
    def from_json(cls, value: Sequence[object]) -> Splice:
        """Inverse of to_json."""
        offset, sha, length, eol, final = value
        return cls(
            int(str(offset)),
            bytes.fromhex(str(sha)),
            int(str(length)),
            str(eol).encode(),
            bool(final),
        )


@dataclass(frozen=True, slots=True)
class SplitRaw:
    """The skeleton and its splices; splices is empty when nothing was cut."""

    skeleton: bytes
    splices: tuple[Splice, ...]


def encode_base64(
    data: bytes, *, line_length: int, eol: bytes, final_eol: bool
) -> bytes:
    """Encode data as MIME base64 with the given line layout."""
    if line_length == MIME_LINE and data:
        body = base64.encodebytes(data)  # 76-character lines, in C
        if eol != b"\n":
            body = body.replace(b"\n", eol)
        return body if final_eol else body[: -len(eol)]
    flat = base64.b64encode(data)
    if line_length <= 0:
        body = flat
    else:
        body = eol.join(
            [flat[i : i + line_length] for i in range(0, len(flat), line_length)]
        )
    return body + eol if final_eol and body else body


def _layout(encoded: bytes) -> tuple[int, bytes, bool] | None:
    """Infer (line length, eol, final eol) from an encoded body, or None if irregular."""
    first_nl = encoded.find(b"\n")
    if first_nl == -1:
        return len(encoded), b"\r\n", False
    eol = (
        b"\r\n" if first_nl > 0 and encoded[first_nl - 1 : first_nl] == b"\r" else b"\n"
    )
    line_length = first_nl - (len(eol) - 1)
    final = encoded.endswith(eol)
    return line_length, eol, final


def split_raw(raw: bytes, attachments: Sequence[AttachmentPart]) -> SplitRaw:
    """Cut verifiably re-encodable base64 attachments out of raw."""
    pieces: list[bytes] = []
    splices: list[Splice] = []
    cursor = 0
    skeleton_len = 0
    for part in attachments:
        if part.transfer_encoding != "base64" or len(part.data) < MIN_SPLICE_BYTES:
            continue
        encoded = part.encoded.encode("ascii", "surrogateescape")
        layout = _layout(encoded)
        if layout is None:
            continue
        line_length, eol, final = layout
        if (
            encode_base64(part.data, line_length=line_length, eol=eol, final_eol=final)
            != encoded
        ):
            continue
        at = raw.find(encoded, cursor)
        if at == -1:
            continue
        pieces.append(raw[cursor:at])
        skeleton_len += at - cursor
        splices.append(Splice(skeleton_len, part.sha256, line_length, eol, final))
        cursor = at + len(encoded)
    if not splices:
        return SplitRaw(raw, ())
    pieces.append(raw[cursor:])
    return SplitRaw(b"".join(pieces), tuple(splices))


def reassemble(
    skeleton: bytes, splices: Sequence[Splice], fetch: Callable[[bytes], bytes]
) -> bytes:
    """Rebuild the raw message; fetch(sha256) returns an attachment's decoded bytes."""
    out: list[bytes] = []
    cursor = 0
    for splice in splices:
        out.append(skeleton[cursor : splice.offset])
        out.append(
            encode_base64(
                fetch(splice.sha256),
                line_length=splice.line_length,
                eol=splice.eol,
                final_eol=splice.final_eol,
            )
        )
        cursor = splice.offset
    out.append(skeleton[cursor:])
    return b"".join(out)


def verified_split(raw: bytes, attachments: Sequence[AttachmentPart]) -> SplitRaw:
    """split_raw, checked: reassembly must give back raw's sha256, else keep raw whole."""
    split = split_raw(raw, attachments)
    if not split.splices:
        return split
    by_hash = {part.sha256: part.data for part in attachments}
    rebuilt = reassemble(split.skeleton, split.splices, by_hash.__getitem__)
    if hashlib.sha256(rebuilt).digest() != hashlib.sha256(raw).digest():
        return SplitRaw(raw, ())
    return split
