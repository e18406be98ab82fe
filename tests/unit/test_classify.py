"""Behaviour of pmail_cli.classify on small hand-written messages."""

from __future__ import annotations

import email
import email.policy
from datetime import date

import pytest

from pmail_cli.classify import Classification, classify_bytes, classify_message
from pmail_cli.classify.autoreply import return_date
from pmail_cli.classify.model import is_hard
from pmail_cli.classify.reasons import decide_reason, find_status


def _crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


DSN_TEMPLATE = """\
From: Mail Delivery System <MAILER-DAEMON@mx.example.org>
To: sender@example.com
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

This is the mail system at host mx.example.org.
Your message could not be delivered to one or more recipients.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Final-Recipient: rfc822; {rcpt}
Original-Recipient: rfc822;{rcpt}
Action: {action}
Status: {status}
Remote-MTA: dns; mx.example.net
Diagnostic-Code: smtp; {diag}

--B
Content-Type: message/rfc822

Message-ID: <orig-1@example.com>
From: sender@example.com
To: {rcpt}
Subject: hello

hi
--B--
"""


def _dsn(
    *,
    rcpt: str = "Nobody@Example.NET",
    action: str = "failed",
    status: str = "5.1.1",
    diag: str = "550 5.1.1 <nobody@example.net>: Recipient address rejected: User unknown",
) -> bytes:
    return DSN_TEMPLATE.format(
        rcpt=rcpt, action=action, status=status, diag=diag
    ).encode()


def test_rfc3464_bounce_extracts_recipient_facts() -> None:
    """A failed DSN is a hard userunknown bounce with every field filled in."""
    result = classify_bytes(_dsn())
    assert result.kind == "bounce"
    (fact,) = result.recipients
    assert fact.recipient == "nobody@example.net"
    assert fact.action == "failed"
    assert fact.status == "5.1.1"
    assert fact.reply_code == 550
    assert fact.diagnostic_code is not None
    assert fact.diagnostic_code.startswith("550 5.1.1")
    assert fact.remote_mta == "mx.example.net"
    assert fact.reason == "userunknown"
    assert fact.hard is True
    assert result.original_message_id == "<orig-1@example.com>"


def test_auto_submitted_on_a_dsn_is_still_a_bounce() -> None:
    """A DSN that says Auto-Submitted: auto-replied stays a bounce (Exim trap)."""
    assert b"Auto-Submitted: auto-replied" in _dsn()
    assert classify_bytes(_dsn()).kind == "bounce"


def test_policy_block_is_soft() -> None:
    """A 5.7.1 rejection naming a blocklist is "blocked" and soft, not hard."""
    raw = _dsn(
        status="5.7.1",
        diag="554 5.7.1 Service unavailable; blocked using zen.spamhaus.org",
    )
    (fact,) = classify_bytes(raw).recipients
    assert fact.reason == "blocked"
    assert fact.hard is False


def test_mailbox_full_text_beats_generic_code() -> None:
    """Diagnostic text wins over a generic 5.0.0 status."""
    raw = _dsn(status="5.0.0", diag="552 Requested mail action aborted: mailbox full")
    (fact,) = classify_bytes(raw).recipients
    assert fact.reason == "mailboxfull"
    assert fact.hard is False


def test_delayed_dsn_is_delay() -> None:
    """Action: delayed makes a delay warning, never a hard failure."""
    raw = _dsn(
        action="delayed",
        status="4.4.1",
        diag="connect to mx.example.net: Connection timed out",
    )
    result = classify_bytes(raw)
    assert result.kind == "delay"
    assert result.recipients[0].hard is False


def test_success_dsn_is_delivery_report() -> None:
    """Action: delivered makes a delivery report with reason "delivered"."""
    raw = _dsn(action="delivered", status="2.0.0", diag="250 2.0.0 OK queued")
    result = classify_bytes(raw)
    assert result.kind == "delivery_report"
    assert result.recipients[0].reason == "delivered"


def test_expired_status_gives_expired() -> None:
    """Status 4.4.7 on a final failure is the "expired" reason."""
    assert decide_reason(status="4.4.7", text="") == "expired"
    assert decide_reason(status=None, text="retry timeout exceeded") == "expired"


