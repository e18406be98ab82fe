"""Unsubscribe requests: the mailbox, subject and body rules (classify/unsubscribe.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmail_cli.classify import classify_bytes
from pmail_cli.classify.unsubscribe import (
    REQUEST_PHRASES,
    REQUEST_WORDS,
    body_request,
    fresh_text,
    request,
    subject_request,
)
from tests import mailgen


def _asked(
    *,
    subject: str = "Re: Quick question",
    to: str = "sdr1@acme.test",
    body: str | None = None,
) -> str | None:
    return request(subject=subject, recipients=[to], body=lambda: body or "")


@pytest.mark.parametrize(
    "to",
    [
        "unsubscribe@acme.test",
        "unsub-3f9a1c@mail.acme.test",
        "Unsubscribe+lead42@acme.test",
        "optout@acme.test",
        "leave-77aa@lists.acme.test",
    ],
)
def test_mail_to_an_unsubscribe_mailbox_is_a_request(to: str) -> None:
    """Mail addressed to the mailbox a List-Unsubscribe mailto names is a request."""
    assert _asked(subject="", to=to, body="") == "mailbox"


@pytest.mark.parametrize(
    "to", ["sdr1@acme.test", "unsubscribed.fan@example.com", "leaves@example.com"]
)
def test_ordinary_mailboxes_are_not(to: str) -> None:
    """A mailbox whose name merely starts like one is not an unsubscribe mailbox."""
    assert _asked(subject="hello", to=to, body="Thanks!") is None


@pytest.mark.parametrize(
    "subject",
    [
        "unsubscribe",
        "Re: UNSUBSCRIBE",
        "unsubscribe from this list",
        "RE: [External] Remove me",
        "AW: Abmelden",
        "Re: se désabonner",
        "Re: darse de baja",
        "Отписаться",
        "Re: 退订",
        "配信停止",
    ],
)
def test_subject_that_asks_to_unsubscribe(subject: str) -> None:
    """A subject that is nothing but the request counts, in any known language."""
    assert subject_request(subject)


@pytest.mark.parametrize(
    "subject",
    ["Re: Quick question", "How do I stop the engine?", "Re: removal of old data"],
)
def test_subjects_that_only_mention_it(subject: str) -> None:
    """A subject that merely contains a request word is not a request."""
    assert not subject_request(subject)


@pytest.mark.parametrize(
    ("body", "phrase"),
    [
        ("Please remove me from your mailing list.\n", "remove me from"),
        ("Not interested. Stop emailing me.", "stop emailing me"),
        ("Hi,\nUnsubscribe\n\nJohn Smith\nCEO", "unsubscribe"),
        ("Bitte tragen Sie mich aus Ihrem Verteiler aus.", "tragen sie mich aus"),
        ("Merci de me désabonner de cette liste.", "me désabonner"),
        ("Por favor, quiero darme de baja.", "darme de baja"),
        ("Vi prego di cancellarmi: rimuovetemi dalla lista.", "rimuovetemi"),
        ("Graag uitschrijven a.u.b.", "uitschrijven"),
        ("Por favor me remova da lista.", "me remova"),
        ("Proszę mnie usunąć z listy.", "proszę mnie usunąć"),
        ("Пожалуйста, отпишите меня от рассылки.", "отпишите меня"),
        ("请不要再发邮件给我", "不要再发"),
    ],
)
def test_body_that_asks_to_be_removed(body: str, phrase: str) -> None:
    """The sender's own words asking to be removed are found, with the phrase."""
    assert body_request(body) == phrase


@pytest.mark.parametrize(
    "body",
    [
        "Sounds good, let's talk on Tuesday.\n\n> Reply 'remove me from' to opt out.",
        "Thanks!\n\nOn Tue, Mar 5, 2024 at 10:00 AM Ann <ann@acme.test> wrote:\n"
        "Reply unsubscribe to stop these emails.",
        "Gerne!\n\nAm 05.03.2024 um 10:00 schrieb Ann <ann@acme.test>:\nabmelden",
        "Please do not remove me from the list, I like it.",
        "Can we stop by on Tuesday?",
        "We could unsubscribe from the old vendor and move to you.",
    ],
)
def test_quoted_negated_or_incidental_words_do_not_count(body: str) -> None:
    """Words in the quoted message, after a negation, or in passing are no request."""
    assert body_request(body) is None


def test_fresh_text_stops_at_an_outlook_header_block() -> None:
    """An Outlook-style quoted header block ends what the sender wrote."""
    body = "Yes please.\n\nFrom: Ann <ann@acme.test>\nSent: Tuesday\nremove me from it"
    assert fresh_text(body).strip() == "Yes please."


def test_every_language_has_words_and_phrases() -> None:
    """The phrase table covers the same languages for whole requests and phrases."""
    assert set(REQUEST_WORDS) == set(REQUEST_PHRASES)
    assert len(REQUEST_WORDS) >= 25


def test_classification_carries_the_request() -> None:
    """An ordinary reply that asks to be removed stays `email`, with the rule."""
    raw = mailgen.simple(
        1,
        sender="lead@example.com",
        to="sdr1@acme.test",
        subject="Re: Quick question",
        body="Please take me off your list.\n\n> Would a call make sense?",
    )
    found = classify_bytes(raw)
    assert (found.kind, found.unsubscribe) == ("email", "body: take me off")
    assert "unsubscribe request" in found.basis
    assert found.to_dict()["unsubscribe"] == "body: take me off"


def test_a_normal_reply_and_a_bounce_are_not_requests() -> None:
    """Neither an ordinary reply nor a bounce is an unsubscribe request."""
    reply = classify_bytes(mailgen.reply(1, "<out-1@acme.test>"))
    bounce = classify_bytes(mailgen.dsn(1, mailgen.outbound(1)))
    assert (reply.kind, reply.unsubscribe) == ("email", None)
    assert (bounce.kind, bounce.unsubscribe) == ("bounce", None)


def test_real_replies_are_not_requests(corpus: Path) -> None:
    """The real replies of the corpus (talon's) are ordinary mail, none a request."""
    replies = sorted((corpus / "talon" / "standard_replies").glob("*.eml"))
    assert len(replies) >= 10
    for path in replies:
        found = classify_bytes(path.read_bytes())
        assert (found.kind, found.unsubscribe) == ("email", None), path.name
