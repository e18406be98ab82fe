"""Hard/soft on evidence: the SMTP step, the status's class and subject, the remote
server and the phrase, decided together and named by --explain (issue 28).

The notices are written for these tests after the behaviour the MTAs document
(RFC 3463/3464/5321, Postfix, Exim, qmail, sendmail, Exchange, Comcast); none is
copied from a held-out or third-party message.
"""

from __future__ import annotations

import pytest

from pmail_cli.classify import Classification, classify_bytes
from pmail_cli.classify.reasons import find_status, judge_reason, remote_server


def _dsn(
    *,
    rcpt: str | None = "lead@example.net",
    status: str,
    diag: str,
    remote: str | None = "mx.example.net",
    action: str = "failed",
    original_to: str = "lead@example.net",
) -> bytes:
    fields = [f"Final-Recipient: rfc822; {rcpt}"] if rcpt else []
    fields += [f"Action: {action}", f"Status: {status}"]
    if remote:
        fields.append(f"Remote-MTA: dns; {remote}")
    fields.append(f"Diagnostic-Code: smtp; {diag}")
    text = f"""\
From: Mail Delivery System <MAILER-DAEMON@out.example.com>
To: sender@example.com
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

This is the mail system at host out.example.com.
Your message could not be delivered to one or more recipients.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; out.example.com

{chr(10).join(fields)}

--B
Content-Type: message/rfc822

Message-ID: <orig-1@example.com>
From: sender@example.com
To: {original_to}
Subject: hello

hi
--B--
"""
    return text.replace("\n", "\r\n").encode()


def _notice(
    body: str, *, subject: str = "Mail delivery failed", tail: str = ""
) -> bytes:
    text = (
        "From: Mail Delivery System <MAILER-DAEMON@out.example.com>\n"
        "To: sender@example.com\n"
        f"Subject: {subject}\n\n{body}\n{tail}"
    )
    return text.encode()


def _first(result: Classification) -> tuple[str | None, str, bool]:
    fact = result.recipients[0]
    return fact.recipient, fact.reason, fact.hard


# -- the SMTP step, the status and the phrase decided together ----------------


def test_user_unknown_at_rcpt_with_an_address_status_is_hard() -> None:
    """Postfix: a 5.1.1 answer to RCPT TO from a named remote server."""
    raw = _dsn(
        status="5.1.1",
        diag="host mx.example.net[192.0.2.7] said: 550 5.1.1 <lead@example.net>: "
        "Recipient address rejected: User unknown in virtual mailbox table "
        "(in reply to RCPT TO command)",
    )
    result = classify_bytes(raw)
    assert _first(result) == ("lead@example.net", "userunknown", True)
    evidence = result.recipients[0].why.evidence  # type: ignore[union-attr]
    assert evidence[0] == 'phrase: "user unknown" -> userunknown'
    assert evidence[1].startswith(
        "status 5.1.1: class 5 (permanent), subject 5.1.x (addressing): "
        "names the cause exactly"
    )
    assert evidence[2] == 'SMTP step: RCPT TO ("in reply to RCPT TO")'
    assert evidence[3] == "remote server: mx.example.net (Remote-MTA)"


def test_user_unknown_after_end_of_data_is_a_filter_and_soft() -> None:
    """Exim: the address was accepted at RCPT; the refusal after DATA is a filter's."""
    raw = _dsn(
        status="5.7.1",
        diag="host mx.example.net [192.0.2.7]: SMTP error from remote mail server "
        "after end of data: 550 5.7.1 user unknown",
    )
    result = classify_bytes(raw)
    assert _first(result) == ("lead@example.net", "filtered", False)
    why = result.recipients[0].why
    assert why is not None
    assert "answered to DATA" in why.reason
    assert why.evidence[1].endswith("(the status alone would say rejected)")
    assert why.evidence[2].startswith("SMTP step: DATA")
    assert why.evidence[4].startswith("together: userunknown -> filtered: ")