def test_dsn_fields_in_text_plain_are_read() -> None:
    """A report whose fields sit in a text/plain part is still parsed."""
    raw = b"""\
From: MAILER-DAEMON@mail.example.org
Subject: Delivery Status Notification (Failure)
Content-Type: text/plain

An error occurred while trying to deliver the mail to the following recipients:
a.b@example.jp

Reporting-MTA: dsn; out.example.org
Action: failed
Final-Recipient: rfc822; a.b@example.jp
Diagnostic-Code: smtp; 550 5.2.2 <a.b@example.jp>... Mailbox Full
Status: 5.2.2
"""
    result = classify_bytes(raw)
    assert result.kind == "bounce"
    assert result.recipients[0].recipient == "a.b@example.jp"
    assert result.recipients[0].reason == "mailboxfull"


def test_postfix_free_text_bounce() -> None:
    """A Postfix notice without a report part yields recipient, code and reason."""
    raw = b"""\
From: MAILER-DAEMON@mx.example.org (Mail Delivery System)
To: sender@example.com
Subject: Undelivered Mail Returned to Sender

This is the mail system at host mx.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<gone@example.net>: host mx.example.net[192.0.2.1] said: 550 5.1.1
    <gone@example.net>: Recipient address rejected: User unknown (in reply to
    RCPT TO command)

------ Original message ------
Message-ID: <orig-2@example.com>
Subject: hi
"""
    result = classify_bytes(raw)
    assert result.kind == "bounce"
    (fact,) = result.recipients
    assert (fact.recipient, fact.status, fact.reply_code) == (
        "gone@example.net",
        "5.1.1",
        550,
    )
    assert fact.remote_mta == "mx.example.net"
    assert fact.hard is True
    assert result.original_message_id == "<orig-2@example.com>"


def test_qmail_free_text_bounce() -> None:
    """A qmail "failure notice" gives the recipient and the (#5.x.x) status."""
    raw = b"""\
From: MAILER-DAEMON@mx.example.org
To: sender@example.com
Subject: failure notice

Hi. This is the qmail-send program at mx.example.org.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<box@example.net>:
192.0.2.5 does not like recipient.
Remote host said: 552 5.2.2 <box@example.net>: Mailbox full
Giving up on 192.0.2.5.

--- Below this line is a copy of the message.
"""
    (fact,) = classify_bytes(raw).recipients
    assert (fact.recipient, fact.status, fact.reason, fact.hard) == (
        "box@example.net",
        "5.2.2",
        "mailboxfull",
        False,
    )


def test_exim_bounce_with_failed_recipients_header() -> None:
    """Exim's X-Failed-Recipients names the recipient even with Auto-Submitted."""
    raw = b"""\
From: Mail Delivery System <Mailer-Daemon@mx.example.org>
To: sender@example.com
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: lost@example.net
Auto-Submitted: auto-replied

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  lost@example.net
    Unrouteable address

------ This is a copy of the message, including all the headers. ------
Message-Id: <orig-3@example.com>
"""
    result = classify_bytes(raw)
    assert result.kind == "bounce"
    assert result.recipients[0].recipient == "lost@example.net"
    assert result.recipients[0].reason == "hostunknown"
    assert result.original_message_id == "<orig-3@example.com>"


def test_free_text_delay_warning_is_delay() -> None:
    """A non-standard "still being retried" warning is a delay, not a bounce."""
    raw = b"""\
From: Mail Delivery System <Mailer-Daemon@mx.example.org>
Subject: Warning: message 1Abc-0001 delayed 24 hours

This message was created automatically by mail delivery software.
A message that you sent has not yet been delivered to one or more of its
recipients after more than 24 hours on the queue on mx.example.org.

  slow@example.net

No action is required on your part. Delivery attempts will continue.
"""
    result = classify_bytes(raw)
    assert result.kind == "delay"
    assert result.recipients[0].status is not None
    assert result.recipients[0].status.startswith("4.")


def test_arf_complaint() -> None:
    """An ARF report is a complaint with its feedback type and recipient."""
    raw = b"""\
From: fbl@isp.example
Subject: Abuse report
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="F"

--F
Content-Type: text/plain

This is an email abuse report.

--F
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeFBL/1.0
Version: 1
Original-Rcpt-To: <Victim@Example.NET>

--F
Content-Type: message/rfc822

Message-ID: <campaign-9@example.com>
From: news@example.com
To: victim@example.net
Subject: offer

buy
--F--
"""
    result = classify_bytes(raw)
    assert result.kind == "complaint"
    assert result.feedback_type == "abuse"
    assert result.recipients[0].recipient == "victim@example.net"
    assert result.recipients[0].reason == "feedback"
    assert result.original_message_id == "<campaign-9@example.com>"


