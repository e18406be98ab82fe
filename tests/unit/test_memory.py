"""Preparing one big message costs about two more copies of it, no more (issue 24,
point 4): base64 decoded straight from the payload, attachments found and checked
block by block, the big texts let go before the files are compressed."""

from __future__ import annotations

import base64
import email
import email.message
import random
import tracemalloc
from email._policybase import compat32

import pytest

from pmail_cli.batch import WorkItem
from pmail_cli.mail import parse, rawsplit
from pmail_cli.mail.prepare import PrepareContext, prepare_message
from pmail_cli.mail.rawsplit import reassemble, verified_split

TENANT = "00000000-0000-0000-0000-000000000001"


def _attachment_message(
    body: bytes, *, cte: str = "base64", eol: bytes = b"\n"
) -> bytes:
    head = (
        b"From: a@example.org\nSubject: x\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="b"\n\n--b\n'
        b"Content-Type: text/plain\n\nhello\n\n--b\n"
        b"Content-Type: application/octet-stream; name=f.bin\n"
        b"Content-Transfer-Encoding: " + cte.encode() + b"\n\n"
    )
    return (head + body + b"\n--b--\n").replace(b"\n", eol)


def _base64_bodies() -> list[bytes]:
    rng = random.Random(5)
    data = rng.randbytes(3000)
    flat = base64.b64encode(data)
    lines76 = base64.encodebytes(data)
    return [
        lines76,
        lines76.rstrip(b"\n"),
        lines76.replace(b"\n", b"\r\n"),
        base64.b64encode(data[:-1]) + b"\n",  # one = of padding
        base64.b64encode(data[:-2]) + b"\n",  # two
        flat[:-1] + b"\n",  # padding missing
        flat[:100] + b"=" + flat[100:],  # padding in the middle
        flat[:100] + b"!" + flat[100:],  # not base64
        flat[:100] + b" " + flat[100:],  # a space
        flat + b"===\n",  # too much padding
        flat[:101],  # length 1 more than a multiple of 4
        b"",
        b"\n\n",
        "caf\u00e9".encode() + flat,  # 8-bit
    ]


def _second_part(raw: bytes) -> email.message.Message:
    parts = email.message_from_bytes(raw, policy=compat32).get_payload()
    assert isinstance(parts, list) and isinstance(parts[1], email.message.Message)
    return parts[1]


@pytest.mark.parametrize("body", _base64_bodies())
def test_base64_is_decoded_as_the_standard_library_decodes_it(body: bytes) -> None:
    """Well-formed or not, the bytes and the defects are the standard library's."""
    for eol in (b"\n", b"\r\n"):
        raw = _attachment_message(body, eol=eol)
        ours = _second_part(raw)
        theirs = _second_part(raw)
        data, _ = parse._decode(ours)
        assert data == theirs.get_payload(decode=True)
        assert [type(d) for d in ours.defects] == [type(d) for d in theirs.defects]


@pytest.mark.parametrize("block", [64, 100, 1000])
def test_attachments_are_split_alike_in_small_blocks(
    monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    """With blocks far smaller than the attachment (the path big mail takes), the
    split is the one whole-buffer checks give, and it reassembles exactly."""
    rng = random.Random(block)
    messages = []
    for length, eol in ((76, b"\n"), (76, b"\r\n"), (64, b"\n"), (72, b"\r\n")):
        encoded = rawsplit.encode_base64(
            rng.randbytes(5000), line_length=length, eol=eol, final_eol=True
        )
        messages.append(_attachment_message(encoded.replace(b"\r\n", b"\n"), eol=eol))
        broken = encoded[:700] + encoded[700:].replace(eol, b"", 1)  # one long line
        messages.append(_attachment_message(broken.replace(b"\r\n", b"\n"), eol=eol))
    expected = []
    for raw in messages:
        parsed = parse.parse_message(raw)
        expected.append(verified_split(raw, parsed.attachments))
    monkeypatch.setattr(rawsplit, "BLOCK", block)
    for raw, want in zip(messages, expected, strict=True):
        parsed = parse.parse_message(raw)
        files = {a.sha256: a.data for a in parsed.attachments}
        got = rawsplit._split(raw, parsed.attachments)[0]  # no cached layouts
        assert got == want
        assert reassemble(got.skeleton, got.splices, files.__getitem__) == raw
    assert sum(1 for s in expected if s.splices) == 4  # the regular ones are cut


def test_preparing_a_big_message_holds_two_more_copies() -> None:
    """tracemalloc's peak while one 8 MB message (a base64 attachment) is parsed,
    split, classified and compressed stays under 2.1 times its size (plus a few
    blocks of 1 MB) beside the raw bytes themselves (the old code: 4.7 times)."""
    data = random.Random(1).randbytes(6 * 1024 * 1024)
    raw = _attachment_message(base64.encodebytes(data))
    ctx = PrepareContext(tenant_id=TENANT, direction="inbound")
    small = _attachment_message(base64.encodebytes(data[:100_000]))
    prepare_message(WorkItem("warm-up", small), ctx)  # imports, caches
    tracemalloc.start()
    try:
        prepared = prepare_message(WorkItem("big", raw), ctx)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert prepared.content is not None and prepared.content.raw_form == "spliced"
    blocks = 6 * rawsplit.BLOCK  # what is checked a block at a time, at once
    assert peak < 2.1 * len(raw) + blocks, peak / len(raw)