def test_an_address_status_at_data_keeps_the_address_bad() -> None:
    """X.1.1 says the address, even when a server said it after DATA (RFC 3463)."""
    raw = _dsn(
        status="5.1.1",
        diag="SMTP error from remote mail server after end of data: "
        "550 5.1.1 mailbox does not exist",
    )
    assert _first(classify_bytes(raw))[1:] == ("userunknown", True)


def test_access_denied_to_mail_from_is_the_sender_refused() -> None:
    """A bare "Access denied" answered to MAIL FROM is about the sender."""
    raw = _dsn(
        status="5.7.1",
        diag="host mx.example.net[192.0.2.7] said: 554 5.7.1 Access denied "
        "(in reply to MAIL FROM command)",
    )
    assert _first(classify_bytes(raw))[1:] == ("rejected", False)


def test_a_refusal_at_connection_time_blocks_the_sending_host() -> None:
    """Refused before any address was given: the sending host is blocked."""
    raw = _dsn(
        status="5.0.0",
        diag="host mx.example.net[192.0.2.7] refused to talk to me: "
        "554 mx.example.net access denied",
    )
    assert _first(classify_bytes(raw))[1:] == ("blocked", False)


@pytest.mark.parametrize(
    ("text", "reason", "hard"),
    [
        # Exchange Online: RecipientNotFound rides on 5.1.10, which RFC 7505
        # gives to null MX; the words decide
        (
            "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient "
            "lead@example.net not found by SMTP address lookup",
            "userunknown",
            True,
        ),
        ("556 5.1.10 Recipient address has null MX", "notaccept", True),
        ("550 5.1.1 RESOLVER.ADR.ExRecipNotFound; not found", "userunknown", True),
        # Exim: the domain's MX hosts do not exist
        ("all relevant MX records point to non-existent hosts", "hostunknown", True),
        (
            "550 5.4.310 DNS domain example.invalid does not exist "
            "[Message=InfoDomainNonexistent]",
            "hostunknown",
            True,
        ),
        # Postfix: a DNS answer that may clear up is a network error
        (
            "450 4.1.2 Host or domain name not found. Name service error for "
            "name=example.org type=MX: Host not found, try again",
            "networkerror",
            False,
        ),
        # blocklists: Postfix's reject_rbl_client wording names a DNS blocklist,
        # whatever the list is called; Comcast's BL codes
        (
            "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using "
            "Barracuda Reputation, http://www.barracudanetworks.com/reputation/",
            "blocked",
            False,
        ),
        (
            "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using "
            "css.spamhaus.org",
            "blocked",
            False,
        ),
        (
            "554 resimta.example.net comcast 192.0.2.1 Comcast block for spam. "
            "Please see http://postmaster.comcast.net/smtp-error-codes.php#BL000000",
            "blocked",
            False,
        ),
        ("550 5.7.1 Message rejected by recipient's filter", "filtered", False),
        (
            "550 5.7.1 Client does not have permissions to send as this sender",
            "securityerror",
            False,
        ),
    ],
)
def test_wording_beside_its_status(text: str, reason: str, hard: bool) -> None:
    """What the remote server said decides, read with its status."""
    raw = _dsn(status=find_status(text) or "5.0.0", diag=text)
    assert _first(classify_bytes(raw))[1:] == (reason, hard)


# -- gave up after retries, could not connect, no such domain -----------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        # the MTA retried until it gave up: the last attempt's failure is a detail
        (
            "Unable to deliver message after multiple attempts. Connection refused",
            "expired",
        ),
        (
            "Sorry, I wasn't able to establish an SMTP connection. I'm not going to "
            "try again; this message has been in the queue too long.",
            "expired",
        ),
        ("Message could not be delivered for 5 days", "expired"),
        ("connect to mx.example.org[192.0.2.1]:25: Connection timed out", "expired"),
        # one attempt that could not connect
        ("connect to mx.example.org[192.0.2.1]:25: Connection refused", "networkerror"),
        ("connect to mx.example.org[192.0.2.1]:25: No route to host", "networkerror"),
        # no such domain
        (
            "Host or domain name not found. Name service error for "
            "name=example.invalid type=A: Host not found",
            "hostunknown",
        ),
    ],
)
def test_expired_networkerror_and_hostunknown_apart(text: str, reason: str) -> None:
    """Give-up wording, connection failures and DNS answers are told apart."""
    assert judge_reason(status=find_status(text), text=text).reason == reason