def test_hotmail_style_loop_report_is_complaint() -> None:
    """A non-ARF loop report carrying X-HmXmrOriginalRecipient is a complaint."""
    raw = b"""\
From: staff@hotmail.example
Subject: complaint about message from 192.0.2.9
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="H"

--H
Content-Type: message/rfc822

X-HmXmrOriginalRecipient: reader@hotmail.example
Message-ID: <promo-1@example.com>
From: news@example.com
Subject: promo

hi
--H--
"""
    result = classify_bytes(raw)
    assert result.kind == "complaint"
    assert result.recipients[0].recipient == "reader@hotmail.example"
    assert result.original_message_id == "<promo-1@example.com>"


def test_ses_json_notification() -> None:
    """An Amazon SES bounce notification in a JSON body is a bounce."""
    raw = b"""\
From: no-reply@sns.amazonaws.com
Subject: AWS Notification Message
Content-Type: text/plain

{"notificationType":"Bounce","bounce":{"bounceType":"Permanent",
"bouncedRecipients":[{"emailAddress":"x@example.net","status":"5.1.1",
"diagnosticCode":"smtp; 550 5.1.1 user unknown"}]},"mail":{"headers":[]}}
"""
    result = classify_bytes(raw)
    assert result.kind == "bounce"
    assert (result.recipients[0].recipient, result.recipients[0].hard) == (
        "x@example.net",
        True,
    )


def test_mdn_is_read_receipt() -> None:
    """A disposition notification is a read receipt tied to the original."""
    raw = b"""\
From: reader@example.net
Subject: Read: hello
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification; boundary="M"

--M
Content-Type: text/plain

Your message was displayed.

--M
Content-Type: message/disposition-notification

Reporting-UA: mua.example.net; Mailer 1.0
Final-Recipient: rfc822; reader@example.net
Original-Message-ID: <orig-4@example.com>
Disposition: manual-action/MDN-sent-manually; displayed

--M--
"""
    result = classify_bytes(raw)
    assert result.kind == "read_receipt"
    assert result.original_message_id == "<orig-4@example.com>"
    assert result.recipients[0].recipient == "reader@example.net"


def test_rfc3834_auto_reply_with_return_date() -> None:
    """Auto-Submitted: auto-replied marks an auto-reply; its end date is read."""
    raw = b"""\
From: Ann <ann@example.net>
To: sender@example.com
Date: Mon, 04 Mar 2024 09:00:00 +0000
Subject: Out of Office: hello
Auto-Submitted: auto-replied
In-Reply-To: <orig-5@example.com>

I am away until 12 March 2024 with limited access to email.
"""
    result = classify_bytes(raw)
    assert result.kind == "auto_reply"
    assert result.auto_reply_until == date(2024, 3, 12)
    assert result.original_message_id == "<orig-5@example.com>"
    assert result.recipients[0].reason == "vacation"


@pytest.mark.parametrize(
    "subject",
    [
        "Automatic reply: hello",
        "Automatische Antwort: hallo",
        "Réponse automatique : bonjour",
        "Respuesta automática: hola",
        "Risposta automatica: ciao",
        "Automatisch antwoord: hallo",
        "Resposta automática: olá",
        "Autosvar: hej",
        "Automaattinen vastaus: hei",
        "Odpowiedź automatyczna: cześć",
        "Out of Office: hello",
        "Abwesenheitsnotiz: hallo",
        "Automatická odpověď: dotaz",
        "Automatisk svar: hei",
        "Automatikus válasz: kérdés",
        "Răspuns automat: întrebare",
        "Otomatik yanıt: soru",
        "Автоответ: вопрос",
        "Автоматический ответ: вопрос",
        "자동 응답: 문의",
        "自動回覆: 詢問",
    ],
)
def test_auto_reply_subjects(subject: str) -> None:
    """Outlook-style auto-reply subjects in many languages mark an auto-reply."""
    raw = f"From: a@example.net\nSubject: {subject}\n\nI am away.\n".encode()
    assert classify_bytes(raw).kind == "auto_reply"


