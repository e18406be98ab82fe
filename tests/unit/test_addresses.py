"""parse.getaddresses must answer exactly as email.utils.getaddresses."""

from __future__ import annotations

import email
import email.utils
from email.policy import compat32
from pathlib import Path

import pytest
from benchmarks import gen_corpus

from pmail_cli.mail.parse import (
    _PLAIN_ADDRESS,
    _header_str,
    addresses,
    decode_words,
    getaddresses,
)

FIELDS = ("From", "To", "Cc", "Reply-To", "Sender", "Return-Path")


def _values(raw: bytes) -> list[list[str]]:
    msg = email.message_from_bytes(raw, policy=compat32)
    return [
        [decode_words(_header_str(v)) for v in msg.get_all(name) or []]
        for name in FIELDS
    ]


@pytest.mark.parametrize(
    "value",
    [
        "john@x.com",
        "John Smith <john@x.com>",
        "John   Q. Smith\r\n\t<john.q@mail.x.com>",
        "<john@x.com>",
        "  a@b.c ,  B <b@c.d>  ",
        "a@b.c,",
        ",a@b.c",
        "a@b.c,,b@c.d",
        '"Smith, John" <john@x.com>',
        "John (work) <john@x.com>",
        "john..x@y.com",
        ".john@y.com",
        "john@y..com",
        "john@-y.com",
        "J. <j@x.y>",
        ". <j@x.y>",
        "O'Neil <o'neil@x.y>",
        "a@b.c d@e.f",
        "undisclosed-recipients:;",
        "john",
        "john@",
        "",
        "Ann <ann@x.y> <other@z.y>",
        "Ann <ann@x.y>x",
        "x@y.z\r\n",
        "müller@x.de",
        "Ann\tLee <ann@x.y>",
    ],
)
def test_hand_made_values(value: str) -> None:
    assert getaddresses([value]) == email.utils.getaddresses([value])
    assert getaddresses([value, value]) == email.utils.getaddresses([value, value])


def _corpus_files(corpus: Path) -> list[Path]:
    skip = {"MANIFEST.tsv", "README.md", "labels.tsv", "LICENSE"}
    return [p for p in sorted(corpus.rglob("*")) if p.is_file() and p.name not in skip]


def test_real_and_generated_headers(corpus: Path, tmp_path: Path) -> None:
    made = gen_corpus.generate(tmp_path, messages=300, seed=11)
    raws = [p.read_bytes() for p in _corpus_files(corpus)]
    raws += [p.read_bytes() for p in made.paths]
    checked = direct = 0
    for raw in raws:
        for values in _values(raw):
            if values:
                assert getaddresses(values) == email.utils.getaddresses(values)
                checked += 1
                direct += all(
                    _PLAIN_ADDRESS.fullmatch(item)
                    for item in ", ".join(values).split(",")
                )
    assert checked > 2000
    assert direct > checked * 0.6  # most real headers take the direct path


def test_an_address_longer_than_a_path_may_be_is_left_out_and_said() -> None:
    """RFC 5321 caps a path at 256 octets: a longer "address" (a hostile 1 MB From:)
    is left out of the column, its neighbours kept, and the problem noted."""
    longest = "a" * 242 + "@example.com"  # 254 characters: kept
    problems: list[str] = []
    found = addresses(
        [f"Ann <{'x' * 300}@example.com>, {longest}, Bob <bob@example.com>"],
        problems,
        header="To",
    )
    assert found == (f"{longest}, bob@example.com", None)
    assert problems == ["address longer than 254 characters left out: 1 of To"]
    assert addresses([f"{'x' * 1_000_000}@example.com"], problems) == (None, None)