# -- the remote server --------------------------------------------------------


def test_the_remote_server_is_read_from_each_wording() -> None:
    """Postfix's and Exim's host lines (also folded), or words that report a reply."""
    assert remote_server("host mx.example.net[192.0.2.7] said: 550") == "mx.example.net"
    assert (
        remote_server("host\n    mx.example.net[192.0.2.7] said:") == "mx.example.net"
    )
    assert remote_server("host mx.example.net [192.0.2.7]: 550 x") == "mx.example.net"
    assert remote_server("Remote host said: 550 5.1.1 no") == '"Remote host said"'
    assert remote_server("This is the mail system at host out.example.com.") is None


def test_explain_says_when_no_remote_server_is_named() -> None:
    """A local delivery's own notice: no remote server, no step, no status."""
    raw = _notice(
        "This is the mail system at host out.example.com.\n\n"
        "<lead@example.net>: user unknown\n"
    )
    fact = classify_bytes(raw).recipients[0]
    assert fact.why is not None
    assert fact.why.evidence[1].startswith("status: none given")
    assert fact.why.evidence[2] == "SMTP step: not stated"
    assert fact.why.evidence[3].startswith("remote server: none named")
    assert "no remote server named" in fact.why.reason


# -- a recipient in every layout ----------------------------------------------


_ORIGINAL = """\
------ This is a copy of the message, including all the headers. ------

Message-ID: <orig-7@example.com>
From: sender@example.com
To: Lead Person <lead@example.net>
Subject: quick question

hello
"""


def test_a_notice_naming_no_address_takes_the_returned_messages_recipient() -> None:
    """ "The mailbox is full" with no address: the returned original's only To."""
    raw = _notice(
        "Your message could not be delivered.\n\n"
        "The recipient's mailbox is full and cannot accept messages now.\n",
        tail=_ORIGINAL,
    )
    result = classify_bytes(raw)
    assert result.kind == "bounce"
    assert _first(result) == ("lead@example.net", "mailboxfull", False)
    assert result.recipients[0].why is not None
    assert "returned message's only recipient" in result.recipients[0].why.found_by


def test_a_list_post_does_not_name_the_failed_member() -> None:
    """A mailing list's post is addressed to the list, not the member that failed."""
    raw = _notice(
        "Your message could not be delivered.\n\nThe mailbox is full.\n",
        tail=_ORIGINAL.replace("Subject:", "List-Id: <talk.example.com>\nSubject:"),
    )
    assert classify_bytes(raw).recipients[0].recipient is None


def test_an_address_in_the_prose_is_found_when_no_line_names_one() -> None:
    """Only the sender on a line of its own: the recipient in a sentence counts."""
    raw = _notice(
        "sender@example.com:\n"
        "Your message to lead@example.net was not delivered: mailbox full.\n"
    )
    assert _first(classify_bytes(raw)) == ("lead@example.net", "mailboxfull", False)


def test_a_report_block_without_final_recipient_takes_the_returned_recipient() -> None:
    """A DSN block with Action and Status but no recipient field."""
    raw = _dsn(rcpt=None, status="5.2.2", diag="552 5.2.2 Mailbox full")
    assert _first(classify_bytes(raw)) == ("lead@example.net", "mailboxfull", False)


# -- RFC 3834: auto-generated is not an auto-reply ----------------------------


def _automatic(submitted: str, subject: str = "Reminder: meeting at 10:00") -> bytes:
    return (
        "From: Calendar <calendar@example.com>\n"
        "To: lead@example.net\n"
        f"Subject: {subject}\n"
        f"Auto-Submitted: {submitted}\n\n"
        "Your meeting starts in 15 minutes.\n"
    ).encode()


