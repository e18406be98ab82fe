"""The pure legacy mapping: normalisation rules, both header layouts, the kept columns,
the rebuilt message."""

from __future__ import annotations

import email
import email.policy
import json

import pytest

from pmail_cli.mail.legacy import (
    NO_CONTENT,
    LegacyRow,
    display_text,
    key_message_id,
    normalise_direction,
    normalise_status,
    normalise_type,
    parent_id,
    prepare_legacy_batch,
    record_of,
)
from pmail_cli.mail.legacy_bundle import (
    LegacyParts,
    RebuildFile,
    bundle,
    header_pairs,
    rebuild_message,
    unbundle,
)
from pmail_cli.mail.prepare import PrepareContext
from pmail_cli.sources import WorkItem

TENANT = "00000000-0000-0000-0000-000000000001"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("inbound", "inbound"), ("INBOUND", "inbound"), (" in ", "inbound"),
     ("out", "outbound"), ("Outbound", "outbound"), (None, None), ("sideways", None)],
)  # fmt: skip
def test_direction_spellings(value: str | None, expected: str | None) -> None:
    """The old handler's spellings map to inbound/outbound; anything else is unknown."""
    assert normalise_direction(value) == expected


def test_status_and_type() -> None:
    """Statuses are trimmed and lower-cased; types must be known, in any case."""
    assert normalise_status("Delivered ") == "delivered"
    assert normalise_status("  ") is None and normalise_status(None) is None
    assert normalise_type("BOUNCE") == "bounce" and normalise_type("newsletter") is None


def test_both_header_layouts() -> None:
    """An object and an array of pairs give the same pairs; junk gives none."""
    as_object = {"from": "a@x", "subject": "hi", "x-n": 5, "to": ["b@y", "c@z"]}
    as_pairs = [
        ["from", "a@x"],
        ["subject", "hi"],
        ["x-n", 5],
        ["to", ["b@y", "c@z"]],
        "junk",
    ]
    expected = [("from", "a@x"), ("subject", "hi"), ("x-n", "5"), ("to", "b@y, c@z")]
    assert header_pairs(as_object) == expected
    assert header_pairs(as_pairs) == expected
    assert header_pairs("not headers") == [] and header_pairs(None) == []


def test_ids_from_keys_and_parents() -> None:
    """The Message-ID inside a legacy key; a bare parent id gets its angle brackets."""
    assert key_message_id("email_<a@b>_1700000000000") == "<a@b>"
    assert key_message_id("email_a b@c_1") == "<a b@c>"
    assert key_message_id("something else") is None
    assert parent_id("x@y") == "<x@y>" and parent_id("<x@y>") == "<x@y>"
    assert parent_id(None) is None


def test_bundle_keeps_the_columns_exactly() -> None:
    """The kept document gives back headers, text and HTML as they were."""
    headers = [["subject", "Grüße"], ["from", "a@x"]]
    for text, html in (("t", "<p>h</p>"), ("<p>h</p>", "<p>h</p>"), (None, None)):
        parts = unbundle(bundle(headers, text, html))
        assert (parts.headers, parts.text, parts.html) == (headers, text, html)


def test_display_text_of_html_only_mail() -> None:
    """Where content_text holds the HTML, the searchable text is the visible text."""
    assert (
        display_text("<p>Hello <b>there</b></p>", "<p>Hello <b>there</b></p>")
        == "Hello there"
    )
    assert display_text("plain", "<p>x</p>") == "plain"
    assert display_text(None, "<p>only</p>") == "only"


def _record(**values: object) -> LegacyRow:
    base: dict[str, object] = {
        "table": "content_inbox_message_refs", "storage_key": "email_<m1@x>_1",
        "tenant_id": TENANT, "content_tenant_id": TENANT, "direction": "inbound",
        "status": "received", "message_type": None,
        "headers_json": json.dumps({"message-id": "<m1@x>", "from": "Ann <a@x>"}),
        "content_text": "hello",
    }  # fmt: skip
    base.update(values)
    return LegacyRow(**base)  # type: ignore[arg-type]