@pytest.mark.parametrize(
    "marker",
    [
        "X-Autoreply: yes",
        "X-Autorespond: on",
        "X-Auto-Reply-From: a@example.net",
        "X-Mail-Autoreply: true",
        "X-Autogenerated: Reply",
        "Precedence: auto_reply",
    ],
)
def test_vendor_auto_reply_headers(marker: str) -> None:
    """Vendor auto-reply headers mark an auto-reply without a telling subject."""
    raw = f"From: a@example.net\nSubject: hello\n{marker}\n\nAway.\n".encode()
    assert classify_bytes(raw).kind == "auto_reply"


def test_auto_submitted_no_is_not_auto_reply() -> None:
    """Auto-Submitted: no is an ordinary message."""
    raw = b"From: a@example.net\nSubject: hello\nAuto-Submitted: no\n\nHi.\n"
    assert classify_bytes(raw).kind == "email"


def test_auto_response_suppress_is_not_auto_reply() -> None:
    """X-Auto-Response-Suppress asks others not to auto-reply; it is not one."""
    raw = b"From: a@example.net\nSubject: Re: hello\nX-Auto-Response-Suppress: All\n\nOk.\n"
    result = classify_bytes(raw)
    assert result.kind == "email"
    assert result.is_reply is True


def test_precedence_bulk_alone_is_not_auto_reply() -> None:
    """Precedence: bulk without other markers is a newsletter, not an auto-reply."""
    raw = b"From: news@example.net\nSubject: Weekly news\nPrecedence: bulk\n\nNews.\n"
    assert classify_bytes(raw).kind == "email"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ("Subject: Re: hello", True),
        ("Subject: AW: hallo", True),
        ("Subject: SV: hej", True),
        ("Subject: hello\nIn-Reply-To: <x@example.com>", True),
        ("Subject: hello\nReferences: <x@example.com>", True),
        ("Subject: Regarding the offer", False),
        ("Subject: Fwd: hello", False),
    ],
)
def test_is_reply(headers: str, expected: bool) -> None:
    """Threading headers or a reply prefix make is_reply; other subjects do not."""
    raw = f"From: a@example.net\n{headers}\n\nText.\n".encode()
    result = classify_bytes(raw)
    assert result.kind == "email"
    assert result.is_reply is expected


def test_forwarded_bounce_from_a_person_is_email() -> None:
    """A person forwarding a bounce notice is writing an email."""
    raw = b"""\
From: Bob <bob@example.com>
Subject: Fwd: Returned mail: see transcript for details

Look at this: the message could not be delivered. User unknown.
"""
    assert classify_bytes(raw).kind == "email"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I am out until 12 March 2024.", date(2024, 3, 12)),
        ("Back on 2024-03-12.", date(2024, 3, 12)),
        ("I will return on March 15, 2024.", date(2024, 3, 15)),
        ("Ich bin bis 15.03.2024 abwesend.", date(2024, 3, 15)),
        ("I am on leave.", None),
    ],
)
def test_return_date(text: str, expected: date | None) -> None:
    """Stated return dates are parsed; vague or missing ones give None."""
    assert return_date(text, sent=date(2024, 3, 1)) == expected


def test_return_date_without_year_needs_a_sent_date() -> None:
    """A date without a year is placed after the sent date, or dropped."""
    assert return_date("back on Monday, March 4", sent=date(2024, 3, 1)) == date(
        2024, 3, 4
    )
    assert return_date("back on Monday, March 4", sent=None) is None


def test_hard_rule_is_narrow() -> None:
    """Only address-level reasons are hard; notaccept needs a 5xx code."""
    assert is_hard("userunknown", status="5.1.1", reply_code=550)
    assert is_hard("hostunknown", status=None, reply_code=None)
    assert is_hard("notaccept", status="5.1.10", reply_code=None)
    assert not is_hard("notaccept", status="4.0.0", reply_code=None)
    assert not is_hard("blocked", status="5.7.1", reply_code=550)
    assert not is_hard("spamdetected", status="5.7.1", reply_code=554)


def test_find_status_prefers_what_the_server_said() -> None:
    """A status right after a reply code of its class beats other codes."""
    text = "5.1.0 - Unknown address error 550-'5.7.1 <x@example.com>... Access denied'"
    assert find_status(text) == "5.7.1"
    assert find_status("host 192.0.2.153 said: 550 5.1.1 no") == "5.1.1"
    assert find_status("Out: 250 2.1.0 Ok") is None