def test_auto_generated_mail_is_not_an_auto_reply() -> None:
    """RFC 3834 5.1: auto-generated mail answers nothing; auto-replied does."""
    assert classify_bytes(_automatic("auto-generated")).kind == "email"
    assert classify_bytes(_automatic("auto-notified")).kind == "email"
    assert classify_bytes(_automatic("auto-replied")).kind == "auto_reply"
    replied = _automatic("auto-generated", subject="Automatic reply: quick question")
    assert classify_bytes(replied).kind == "auto_reply"


def test_a_notice_naming_no_address_takes_the_one_its_subject_names() -> None:
    """Sendmail puts the failed recipient in the subject of some notices."""
    raw = _notice(
        "The message could not be delivered: mailbox full.\n",
        subject="Returned mail: mailbox full, to <lead@example.net>",
    )
    result = classify_bytes(raw)
    assert _first(result) == ("lead@example.net", "mailboxfull", False)


def test_a_refusal_naming_no_party_at_rcpt_is_the_recipient_side() -> None:
    """A bare "rejected" answered to RCPT TO: the recipient's side refused."""
    raw = _dsn(
        status="5.4.1",
        diag="541 5.4.1 Mail rejected by destination domain "
        "(in reply to RCPT TO command)",
    )
    assert _first(classify_bytes(raw))[1:] == ("filtered", False)
    sender = _dsn(
        status="5.7.1", diag="550 5.7.1 Rejected (in reply to MAIL FROM command)"
    )
    assert _first(classify_bytes(sender))[1:] == ("rejected", False)


def test_a_domain_that_does_not_exist_is_hostunknown_even_after_data() -> None:
    """ "<domain> does not exist": what is missing is a domain, not a mailbox."""
    raw = _dsn(
        status="5.0.0",
        diag="host mx.example.net [192.0.2.7] SMTP error from remote mail server "
        "after end of data: 553 example.invalid does not exist",
    )
    assert _first(classify_bytes(raw))[1:] == ("hostunknown", True)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        # Postfix applies client, HELO and sender checks at RCPT TO by default
        # (smtpd_delay_reject = yes); its reply names the party that failed.
        (
            "554 5.7.1 <mail.example.com>: Helo command rejected: Host not found "
            "(in reply to RCPT TO command)",
            "blocked",
        ),
        (
            "550 5.7.1 <sender@example.com>: Sender address rejected: undeliverable "
            "address: unknown user (in reply to RCPT TO command)",
            "rejected",
        ),
        (
            "550 5.1.1 <lead@example.net>: Recipient address rejected: User unknown "
            "in local recipient table (in reply to RCPT TO command)",
            "userunknown",
        ),
        # "does not accept mail from your IP" refuses the sender, not all mail
        (
            "554 5.7.1 mx.example.net does not accept mail from your IP address",
            "blocked",
        ),
        ("556 5.1.10 example.net does not accept mail (null MX)", "notaccept"),
    ],
)
def test_the_party_a_reply_names_decides_whose_fault(text: str, reason: str) -> None:
    """An address-like cause about the sending side is not the recipient's."""
    assert judge_reason(status=find_status(text), text=text).reason == reason


def test_a_full_address_beats_a_gateway_or_local_final_recipient() -> None:
    """An X.400 gateway's Final-Recipient: the Original-Recipient's address counts."""
    raw = _dsn(
        rcpt="/s=lead/o=example/c=gb/",
        status="5.1.1",
        diag="550 5.1.1 unknown recipient",
    ).replace(
        b"Action: failed",
        b"Original-Recipient: rfc822; lead@example.net\r\nAction: failed",
    )
    assert _first(classify_bytes(raw)) == ("lead@example.net", "userunknown", True)


def test_a_bare_refusal_word_gives_way_to_a_specific_status() -> None:
    """ "550 5.7.9 Rejected": the word names no cause, the status does (RFC 3463)."""
    verdict = judge_reason(status="5.7.9", text="550 5.7.9 Rejected")
    assert verdict.reason == "securityerror"
    assert verdict.evidence[0] == 'phrase: "rejected" -> rejected'
    assert verdict.evidence[1].endswith(
        "decided (securityerror): the words name no cause"
    )
    # X.0.0 names nothing either: the word stays
    assert judge_reason(status="5.0.0", text="550 Rejected").reason == "rejected"
    # a network status on a server's answer to RCPT TO is not about the network
    answered = judge_reason(
        status="5.4.1",
        text="541 5.4.1 Mail rejected by destination domain (in reply to RCPT TO command)",
    )
    assert answered.reason == "filtered"


