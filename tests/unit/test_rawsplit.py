"""Base64 re-encoding and the attachment splice must give back the exact bytes."""

from __future__ import annotations

import base64
import hashlib
import random

import pytest

from pmail_cli.mail.parse import parse_message
from pmail_cli.mail.rawsplit import (
    encode_base64,
    is_layout_of,
    reassemble,
    verified_split,
)


def _reference(data: bytes, line_length: int, eol: bytes, final_eol: bool) -> bytes:
    flat = base64.b64encode(data)
    if line_length <= 0:
        body = flat
    else:
        step = range(0, len(flat), line_length)
        body = eol.join(flat[i : i + line_length] for i in step)
    return body + eol if final_eol and body else body


@pytest.mark.parametrize("size", [0, 1, 2, 56, 57, 58, 114, 1000, 4097])
@pytest.mark.parametrize("line_length", [76, 64, 72, 0])
@pytest.mark.parametrize("eol", [b"\r\n", b"\n"])
@pytest.mark.parametrize("final_eol", [True, False])
def test_encode_base64_matches_the_plain_layout(
    size: int, line_length: int, eol: bytes, final_eol: bool
) -> None:
    data = random.Random(size).randbytes(size)
    got = encode_base64(data, line_length=line_length, eol=eol, final_eol=final_eol)
    assert got == _reference(data, line_length, eol, final_eol)


@pytest.mark.parametrize("line_length", [76, 64])
@pytest.mark.parametrize("eol", ["\r\n", "\n"])
@pytest.mark.parametrize("final_eol", [True, False])
def test_split_cuts_the_attachment_and_reassembles_exactly(
    line_length: int, eol: str, final_eol: bool
) -> None:
    data = random.Random(7).randbytes(3000)
    body = _reference(data, line_length, eol.encode(), final_eol).decode()
    raw = eol.join(
        [
            "Subject: report",
            'Content-Type: multipart/mixed; boundary="b"',
            "",
            "--b",
            "Content-Type: text/plain",
            "",
            "see attached",
            "--b",
            'Content-Type: application/pdf; name="r.pdf"',
            "Content-Transfer-Encoding: base64",
            "",
            body + ("" if final_eol else eol) + "--b--",
            "",
        ]
    ).encode()
    parsed = parse_message(raw)
    split = verified_split(raw, parsed.attachments)
    assert len(split.splices) == 1
    assert len(split.skeleton) < len(raw) - 3000
    rebuilt = reassemble(
        split.skeleton, split.splices, {split.splices[0].sha256: data}.__getitem__
    )
    assert hashlib.sha256(rebuilt).digest() == hashlib.sha256(raw).digest()


def _variants(encoded: bytes, rng: random.Random) -> list[bytes]:
    """The encoding itself and small corruptions of it."""
    out = [encoded, encoded + b"\n", encoded[:-1], b"\r" + encoded, encoded + b"="]
    for _ in range(6):
        at = rng.randrange(len(encoded) + 1)
        out.append(
            encoded[:at] + rng.choice([b"\n", b"\r\n", b"A", b" "]) + encoded[at:]
        )
        if encoded:
            out.append(encoded[:at] + encoded[at + 1 :])  # a byte dropped
    nl = encoded.find(b"\n")
    if nl > 0:  # a line break moved by one
        out.append(encoded[: nl - 1] + b"\n" + encoded[nl - 1 : nl] + encoded[nl + 1 :])
    return out


@pytest.mark.parametrize("size", [1, 57, 58, 570, 571, 3000])
@pytest.mark.parametrize("line_length", [76, 64, 4])
@pytest.mark.parametrize("eol", [b"\r\n", b"\n"])
def test_is_layout_of_agrees_with_encoding(
    size: int, line_length: int, eol: bytes
) -> None:
    rng = random.Random(size * line_length)
    data = rng.randbytes(size)
    for final_eol in (True, False):
        layout = {"line_length": line_length, "eol": eol, "final_eol": final_eol}
        encoded = encode_base64(data, **layout)  # type: ignore[arg-type]
        for candidate in _variants(encoded, rng):
            expected = candidate == encoded
            assert is_layout_of(candidate, data, **layout) is expected  # type: ignore[arg-type]