def test_to_dict_is_json_ready() -> None:
    """to_dict gives plain types: ISO dates and recipients as dicts."""
    result = Classification(
        kind="auto_reply", is_reply=True, auto_reply_until=date(2024, 3, 12)
    )
    assert result.to_dict()["auto_reply_until"] == "2024-03-12"
    bounce = classify_bytes(_dsn()).to_dict()
    recipients = bounce["recipients"]
    assert isinstance(recipients, list)
    assert recipients[0]["recipient"] == "nobody@example.net"


BAD_INPUTS = {
    "empty": b"",
    "one byte": b"x",
    "nul bytes": b"From: a@b.c\x00\nSubject: \x00\x00\n\n\x00body\x00",
    "8-bit garbage": bytes(range(256)) * 40,
    "only headers": b"From: MAILER-DAEMON@x.example\nSubject: failure notice",
    "truncated dsn": _dsn()[:700],
    "report without status part": _crlf(
        "From: MAILER-DAEMON@x.example\nSubject: Undeliverable\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=Q\n\n"
        "--Q\nContent-Type: text/plain\n\nDelivery failed.\n--Q--\n"
    ),
    "no recoverable recipient": b"From: postmaster@x.example\nSubject: Delivery failure\n\n"
    b"Your message could not be delivered.\n",
    "broken base64 status part": b"From: MAILER-DAEMON@x.example\n"
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=Z\n\n"
    b"--Z\nContent-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n\n"
    b"!!!not base64###\n--Z--\n",
    "bad charset": b"From: a@b.c\nSubject: hi\nContent-Type: text/plain; charset=no-such\n\n\xff\xfe",
    "leading blank line": b"\r\n   \r\nFrom: MAILER-DAEMON@x.example\r\nSubject: failure notice\r\n\r\n"
    b"<u@example.net>:\r\nUser unknown\r\n",
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_never_raises(name: str) -> None:
    """Malformed, truncated or binary input is classified, never an exception."""
    result = classify_bytes(BAD_INPUTS[name])
    assert isinstance(result, Classification)
    for fact in result.recipients:
        assert fact.reason


def test_truncated_dsn_still_a_bounce() -> None:
    """A DSN cut off before its status part is still recognised as a bounce."""
    result = classify_bytes(BAD_INPUTS["truncated dsn"])
    assert result.kind == "bounce"
    assert all(f.reason for f in result.recipients)


def test_no_status_part_gives_undefined_reason() -> None:
    """A report with nothing to read is a bounce with reason "undefined"."""
    result = classify_bytes(BAD_INPUTS["report without status part"])
    assert result.kind == "bounce"
    assert result.recipients[0].reason == "undefined"
    assert result.recipients[0].recipient is None


def _nested(depth: int) -> bytes:
    head = "From: MAILER-DAEMON@x.example\nSubject: Undeliverable\nMIME-Version: 1.0\n"
    parts = []
    for level in range(depth):
        parts.append(
            f"Content-Type: multipart/mixed; boundary=b{level}\n\n--b{level}\n"
        )
    tail = "".join(f"\n--b{level}--\n" for level in reversed(range(depth)))
    return (head + "".join(parts) + "Content-Type: text/plain\n\nx\n" + tail).encode()


def test_deep_nesting_never_raises() -> None:
    """Thousands of nested multiparts neither raise nor recurse without bound."""
    assert isinstance(classify_bytes(_nested(3000)), Classification)


def test_recursive_rfc822_never_raises() -> None:
    """A message/rfc822 inside a message/rfc822, many times over, is handled."""
    inner = "From: a@b.c\nSubject: x\n\nbody\n"
    for _ in range(300):
        inner = f"From: a@b.c\nSubject: fw\nContent-Type: message/rfc822\n\n{inner}"
    assert classify_bytes(inner.encode()).kind == "email"


def test_classify_message_accepts_parsed_message() -> None:
    """classify_message takes a compat32 Message and agrees with classify_bytes."""
    raw = _dsn()
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    assert classify_message(msg) == classify_bytes(raw)


def test_plain_email() -> None:
    """An ordinary message is "email" with no recipient facts."""
    raw = b"From: a@example.net\nTo: b@example.com\nSubject: lunch?\n\nAt noon?\n"
    result = classify_bytes(raw)
    assert (result.kind, result.is_reply, result.recipients) == ("email", False, ())