def test_an_rfc_7372_status_names_the_failed_authentication_check() -> None:
    """5.7.26 (multiple authentication checks failed) over a vague "security"."""
    text = "550-5.7.26 This mail is unauthenticated, which poses a security risk"
    assert judge_reason(status="5.7.26", text=text).reason == "authfailure"
    text = "550 5.7.25 The IP address sending this message does not have a PTR record"
    assert judge_reason(status="5.7.25", text=text).reason == "requireptr"


# -- onhold, a suspended destination, a domain refused with 450 ---------------


@pytest.mark.parametrize(
    ("status", "diag", "reason"),
    [
        # RFC 3463 X.0.0 / X.3.0 name no cause; a final failure whose remote reply
        # is only "temporary" cannot be decided (sisimai's onhold: too little to judge)
        ("4.0.0", "450 4.0.0 Temporary failure", "onhold"),
        ("4.3.0", "451 4.3.0 Please try again later", "onhold"),
        ("4.0.0", "450 4.0.0 Requested action aborted", "onhold"),
        # a stated cause keeps its reason
        (
            "4.3.0",
            "451 4.3.0 Temporary local problem - please try later",
            "systemerror",
        ),
        ("4.2.2", "452 4.2.2 Mailbox full", "mailboxfull"),
        # a permanent undefined status is not on hold
        ("5.0.0", "550 5.0.0 Temporary failure", "systemerror"),
    ],
)
def test_a_final_failure_with_only_a_transient_undefined_status_is_onhold(
    status: str, diag: str, reason: str
) -> None:
    """Action: failed with a 4.0.0/4.3.0 reply and no cause: onhold, soft."""
    result = classify_bytes(_dsn(status=status, diag=diag))
    assert result.kind == "bounce"
    assert _first(result)[1:] == (reason, False)


def test_onhold_is_explained_and_not_given_to_a_delay() -> None:
    """--explain says why; a delay with the same words is still being retried."""
    fact = classify_bytes(
        _dsn(status="4.0.0", diag="450 4.0.0 Temporary failure")
    ).recipients[0]
    assert fact.why is not None
    assert any("onhold" in line for line in fact.why.evidence)
    delayed = classify_bytes(
        _dsn(status="4.0.0", diag="450 4.0.0 Temporary failure", action="delayed")
    )
    assert delayed.kind == "delay"
    assert delayed.recipients[0].reason != "onhold"


def test_postfix_delivery_temporarily_suspended_in_a_final_notice_is_expired() -> None:
    """Postfix marks a destination dead after failed attempts; bounced, it gave up."""
    text = (
        "delivery temporarily suspended: connect to mx.example.net[192.0.2.1]:25: "
        "Connection refused"
    )
    verdict = judge_reason(status="4.4.1", text=text)
    assert verdict.reason == "expired"
    assert any("temporarily suspended" in line for line in verdict.evidence)
    # one attempt that could not connect, said as such, stays a network error
    alone = "connect to mx.example.net[192.0.2.1]:25: Connection refused"
    assert judge_reason(status="4.4.1", text=alone).reason == "networkerror"


def test_postfix_domain_not_found_with_its_default_450_is_hostunknown() -> None:
    """reject_unknown_recipient_domain answers 450 by default; the domain is gone."""
    text = (
        "450 4.1.2 <lead@example.invalid>: Recipient address rejected: Domain not found"
    )
    result = classify_bytes(
        _dsn(rcpt="lead@example.invalid", status="4.1.2", diag=text)
    )
    assert _first(result) == ("lead@example.invalid", "hostunknown", True)
    # a DNS lookup that failed and may clear up is still a network error
    later = (
        "450 4.1.2 Host or domain name not found. Name service error for "
        "name=example.org type=MX: Host not found, try again"
    )
    assert judge_reason(status="4.1.2", text=later).reason == "networkerror"


