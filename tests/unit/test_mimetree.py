"""The fast MIME tree must equal the standard library's, wherever it answers at all.

Checked on every file of the real corpus, on the generated cold-email corpus, and on
damaged variants of both (truncated, boundaries removed or doubled, lone CRs, mbox
envelope lines, headers without a blank line); the fast path must also answer for the
plain shapes of cold-email traffic, or it would silently cost nothing and gain nothing.
"""

from __future__ import annotations

import email
import random
import re
from collections.abc import Iterator
from email.message import Message
from email.policy import compat32
from pathlib import Path

import pytest
from benchmarks import gen_corpus

from pmail_cli.mail.mimetree import fast_tree, parse_bytes

NOT_MAIL = {"MANIFEST.tsv", "README.md", "labels.tsv", "LICENSE", "LICENSE.txt"}


def _stdlib(raw: bytes) -> Message:
    return email.message_from_bytes(raw, policy=compat32)


def _shape(msg: Message) -> object:
    """Everything the parser decides about a message, as comparable values."""
    payload = vars(msg)["_payload"]  # as stored: get_payload() decodes 8-bit text
    return (
        list(msg.raw_items()),
        msg.get_unixfrom(),
        msg.preamble,
        msg.epilogue,
        msg.get_default_type(),
        msg.get_charset(),
        [type(d).__name__ for d in msg.defects],
        [_shape(p) for p in payload] if isinstance(payload, list) else payload,
    )


LOOKED_UP = ("content-type", "Content-Type", "FROM", "x-absent", "received", "subject")


def _answers(msg: Message) -> list[object]:
    """What header lookups and parameter parsing answer, for every part."""
    out: list[object] = []
    for part in msg.walk():
        names = set(part.keys()) | set(LOOKED_UP)
        for name in sorted(names):
            got, every = part.get(name), part.get_all(name)
            out += [name, name in part, str(got), [str(v) for v in every or []]]
        out += [
            part.get_content_type(),
            part.get_params(),
            part.get_params(header="content-disposition", unquote=False),
            part.get_param("charset"),
            part.get_filename(),
            part.get_boundary(),
            part.get_content_charset(),
            part.get_content_disposition(),
        ]
    return out


def _same_or_declined(raw: bytes) -> bool:
    """Assert fast == stdlib when the fast path answers; return whether it did."""
    tree = fast_tree(raw)
    if tree is None:
        return False
    expected = _stdlib(raw)
    assert _shape(tree) == _shape(expected)
    assert _answers(tree) == _answers(expected)
    assert _answers(tree) == _answers(expected)  # again, from the caches
    return True


def _corpus_files(corpus: Path) -> Iterator[Path]:
    for path in sorted(corpus.rglob("*")):
        if path.is_file() and path.name not in NOT_MAIL:
            yield path


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    out = tmp_path_factory.mktemp("gen")
    made = gen_corpus.generate(out, messages=300, seed=7)
    return [path.read_bytes() for path in made.paths]


def test_real_corpus_trees_are_identical(corpus: Path) -> None:
    answered = total = 0
    for path in _corpus_files(corpus):
        total += 1
        answered += _same_or_declined(path.read_bytes())
    assert total > 900
    # most real mail is plain enough; bounces with message/* parts go to the stdlib
    assert answered > total * 0.6, (answered, total)


def test_generated_cold_email_is_answered_by_the_fast_path(
    generated: list[bytes],
) -> None:
    declined = [raw for raw in generated if not _same_or_declined(raw)]
    assert declined == []  # replies, bounces (DSNs), attachments: all well formed


