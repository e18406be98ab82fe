"""Repeated attachments are decoded, checked and compressed once per process, with
results (defects included) identical to doing it every time."""

from __future__ import annotations

import base64
import random

from pmail_cli.mail import parse
from pmail_cli.mail.compress import compress_blob
from pmail_cli.mail.memo import SMALL, remember_small
from pmail_cli.mail.parse import parse_message
from pmail_cli.mail.rawsplit import verified_split


def _message(subject: str, body: str) -> bytes:
    return (
        f"Subject: {subject}\r\nMessage-ID: <{subject}@x.test>\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
        '--b\r\nContent-Type: application/pdf; name="deck.pdf"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
        f"{body}--b--\r\n"
    ).encode()


def _encoded(data: bytes) -> str:
    return base64.encodebytes(data).decode().replace("\n", "\r\n")


def test_same_attachment_in_two_messages_same_results() -> None:
    data = random.Random(3).randbytes(60_000)
    body = _encoded(data)
    first, second = _message("one", body), _message("two", body)
    parse._DECODE_CACHE.clear()
    a = parse_message(first)
    b = parse_message(second)  # served from the cache
    assert len(parse._DECODE_CACHE) == 1  # one entry, used twice
    for parsed, raw in ((a, first), (b, second)):
        (part,) = parsed.attachments
        assert part.data == data
        split = verified_split(raw, parsed.attachments)
        assert len(split.splices) == 1
    assert compress_blob(a.attachments[0].data) == compress_blob(data)


def test_defects_of_a_cached_decoding_are_reported_for_every_message() -> None:
    body = _encoded(random.Random(4).randbytes(30_001)).rstrip("\r\n")
    body = body.rstrip("=") + "\r\n"  # padding removed: the stdlib reports a defect
    parse._DECODE_CACHE.clear()
    problems = [parse_message(_message(s, body)).problems for s in ("p", "q")]
    assert len(parse._DECODE_CACHE) == 1
    assert problems[0] == problems[1]
    assert any("Padding" in p for p in problems[0]), problems[0]


def _eight_bit(charset: str, tail: bytes) -> bytes:
    return (
        b'Message-ID: <e@x.test>\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
        b"--B\r\nContent-Type: text/csv; charset=" + charset.encode() + b"\r\n"
        b'Content-Disposition: attachment; filename="a.csv"\r\n'
        b"Content-Transfer-Encoding: 8bit\r\n\r\n"
        + b"x" * 9000
        + tail
        + b"\r\n--B--\r\n"
    )


def test_different_bytes_that_read_the_same_are_not_confused() -> None:
    # get_payload() decodes 8-bit text with the part's charset: these pairs read alike
    pairs = [
        (_eight_bit("latin-1", b"caf\xe9"), _eight_bit("utf-8", b"caf\xc3\xa9")),
        (_eight_bit("us-ascii", b"\xff\xfe"), _eight_bit("us-ascii", b"\x80\x81")),
    ]
    for first, second in pairs:
        parse._DECODE_CACHE.clear()
        parse_message(first)
        cached = parse_message(second).attachments[0]
        parse._DECODE_CACHE.clear()
        fresh = parse_message(second).attachments[0]
        assert cached.data == fresh.data
        assert cached.sha256 == fresh.sha256


def test_base64_part_with_an_8bit_byte_is_parsed_and_kept_whole() -> None:
    encoded = _encoded(random.Random(5).randbytes(3000)).encode()
    encoded = encoded[:100] + b"\xff" + encoded[100:]
    raw = _message("m", "").replace(b"--b--", encoded + b"--b--")
    parsed = parse_message(raw)
    assert parsed.message_id == "<m@x.test>"
    (part,) = parsed.attachments
    split = verified_split(raw, parsed.attachments)
    assert split.splices == ()  # not canonical base64: stays in the raw message
    assert split.skeleton == raw
    assert part.encoded.encode("ascii", "surrogateescape") in raw


def test_remember_small_keeps_only_small_inputs() -> None:
    calls: list[int] = []

    @remember_small(maxsize=4)
    def size(data: bytes) -> int:
        calls.append(len(data))
        return len(data)

    small, big = b"x" * 10, b"y" * (SMALL + 1)
    assert [size(small), size(small), size(big), size(big)] == [
        10,
        10,
        SMALL + 1,
        SMALL + 1,
    ]
    assert calls == [
        10,
        SMALL + 1,
        SMALL + 1,
    ]  # the small one once, the big one each time