@pytest.mark.parametrize(
    ("text", "reason", "hard"),
    [
        # Postfix's recipient restrictions answer "<addr>: Recipient address
        # rejected: <why>"; the why decides, the party framing does not
        (
            "550 5.7.1 <lead@example.net>: Recipient address rejected: Message "
            "rejected due to user rules",
            "filtered",
            False,
        ),
        (
            "552 5.2.2 <lead@example.net>: Recipient address rejected: Mailbox "
            "quota exceeded",
            "mailboxfull",
            False,
        ),
        (
            "550 5.1.1 <lead@example.net>: Recipient address rejected: User unknown "
            "in virtual mailbox table",
            "userunknown",
            True,
        ),
        (
            "550 5.1.2 <lead@example.invalid>: Recipient address rejected: Domain "
            "not found",
            "hostunknown",
            True,
        ),
        # Exchange Online's directory-based edge blocking: the address is not in
        # the domain's directory
        (
            "550 5.4.1 Recipient address rejected: Access denied. AS(201806281)",
            "userunknown",
            True,
        ),
        # the framing alone, with nothing after it, still refuses the address
        ("550 <lead@example.net>: Recipient address rejected", "userunknown", True),
    ],
)
def test_postfix_recipient_address_rejected_reads_the_words_after_it(
    text: str, reason: str, hard: bool
) -> None:
    """ "Recipient address rejected:" names the party; the words after it, the cause."""
    raw = _dsn(status=find_status(text) or "5.0.0", diag=text)
    assert _first(classify_bytes(raw))[1:] == (reason, hard)


# -- a refusal written as an MDN (RFC 5429 Sieve reject) ----------------------


def _mdn(disposition: str, words: str) -> bytes:
    text = f"""\
From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>
To: sender@example.com
Subject: Rejected: hello
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification; boundary="M"

--M
Content-Type: text/plain

Your message to <lead@example.net> was automatically rejected:
{words}

--M
Content-Type: message/disposition-notification

Reporting-UA: mx.example.net; Dovecot Mail Delivery Agent
Final-Recipient: rfc822; lead@example.net
Original-Message-ID: <orig-1@example.com>
Disposition: {disposition}

--M--
"""
    return text.replace("\n", "\r\n").encode()


@pytest.mark.parametrize(
    ("words", "reason"),
    [
        # the script's own words name no cause: the recipient's filter refused it
        ("I do not take mail from this list.", "filtered"),
        # a delivery agent's quota refusal, written the same way
        ("Quota exceeded (mailbox for user is full)", "mailboxfull"),
    ],
)
def test_an_automatic_deleted_mdn_is_a_refusal_not_a_read_receipt(
    words: str, reason: str
) -> None:
    """RFC 5429: Sieve's reject as an MDN says "automatic-action/...; deleted"."""
    raw = _mdn("automatic-action/MDN-sent-automatically; deleted", words)
    result = classify_bytes(raw)
    assert result.kind == "bounce"
    assert result.original_message_id == "<orig-1@example.com>"
    assert _first(result) == ("lead@example.net", reason, False)
    fact = result.recipients[0]
    assert fact.why is not None and "5429" in fact.why.found_by


@pytest.mark.parametrize(
    "disposition",
    [
        "manual-action/MDN-sent-manually; displayed",
        "automatic-action/MDN-sent-automatically; displayed",
        # a person deleted it unread: a disposition, not a refusal
        "manual-action/MDN-sent-manually; deleted",
    ],
)
def test_other_dispositions_stay_read_receipts(disposition: str) -> None:
    """Only an automatic deletion is a refusal."""
    assert classify_bytes(_mdn(disposition, "")).kind == "read_receipt"