def _prepare(record: LegacyRow) -> object:
    ctx = PrepareContext(tenant_id=TENANT, direction="auto")
    item = WorkItem(record.storage_key, key=record.storage_key, record=record)
    return prepare_legacy_batch([item], ctx)[0]


def test_prepared_rows() -> None:
    """Message-ID and name from the headers, the parent as a link key, the columns kept."""
    prepared = _prepare(_record(parent_message_id="p@x"))
    message = prepared.message  # type: ignore[attr-defined]
    assert (message.message_id, message.from_name, message.parent_message_id) == (
        "<m1@x>", "Ann", "<p@x>",
    )  # fmt: skip
    assert message.message_type == "email" and message.link_keys
    content = prepared.content  # type: ignore[attr-defined]
    assert content.raw_form == "legacy" and content.raw_sha256 is None


def test_text_that_needs_cleaning_is_flagged() -> None:
    """A NUL or a lone surrogate is removed from the columns and the message flagged;
    the kept document still holds the value as it was."""
    prepared = _prepare(_record(content_text="a\x00b", subject="bad \udcff"))
    message = prepared.message  # type: ignore[attr-defined]
    assert message.subject == "bad \ufffd"
    assert any("NUL or invalid UTF-8" in p for p in message.parse_problems)


def test_no_content_means_no_content_row() -> None:
    """A message row without content stays without content."""
    prepared = _prepare(_record(has_content=False))
    assert prepared.content is None  # type: ignore[attr-defined]
    assert prepared.message.parse_problems == [NO_CONTENT]  # type: ignore[attr-defined]
    assert [n[0] for n in prepared.notes] == ["ref_without_content"]  # type: ignore[attr-defined]


def test_dirty_values_are_normalised_and_noted() -> None:
    """An unknown direction follows the account rule; a NULL status gets the default;
    an unknown type is classified; each change is noted for the anomaly table."""
    row = _record(
        direction="sideways", status=None, message_type="newsletter",
        from_email="sdr@acme.example",
    )  # fmt: skip
    record = record_of(row, frozenset({"sdr@acme.example"}))
    assert (record.direction, record.status, record.message_type) == (
        "outbound",
        "sent",
        None,
    )
    assert sorted(n[0] for n in record.notes) == [
        "missing_status", "unknown_direction", "unknown_message_type",
    ]  # fmt: skip
    assert record_of(row, frozenset()).direction == "inbound"


def test_rebuilt_message_is_clean_and_the_same_every_time() -> None:
    """Rebuilding gives RFC 5322 the stdlib parses without defects, headers without
    injected lines, the files base64, the same bytes twice."""
    parts = LegacyParts(
        {"subject": "Grüße\r\nX-Injected: yes", "from": "a@x", "content-type": "multipart/x"},
        "text", "<p>html</p>",
    )  # fmt: skip
    files = [
        RebuildFile("../deck ü.pdf", "application/pdf", "attachment", b"%PDF data")
    ]
    raw = rebuild_message(parts, files)
    assert raw == rebuild_message(parts, files)
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert not msg.defects and "X-Injected" not in msg
    assert msg["subject"] == "Grüße  X-Injected: yes"
    assert msg.get_content_type() == "multipart/mixed"
    kinds = [p.get_content_type() for p in msg.walk()]
    assert kinds == ["multipart/mixed", "multipart/alternative", "text/plain", "text/html",
                     "application/pdf"]  # fmt: skip
    pdf = next(p for p in msg.walk() if p.get_content_type() == "application/pdf")
    assert pdf.get_content() == b"%PDF data" and pdf.get_filename() == "../deck ü.pdf"
    assert raw.count(b"\r\n") > 10 and b"\n" not in raw.replace(b"\r\n", b"")
