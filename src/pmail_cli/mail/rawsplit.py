"""Take attachment bytes out of a raw message and put them back, exactly.

A base64 attachment is stored once per tenant (decoded, keyed by sha256). The raw
message keeps a skeleton: the raw bytes with each such attachment's encoded body cut
out, plus a splice record saying where it went and how it was encoded (line length,
line ending, final newline). Reassembly re-encodes the decoded bytes and must give
back the original sha256; a part whose re-encoding would differ is never cut out.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pmail_cli.mail.memo import remember_small
from pmail_cli.mail.parse import AttachmentPart

MIN_SPLICE_BYTES = 512  # smaller parts are not worth a splice record


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
    flat = base64.b64encode(data)
    if line_length <= 0:
        body = flat
    else:
        body = eol.join(
            [flat[i : i + line_length] for i in range(0, len(flat), line_length)]
        )
    return body + eol if final_eol and body else body


def is_layout_of(
    encoded: bytes, data: bytes, *, line_length: int, eol: bytes, final_eol: bool
) -> bool:
    """Whether `encode_base64(data, ...) == encoded`, checked without building it.

    Building the line layout costs a Python slice per line; this checks the same
    thing with a few whole-buffer operations: the length, every line break at its
    place (strided slices), and the text between them equal to the flat encoding.
    """
    flat = base64.b64encode(data)
    if line_length <= 0 or not flat:
        return (
            encode_base64(data, line_length=line_length, eol=eol, final_eol=final_eol)
            == encoded
        )
    breaks = -(-len(flat) // line_length) - 1  # between lines; the final one apart
    body_len = len(flat) + breaks * len(eol)
    if len(encoded) != body_len + (len(eol) if final_eol else 0):
        return False
    if final_eol and not encoded.endswith(eol):
        return False
    body = encoded[:body_len]
    stride = line_length + len(eol)
    for i in range(len(eol)):
        if body[line_length + i :: stride] != eol[i : i + 1] * breaks:
            return False
    return body.replace(eol, b"") == flat


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


@remember_small()  # repeated attachments are checked once per process
def _canonical_layout(encoded: str, data: bytes) -> tuple[int, bytes, bool] | None:
    """The layout `encoded` has if it is exactly encode_base64(data, layout), else None.

    Checked block by block (a few thousand lines at a time), so a 70 MB attachment
    costs no copy of itself."""
    if len(encoded) <= BLOCK or encoded.find("\n", 0, BLOCK) == -1:
        whole = encoded.encode("ascii", "surrogateescape")
        layout = _layout(whole)
        if layout is None:
            return None
        line_length, eol, final = layout
        ok = is_layout_of(
            whole, data, line_length=line_length, eol=eol, final_eol=final
        )
        return (line_length, eol, final) if ok else None
    first = _layout(encoded[:BLOCK].encode("ascii", "surrogateescape"))
    if first is None or first[0] <= 0:
        return None
    line_length, eol, _ = first
    final = encoded.endswith(eol.decode())
    lines = 4 * max(1, BLOCK // (4 * line_length))  # whole lines, whole quanta
    chars, size = lines * (line_length + len(eol)), lines * line_length * 3 // 4
    at = 0
    for start in range(0, len(data), size):
        piece = data[start : start + size]
        last = start + size >= len(data)
        text = encoded[at:] if last else encoded[at : at + chars]
        if not is_layout_of(
            text.encode("ascii", "surrogateescape"),
            piece,
            line_length=line_length,
            eol=eol,
            final_eol=final if last else True,
        ):
            return None
        at += len(text)
    return (line_length, eol, final) if at == len(encoded) else None


BLOCK = 1 << 20  # characters compared at a time


def split_raw(raw: bytes, attachments: Sequence[AttachmentPart]) -> SplitRaw:
    """Cut verifiably re-encodable base64 attachments out of raw."""
    return _split(raw, attachments)[0]


def _find(raw: bytes, encoded: str, cursor: int) -> int:
    """Where `encoded` (as bytes) occurs in raw from cursor, or -1; found by its
    first block and compared block by block, never encoded whole."""
    size = len(encoded)
    head = encoded[:BLOCK].encode("ascii", "surrogateescape")
    at = raw.find(head, cursor)
    while at != -1 and at + size <= len(raw):
        if all(
            raw[at + i : at + min(i + BLOCK, size)]
            == encoded[i : i + BLOCK].encode("ascii", "surrogateescape")
            for i in range(BLOCK, size, BLOCK)
        ):
            return at
        at = raw.find(head, at + 1)
    return -1


def _split(
    raw: bytes, attachments: Sequence[AttachmentPart]
) -> tuple[SplitRaw, list[tuple[int, int]]]:
    """The split and where (offset, length) in raw each cut piece was."""
    pieces: list[bytes] = []
    cut: list[tuple[int, int]] = []
    splices: list[Splice] = []
    cursor = 0
    skeleton_len = 0
    for part in attachments:
        if part.transfer_encoding != "base64" or len(part.data) < MIN_SPLICE_BYTES:
            continue
        layout = _canonical_layout(part.encoded, part.data)
        if layout is None:
            continue  # not the canonical encoding of its bytes: keep it in the raw
        line_length, eol, final = layout
        at = _find(raw, part.encoded, cursor)
        if at == -1:
            continue
        pieces.append(raw[cursor:at])
        skeleton_len += at - cursor
        splices.append(Splice(skeleton_len, part.sha256, line_length, eol, final))
        cut.append((at, len(part.encoded)))
        cursor = at + len(part.encoded)
    if not splices:
        return SplitRaw(raw, ()), []
    pieces.append(raw[cursor:])
    return SplitRaw(b"".join(pieces), tuple(splices)), cut


def _join(
    skeleton: bytes, splices: Sequence[Splice], encoded: Sequence[bytes]
) -> bytes:
    out: list[bytes] = []
    cursor = 0
    for splice, piece in zip(splices, encoded, strict=True):
        out.append(skeleton[cursor : splice.offset])
        out.append(piece)
        cursor = splice.offset
    out.append(skeleton[cursor:])
    return b"".join(out)


def _joins_to(
    raw: bytes,
    skeleton: bytes,
    splices: Sequence[Splice],
    cut: Sequence[tuple[int, int]],
) -> bool:
    """Whether `_join(skeleton, splices, the cut pieces of raw) == raw`, compared
    piece by piece instead of built."""
    at = 0  # how far into raw the join has been compared
    cursor = 0
    for splice, (start, length) in zip(splices, cut, strict=True):
        kept = splice.offset - cursor
        if not _same(skeleton, cursor, raw, at, kept):
            return False
        at += kept
        if not _same(raw, start, raw, at, length):
            return False
        at += length
        cursor = splice.offset
    rest = len(skeleton) - cursor
    return at + rest == len(raw) and _same(skeleton, cursor, raw, at, rest)


def _same(a: bytes, a_at: int, b: bytes, b_at: int, length: int) -> bool:
    """a[a_at:a_at+length] == b[b_at:b_at+length], a block at a time."""
    if a is b and a_at == b_at:
        return b_at + length <= len(b)
    if a_at + length > len(a) or b_at + length > len(b):
        return False
    with memoryview(a) as left, memoryview(b) as right:
        for i in range(0, length, BLOCK):
            n = min(BLOCK, length - i)
            if left[a_at + i : a_at + i + n] != right[b_at + i : b_at + i + n]:
                return False
    return True


def reassemble(
    skeleton: bytes, splices: Sequence[Splice], fetch: Callable[[bytes], bytes]
) -> bytes:
    """Rebuild the raw message; fetch(sha256) returns an attachment's decoded bytes."""
    encoded = [
        encode_base64(
            fetch(s.sha256), line_length=s.line_length, eol=s.eol, final_eol=s.final_eol
        )
        for s in splices
    ]
    return _join(skeleton, splices, encoded)


def verified_split(raw: bytes, attachments: Sequence[AttachmentPart]) -> SplitRaw:
    """split_raw, checked: reassembly must give back raw exactly, else keep raw whole.

    Each cut part is checked to be exactly `encode_base64` of its decoded bytes with
    the recorded layout (`is_layout_of`), so here the skeleton joined with the cut
    bytes themselves, through the same offsets `reassemble` uses, is compared with
    raw (piece by piece: nothing is built). Re-encoding every attachment a second
    time would prove no more.
    """
    split, cut = _split(raw, attachments)
    if split.splices and not _joins_to(raw, split.skeleton, split.splices, cut):
        return SplitRaw(raw, ())
    return split