@pytest.mark.parametrize(
    ("text", "reason", "hard"),
    [
        # Postfix: "refused to talk to me" is a greeting that refused the client;
        # with a policy status (X.7.x) it is the sending host that was refused
        (
            "host mx.example.net[192.0.2.1] refused to talk to me: 554 5.7.1 "
            "No SMTP service here",
            "blocked",
            False,
        ),
        (
            "host mx.example.net[192.0.2.1] said: 550 5.7.1 Connection rejected by "
            "policy (in reply to initial connection)",
            "blocked",
            False,
        ),
        # RFC 7504: 521 / X.3.2, the host accepts no mail at all
        (
            "host mx.example.net[192.0.2.1] refused to talk to me: 521 5.3.2 "
            "mx.example.net does not accept mail",
            "notaccept",
            True,
        ),
    ],
)
def test_a_refused_greeting_blocks_the_host_unless_it_accepts_no_mail(
    text: str, reason: str, hard: bool
) -> None:
    """At connection no address or message was seen yet."""
    raw = _dsn(status=find_status(text) or "5.0.0", diag=text)
    assert _first(classify_bytes(raw))[1:] == (reason, hard)


@pytest.mark.parametrize(
    "text",
    [
        "host mx.example.net[192.0.2.1] said: 550 5.7.1 Message rejected (in reply "
        "to end of DATA command)",
        "SMTP error from remote mail server after end of data: 554 Rejected",
    ],
)
def test_a_bare_refusal_of_the_message_at_data_is_the_recipients_filter(
    text: str,
) -> None:
    """At DATA the sender and the address were accepted: the content was refused."""
    verdict = judge_reason(status=find_status(text), text=text)
    assert verdict.reason == "filtered"
    assert any(line.startswith("SMTP step: DATA") for line in verdict.evidence)
    # the same words answered to MAIL FROM refuse the sender
    mail = "host mx.example.net[192.0.2.1] said: 550 Rejected (in reply to MAIL FROM command)"
    assert judge_reason(status=None, text=mail).reason == "rejected"


@pytest.mark.parametrize(
    ("text", "reason", "hard"),
    [
        # Postfix verify(8): no verdict yet ("in progress") or a deferred probe
        (
            "450 4.1.1 <lead@example.net>: Recipient address rejected: unverified "
            "address: Address verification in progress",
            "onhold",
            False,
        ),
        (
            "450 4.1.1 <lead@example.net>: Recipient address rejected: unverified "
            "address: Recipient address lookup failed",
            "onhold",
            False,
        ),
        # its verdict: the probe was refused by the recipient's server
        (
            "450 4.1.1 <lead@example.net>: Recipient address rejected: undeliverable "
            "address: host mx.example.net[192.0.2.1] said: 550 5.1.1 "
            "<lead@example.net>: User unknown (in reply to RCPT TO command)",
            "userunknown",
            True,
        ),
    ],
)
def test_postfix_address_verification_without_a_verdict_is_onhold(
    text: str, reason: str, hard: bool
) -> None:
    """ "unverified address" has not decided; "undeliverable address" has."""
    raw = _dsn(status=find_status(text) or "5.0.0", diag=text)
    assert _first(classify_bytes(raw))[1:] == (reason, hard)


def test_a_help_address_in_the_prose_is_not_the_failed_recipient() -> None:
    """ "contact support@..." names where to get help; the returned message's
    recipient is the one that failed."""
    body = (
        "The mailbox you tried to reach is over quota.\n"
        "For assistance, contact support@example.net or see the help pages.\n\n"
        "------ This is a copy of the message, including all the headers. ------\n\n"
        "From: sender@example.com\nTo: lead@example.net\nSubject: hi\n\nhello\n"
    )
    result = classify_bytes(_notice(body))
    assert _first(result) == ("lead@example.net", "mailboxfull", False)
    # an address the sentence names as the one that failed is still read
    named = _notice(
        "Your message to lead@example.net could not be delivered: mailbox full."
    )
    assert _first(classify_bytes(named))[0] == "lead@example.net"


# -- greylisting, bad address syntax, Exchange's not-found wording (issue 28) --