def test_parse_bytes_falls_back_to_the_stdlib() -> None:
    raw = b"Subject: x\r\n\tfolded\rwith a lone CR\r\n\r\nhi\r\n"
    assert fast_tree(raw) is None
    assert _shape(parse_bytes(raw)) == _shape(_stdlib(raw))
    plain = b"Subject: x\r\n\r\nhello\r\n"
    assert _shape(parse_bytes(plain)) == _shape(_stdlib(plain))


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\r\n",
        b"no header here\r\n\r\nbody",
        b"Subject: only headers",
        b"Subject: a\r\n continued\r\n\tagain\r\nTo: b\r\n\r\nbody\r\n",
        b" leading continuation\r\nSubject: a\r\n\r\nbody",
        b"From sender Mon Jan  1 00:00:00 2024\nSubject: a\n\nbody\n",
        b"Subject: a\rTo: b\r\n\r\nlone CR",
        b":no name\r\n\r\nbody",
        b"Subject: a\r\nbody without separator\r\n",
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n\r\none\r\n--b--\r\n',
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\npre\r\n--b \t\r\n\r\none\r\n--b--',
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n\r\none\r\n--b\r\n',
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n--b\r\n\r\none\r\n--b--\r\n',
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\nno boundary at all\r\n',
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b--\r\n',
        b"Content-Type: multipart/mixed\r\n\r\n--b\r\n\r\none\r\n--b--\r\n",
        b'Content-Type: multipart/mixed; boundary="b"\r\nContent-Transfer-Encoding: base64\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n',
        b'Content-Type: multipart/digest; boundary="b"\r\n\r\n--b\r\n\r\nSubject: d\r\n\r\nx\r\n--b--\r\n',
        b'Content-Type: multipart/digest; boundary="b"\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nA: 1\r\n--b--\r\n',
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n--b--\r\nepi\r\n',
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n\r\n--bx\r\n--b--x\r\n--b--\r\n\r\n',
        b'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: multipart/alternative; boundary="c"\n\n--c\n\nt\n--c--\nepi\n\n--b--\n',
        b'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: multipart/alternative; boundary="c"\n\n--c\n\nt\n--b--\n',
        b'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: multipart/alternative; boundary="b"\n\n--b\n\nt\n--b--\n--b--\n',
        b'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: multipart/alternative; boundary="b--"\n\n--b--\n\nt\n--b----\n--b--\n',
        b"Subject: \xff\xfe 8-bit\r\n\r\n\x00\xc3\xa9\r\n",
        b"Subject: form\x0cfeed\r\n\r\nvertical\x0btab\r\n",
        b"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nhi\r\n",
        b"Content-Type: message/rfc822\r\n\r\n",
        b"Content-Type: message/delivery-status\r\n\r\nA: 1\r\n\r\n\r\nB: 2\r\nC: 3\r\n\r\n",
        b"Content-Type: message/delivery-status\r\n\r\nA: 1\r\nnot a field\r\n",
        b"Content-Type: message/delivery-status\r\n\r\n",
        b'Content-Type: multipart/report; boundary="b"\n\n--b\nContent-Type: message/delivery-status\n\nA: 1\n\nB: 2\n\n--b\nContent-Type: message/rfc822\n\nSubject: o\n\nbody\n\n--b--\n',
        b'Content-Type: multipart/report; boundary="b"\n\n--b\nContent-Type: message/rfc822\n\nContent-Type: multipart/mixed; boundary="c"\n\n--c\n\nx\n--c--\nepi\n\n--b--\n',
        b'Content-Type: multipart/digest; boundary="b"\n\n--b\n\nSubject: d\n\nx\n--b\nContent-Type: text/plain\n\ny\n--b--\n',
    ],
)
def test_hand_made_edge_cases(raw: bytes) -> None:
    _same_or_declined(raw)
    assert _shape(parse_bytes(raw)) == _shape(_stdlib(raw))


def _damage(raw: bytes, rng: random.Random) -> bytes:
    """One random, realistic way of breaking a message."""
    boundaries = re.findall(rb'boundary="?([^";\r\n]+)', raw)
    choice = rng.randrange(7)
    if choice == 0:
        return raw[: rng.randrange(len(raw) + 1)]
    if choice == 1 and boundaries:
        sep = b"--" + rng.choice(boundaries)
        return raw.replace(sep + b"--", b"", 1)  # drop a close boundary
    if choice == 2 and boundaries:
        sep = b"--" + rng.choice(boundaries)
        at = raw.find(sep)
        return raw[:at] + sep + b"\r\n" + raw[at:] if at >= 0 else raw
    if choice == 3:
        at = rng.randrange(len(raw) + 1)
        return raw[:at] + rng.choice([b"\r", b"\n", b"\r\n", b"\n\n"]) + raw[at:]
    if choice == 4:
        return raw.replace(b"\r\n\r\n", b"\r\n", 1)  # no header/body separator
    if choice == 5:
        at = raw.find(b"\n") + 1
        return raw[:at] + b"From someone Tue Jan  2 00:00:00 2024\n" + raw[at:]
    return raw.replace(b"\r\n", b"\n", rng.randrange(1, 40))  # mixed line endings


def test_damaged_variants_are_identical_or_declined(
    corpus: Path, generated: list[bytes]
) -> None:
    rng = random.Random(20261128)
    sources = [p.read_bytes() for p in _corpus_files(corpus)][::3] + generated[::3]
    answered = 0
    for raw in sources:
        for _ in range(4):
            answered += _same_or_declined(_damage(raw, rng))
    assert answered > 100  # the comparison ran on many damaged messages


def test_index_follows_header_changes() -> None:
    raw = b"Subject: a\r\nX-Tag: 1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbody\r\n"
    tree, plain = fast_tree(raw), _stdlib(raw)
    assert tree is not None
    for msg in (tree, plain):
        assert msg.get("x-tag") == "1"  # builds the index
        msg["X-Tag"] = "2"
        msg.replace_header("Subject", "b")
        del msg["Content-Type"]
        msg.add_header("Content-Type", "text/html", charset="latin-1")
        msg.set_param("format", "flowed")
    assert _answers(tree) == _answers(plain)
    assert tree.get_all("x-tag") == ["1", "2"]
    assert tree.get_content_charset() == "latin-1"


def test_deep_nesting_is_left_to_the_stdlib() -> None:
    deep = b"Content-Type: message/rfc822\n\n" * 150 + b"Subject: x\n\nbody\n"
    assert fast_tree(deep) is None
    shallow = b"Content-Type: message/rfc822\n\n" * 20 + b"Subject: x\n\nbody\n"
    assert _same_or_declined(shallow)


def test_parameter_lists_handed_out_are_copies() -> None:
    raw = (
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n'
    )
    tree = fast_tree(raw)
    assert tree is not None
    params = tree.get_params(unquote=False)
    assert params is not None
    params.pop()
    assert tree.get_boundary() == "b"
