"""mail/searchtext.py: the words a message's text body lacks, and their bounds
(hostile input: huge alternatives, many enclosed parts, deep nesting)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from pmail_cli.batch import WorkItem
from pmail_cli.mail import searchtext
from pmail_cli.mail.prepare import (
    LARGE_PAYLOAD,
    PrepareContext,
    prepare_message,
    stored_search_text,
)
from pmail_cli.mail.searchtext import (
    MAX_CHARS,
    MAX_PART_ENCODED,
    address_parts,
    calendar_words,
    visible_text,
)
from tests.searchmail import CALENDAR, alternative, bounce, invitation, plain


def test_only_the_html_words_the_text_lacks() -> None:
    found = stored_search_text(
        alternative(
            "a",
            text="Our Offer, for you.",
            html="<p>our offer FOR you <b>zanzibar</b></p>",
        )
    )
    assert (found.extra, found.enclosed) == ("zanzibar", None)


def test_plain_mail_without_addresses_adds_nothing() -> None:
    found = stored_search_text(plain("p", body="Nothing more to say."))
    assert (found.extra, found.enclosed) == (None, None)


def test_address_parts() -> None:
    assert address_parts("to Bob.Stone+x@mail.globex-corp.com, or bob@globex.com") == [
        "bob",
        "stone",
        "x",
        "mail",
        "globex",
        "corp",
        "com",
    ]


def test_calendar_words() -> None:
    assert list(calendar_words(CALENDAR)) == [
        "Quokka planning",
        "Agenda: the pelican, the walrus and more",
        "Room Ocelot",
        "Sally Rep",
        "sally@acme.test",
        "sally",
        "acme",
        "test",
        "Ingrid Vasquez",
        "ingrid.vasquez@penguinfoods.test",
        "ingrid",
        "vasquez",
        "penguinfoods",
        "test",
    ]
    found = stored_search_text(invitation("i"))
    assert found.extra is not None and "Quokka" in found.extra
    assert found.enclosed is None


def test_enclosed_message_and_returned_headers() -> None:
    original = plain("o", body="The marmalade report.")
    found = stored_search_text(bounce("b", returned=original, headers=None))
    assert found.enclosed is not None
    assert found.enclosed.startswith("a note Sally Rep sally@acme.test sally acme test")
    assert found.enclosed.endswith("The marmalade report.")
    headers = stored_search_text(
        bounce("h", returned=None, headers="Subject: flamingo\r\nFrom: x@y.test")
    )
    assert headers.enclosed == "flamingo x@y.test x y test"


def test_the_texts_are_bounded() -> None:
    """A huge HTML alternative and a huge enclosed message give at most MAX_CHARS
    characters each, cut at a word."""
    words = " ".join(f"w{i}" for i in range(200_000))
    found = stored_search_text(alternative("a", text="hello", html=f"<p>{words}</p>"))
    assert found.extra is not None and MAX_CHARS - 10 < len(found.extra) <= MAX_CHARS
    assert found.extra.split()[-1].startswith("w")
    big = plain("o", body=words)
    enclosed = stored_search_text(bounce("b", returned=big, headers=None)).enclosed
    assert enclosed is not None and len(enclosed) <= MAX_CHARS


def test_many_enclosed_parts_are_not_all_read() -> None:
    """At most MAX_PARTS enclosed or calendar parts are read."""
    parts = "".join(
        f"--m\r\nContent-Type: text/rfc822-headers\r\n\r\nSubject: s{i}\r\n\r\n"
        for i in range(100)
    )
    raw = (
        "From: a@b.test\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="m"\r\n\r\n' + parts + "--m--\r\n"
    ).encode()
    enclosed = stored_search_text(raw).enclosed
    assert enclosed == "s0 s1 s2 s3"


def test_broken_input_gives_no_text() -> None:
    assert stored_search_text(b"") == stored_search_text(b"\x00\xff")
    assert stored_search_text(b"").extra is None


def test_visible_text_of_hostile_markup() -> None:
    """Unclosed scripts, comments and tags: what follows an unclosed hidden block is
    dropped, a `<` without `>` is kept as text; linear in the input."""
    assert visible_text("a <script>x</script> b <!-- c --> d <style>e") == "a   b   d "
    assert visible_text("<p>Caf&eacute; &amp; co</p>") == " Café & co "
    many = "<script " * 50_000 + "<" * 100_000
    assert visible_text("word " + many) == "word "
    assert visible_text("x" + "<" * 100_000).startswith("x<<")


def test_a_broken_part_keeps_what_was_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """A part that breaks the reading ends it; what came before stays, nothing raises
    (the message is stored and searched as before)."""

    def broken(text: str) -> Iterator[str]:
        raise ValueError("bad calendar")
        yield text

    monkeypatch.setattr(searchtext, "calendar_words", broken)
    raw = invitation("i").replace(b"You are invited.", b"Mail ann@zeta.test now.")
    found = stored_search_text(raw)
    assert (found.extra, found.enclosed) == ("ann zeta test", None)


def test_text_words_past_the_documents_head_do_not_count() -> None:
    """The document reads a body's first 100,000 characters: an HTML word the text part
    has only after them is added."""
    text = "x " * 50_000 + "zanzibar"
    found = stored_search_text(alternative("a", text=text, html="<p>x zanzibar</p>"))
    assert found.extra == "zanzibar"


def test_a_part_over_a_megabyte_is_not_read_on_either_path() -> None:
    """prepare lets go of leaf payloads over 1 MB before it reads the search text; the
    backfill reads the raw message whole: both give the same answer (the part is not
    read), so a rebuilt document is the writer's."""
    filler = "DESCRIPTION:" + "y" * (1 << 20)
    raw = invitation("big").replace(b"LOCATION:Room Ocelot", filler.encode())
    assert MAX_PART_ENCODED == LARGE_PAYLOAD
    prepared = prepare_message(
        WorkItem(origin="t", raw=raw),
        PrepareContext(tenant_id=str(uuid.uuid4()), direction="auto"),
    )
    assert prepared.content is not None
    assert prepared.content.search_extra is None
    assert stored_search_text(raw).extra is None