@pytest.mark.parametrize(
    "text",
    [
        # Postgrey answering through Postfix's check_policy_service: the
        # "Recipient address rejected:" framing does not make it an address fault
        "host mx.example.net[192.0.2.7] said: 450 4.2.0 <lead@example.net>: "
        "Recipient address rejected: Greylisted, see "
        "http://greylist.example.net/help/example.net.html (in reply to RCPT TO "
        "command)",
        # milter-greylist's default reply
        "451 4.7.1 Greylisting in action, please come back later",
        # greylistd behind Exim: a bare 451 and "try again later"
        "SMTP error from remote mail server after RCPT TO:<lead@example.net>: "
        "451 Temporarily greylisted, please try again later",
    ],
)
def test_greylisting_defers_the_sending_host_not_the_address(text: str) -> None:
    """RFC 6647: greylisting defers an unseen (client IP, sender, recipient)
    triplet until the sending host retries; it says nothing about the address."""
    for action in ("failed", "delayed"):
        raw = _dsn(status=find_status(text) or "4.0.0", diag=text, action=action)
        result = classify_bytes(raw)
        assert _first(result) == ("lead@example.net", "blocked", False)
        why = result.recipients[0].why
        assert why is not None
        assert why.evidence[0].startswith('phrase: "greylist')
        assert why.evidence[0].endswith("-> blocked")


@pytest.mark.parametrize(
    ("text", "reason", "hard"),
    [
        # RFC 3463 X.1.3 "Bad destination mailbox address syntax" names the
        # address; the "syntax" in the words does not make it a protocol error
        (
            "host mx.example.net[192.0.2.7] said: 553 5.1.3 <lead@@example.net>: "
            "bad address syntax (in reply to RCPT TO command)",
            "userunknown",
            True,
        ),
        ("501 5.1.3 Bad recipient address syntax", "userunknown", True),
        # RFC 5321's own 553 text, answered to RCPT TO
        (
            "host mx.example.net[192.0.2.7] said: 553 Requested action not taken: "
            "mailbox name not allowed (in reply to RCPT TO command)",
            "userunknown",
            True,
        ),
        # answered to MAIL FROM it is the sender's address that was refused
        (
            "host mx.example.net[192.0.2.7] said: 553 5.1.3 Requested action not "
            "taken: mailbox name not allowed (in reply to MAIL FROM command)",
            "rejected",
            False,
        ),
        # a protocol syntax error (X.5.x) stays one
        ("501 5.5.2 Syntax error in parameters or arguments", "syntaxerror", False),
    ],
)
def test_a_bad_destination_address_syntax_is_a_bad_address(
    text: str, reason: str, hard: bool
) -> None:
    """X.1.3 and RFC 5321's 553 say the recipient address itself is unusable."""
    raw = _dsn(status=find_status(text) or "5.0.0", diag=text)
    result = classify_bytes(raw)
    assert _first(result)[1:] == (reason, hard)


def test_x13_is_explained_as_naming_the_cause() -> None:
    """--explain says the X.1.3 status decided over the "syntax" words."""
    verdict = judge_reason(status="5.1.3", text="553 5.1.3 bad address syntax")
    assert verdict.reason == "userunknown"
    assert verdict.evidence[0].endswith("-> syntaxerror")  # what the words alone say
    assert verdict.evidence[1].endswith("names the cause exactly (userunknown)")
    assert verdict.rule.startswith("status 5.1.3 names the cause exactly")


@pytest.mark.parametrize(
    ("text", "status"),
    [
        # Exchange Online's report for 5.1.10: "<name> wasn't found at <domain>."
        (
            "Your message to lead@example.net couldn't be delivered.\n"
            "lead wasn't found at example.net.",
            "5.1.10",
        ),
        # Exchange 2007's report text
        (
            "The recipient's e-mail address was not found in the recipient's "
            "e-mail system. Microsoft Exchange will not try to redeliver this "
            "message for you.",
            "5.0.0",
        ),
    ],
)
def test_exchange_not_found_reports_are_an_unknown_address(
    text: str, status: str
) -> None:
    """Exchange's non-delivery report sentences for a recipient not in the directory."""
    verdict = judge_reason(status=status, text=text)
    assert verdict.reason == "userunknown"
    assert verdict.evidence[0].endswith("-> userunknown")
