"""Product recognisers, the reason rules around them, and `--explain` facts.

Every notice here is written for the test from the layout each product is
documented to use; none is copied from a corpus.
"""

from __future__ import annotations

import pytest

from pmail_cli.classify import REASONS, classify_bytes
from pmail_cli.classify.phrases import PHRASE_FILE, TEXT_TABLE, load_phrase_groups
from pmail_cli.classify.products import BY_NAME, PRODUCTS
from pmail_cli.classify.reasons import judge_reason, smtp_stage


def _notice(headers: str, body: str) -> bytes:
    return (headers.strip() + "\n\n" + body).encode("utf-8")


DOMINO = _notice(
    """
From: Postmaster <postmaster@notes.example.com>
To: sender@example.org
Subject: DELIVERY FAILURE: User lead listed nowhere
""",
    """Your message

  Subject: Quick question

was not delivered to:

  lead@notes.example.com

because:

  User lead (lead@notes.example.com) not listed in Domino Directory
""",
)
EXCHANGE_2003 = _notice(
    """
From: System Administrator <postmaster@corp.example.com>
To: sender@example.org
Subject: Undeliverable: Quick question
X-MS-Embedded-Report:
""",
    """Your message

  To:      lead@corp.example.com
  Subject: Quick question

did not reach the following recipient(s):

lead@corp.example.com on Mon, 2 Mar 2026 10:00:00 +0100
    The recipient name is not recognized
    MSEXCH:IMS:Corp:Site:MX1 0 (000C05A6) Unknown Recipient
""",
)
IMAIL = _notice(
    """
From: Mail Delivery Subsystem <postmaster@imail.example.net>
To: sender@example.org
Subject: Undeliverable Mail
X-Mailer: <SMTP32 v8.22>
""",
    """Unknown user: lead@imail.example.net

Original message follows.
""",
)
QMAIL_HELO = _notice(
    """
From: MAILER-DAEMON@qmail.example.com
To: sender@example.org
Subject: failure notice
""",
    """Hi. This is the qmail-send program at qmail.example.com.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<lead@dest.example.com>:
Connected to 192.0.2.7 but my name was rejected.
Remote host said: 501 5.0.0 Invalid domain name

--- Below this line is a copy of the message.
""",
)
KDDI = _notice(
    """
From: no-reply@mx.dion.ne.jp
To: sender@example.org
Subject: Delivery failure
""",
    """Your mail sent on: Mon, 2 Mar 2026 10:00:00 +0900

    Could not be delivered to: <lead@ezweb.ne.jp>
    As their mailbox is full.
""",
)
MAILMARSHAL = _notice(
    """
From: MailMarshal <postmaster@mm.example.com>
To: sender@example.org
Subject: Undeliverable Mail: "Quick question"
""",
    """Your message:

   From:    sender@example.org
   Subject: Quick question

Could not be delivered because of

550 5.1.1 User unknown

The following recipients were affected:
    lead@mm.example.com
    lead2@mm.example.com
""",
)
FML_MEMBERS_ONLY = _notice(
    """
From: list-admin@lists.example.jp
To: sender@example.org
Subject: NOT MEMBER article from sender@example.org
Message-ID: <201003.ABCD.FML@lists.example.jp>
X-MLServer: fml [fml 4.0]
""",
    """You are not a member of this mailing list <list@lists.example.jp>.
""",
)
ORDINARY_EXCHANGE_MAIL = _notice(
    """
From: Someone <someone@corp.example.com>
To: sender@example.org
Subject: Lunch on Friday?
X-MimeOLE: Produced By Microsoft Exchange V6.5
""",
    "Are you free on Friday? lead@corp.example.com asked too.\n",
)


@pytest.mark.parametrize(
    ("raw", "product", "recipient", "reason", "hard"),
    [
        (DOMINO, "lotus-domino", "lead@notes.example.com", "userunknown", True),
        (EXCHANGE_2003, "exchange-2003", "lead@corp.example.com", "userunknown", True),
        (IMAIL, "imail", "lead@imail.example.net", "userunknown", True),
        (QMAIL_HELO, "qmail", "lead@dest.example.com", "blocked", False),
        (KDDI, "kddi", "lead@ezweb.ne.jp", "mailboxfull", False),
        (MAILMARSHAL, "mailmarshal", "lead@mm.example.com", "userunknown", True),
    ],
    ids=["domino", "exchange-2003", "imail", "qmail-helo", "kddi", "mailmarshal"],
)
def test_product_layout_names_recipient_and_reason(
    raw: bytes, product: str, recipient: str, reason: str, hard: bool
) -> None:
    """Each layout yields its failed address, the reason and why, by its name."""
    got = classify_bytes(raw)
    assert got.kind == "bounce"
    assert [f.recipient for f in got.recipients][:1] == [recipient]
    fact = got.recipients[0]
    assert (fact.reason, fact.hard) == (reason, hard)
    assert fact.why is not None
    assert fact.why.found_by.startswith(f"{product}:")
    assert BY_NAME[product].title in got.basis


def test_every_recipient_a_layout_lists_is_read() -> None:
    """MailMarshal lists the affected recipients one per line: all are read."""
    got = classify_bytes(MAILMARSHAL)
    assert [f.recipient for f in got.recipients] == [
        "lead@mm.example.com",
        "lead2@mm.example.com",
    ]


def test_list_server_refusal_is_a_bounce_with_reason_rejected() -> None:
    """FML's members-only refusal has neither a daemon sender nor a DSN."""
    got = classify_bytes(FML_MEMBERS_ONLY)
    assert got.kind == "bounce"
    assert got.recipients[0].reason == "rejected"
    assert "FML" in got.basis


def test_a_hint_header_alone_does_not_make_a_bounce() -> None:
    """Exchange stamps X-MimeOLE on ordinary mail too: that mail stays email."""
    got = classify_bytes(ORDINARY_EXCHANGE_MAIL)
    assert got.kind == "email"
    assert got.recipients == ()


@pytest.mark.parametrize(
    ("text", "stage"),
    [
        ("192.0.2.1 does not like recipient.\nRemote host said: 550 no", "rcpt"),
        ("192.0.2.1 failed after I sent the message.", "data"),
        ("Connected to 192.0.2.1 but sender was rejected.", "mail"),
        ("Connected to 192.0.2.1 but my name was rejected.", "helo"),
        ("550 5.1.1 <a@b.example> User Unknown [RCPT_TO]", "rcpt"),
        ("Sent <<< DATA\nReceived >>> 550 content rejected", "data"),
        ("SMTP Server rejected recipient (Error following RCPT command).", "rcpt"),
        ("host mx said: 550 no (in reply to end of DATA command)", "data"),
        ("550 user unknown", None),
    ],
)
def test_smtp_stage_is_read_from_each_products_wording(
    text: str, stage: str | None
) -> None:
    """The step a server refused, whichever way the reporter wrote it."""
    assert smtp_stage(text) == stage


@pytest.mark.parametrize(
    ("status", "text", "reason"),
    [
        # unknown-user words: a directory's answer at RCPT, else a filter's
        ("5.0.0", "550 user unknown (in reply to RCPT TO command)", "userunknown"),
        ("5.1.1", "550 5.1.1 user unknown", "userunknown"),
        (None, "550 user unknown", "filtered"),
        ("5.2.1", "550 5.2.1 user unknown", "filtered"),
        ("5.0.0", "550 : User unknown", "filtered"),
        ("5.0.0", "550 <a@ezweb.ne.jp>: User unknown", "userunknown"),
        (
            "5.1.1",
            "550 5.1.1 user unknown (in reply to end of DATA command)",
            "userunknown",
        ),
        ("5.0.0", "550 unknown user (in reply to end of DATA command)", "filtered"),
        # a vague phrase read by the step it answered
        (
            "5.7.1",
            "550 5.7.1 Access denied (in reply to MAIL FROM command)",
            "rejected",
        ),
        (
            "5.0.0",
            "550 Unauthenticated senders not allowed (in reply to MAIL FROM command)",
            "securityerror",
        ),
        (None, "500 Remote server does not support TLS (state 6).", "failedstarttls"),
        # the class changes what a code means
        ("4.7.1", "", "blocked"),
        ("5.7.1", "", "rejected"),
        ("4.4.1", "", "expired"),
        ("5.5.3", "", "toomanyconn"),
        # providers' own codes decide
        ("5.1.1", "550 5.1.1 sent to too many recipients this hour. IB607", "speeding"),
        ("5.1.0", "550 5.1.0 sender rejected. AUP#CDRBL", "blocked"),
        ("5.2.0", "550 5.2.0 Mail rejete. ofr_506 [506]", "spamdetected"),
        (
            "5.1.0",
            "550 5.1.0 <a@b.example> sender rejected. AUP#In-1310",
            "toomanyconn",
        ),
        ("5.1.0", "550 5.1.0 sender rejected. AUP#Out-1530", "mesgtoobig"),
        (
            "5.7.1",
            "550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. (S3150) (SC-003)",
            "blocked",
        ),
        (
            "5.7.1",
            "550 SC-001 Mail rejected by Outlook.com for policy reasons",
            "badreputation",
        ),
        # receiving providers' own wording
        (
            "5.2.1",
            "550 5.2.1 The email account that you tried to reach is disabled.",
            "suspend",
        ),
        ("5.7.0", "530 5.7.0 Must issue a STARTTLS command first.", "failedstarttls"),
        ("4.7.0", "421 4.7.0 This message does not have a PTR record", "requireptr"),
        # a full mailbox beats the local delivery program's failure
        (None, "procmail: Quota exceeded while writing", "mailboxfull"),
        ("5.2.2", "552 5.2.2 Mailbox size limit exceeded", "mailboxfull"),
        ("4.3.1", "452 4.3.1 Insufficient system storage", "systemfull"),
        # Japanese wording: phrases start anywhere (no spaces bound the words)
        ("5.2.2", "メールボックスの容量を超えています", "mailboxfull"),
        ("5.1.2", "そのようなドメインが存在しません", "hostunknown"),
        ("5.1.1", "宛先不明のため配送できませんでした", "userunknown"),
    ],
)
def test_reason_rules(status: str | None, text: str, reason: str) -> None:
    """Phrases, codes and circumstances give the documented reason."""
    assert judge_reason(status=status, text=text).reason == reason


def test_the_verdict_says_which_rule_decided() -> None:
    """The rule names the phrase, the code or the circumstance that decided."""
    assert '"mailbox full"' in judge_reason(status=None, text="mailbox full").rule
    coded = judge_reason(status="5.1.1", text="550 too many recipients IB607").rule
    assert "ib607" in coded
    stage = judge_reason(status=None, text="550 user unknown").rule
    assert "filter" in stage


def test_phrase_file_is_consistent() -> None:
    """Every group names a known reason and, if any, a known product."""
    assert TEXT_TABLE, "phrases.txt is empty"
    for reason, product, phrases in TEXT_TABLE:
        assert reason in REASONS, reason
        assert product is None or product in BY_NAME, product
        assert phrases and all(p == p.lower() and p.strip() == p for p in phrases)
    named = {product for _, product, _ in TEXT_TABLE if product}
    assert named <= {p.name for p in PRODUCTS}


def test_phrase_file_rejects_a_phrase_outside_any_group() -> None:
    """A phrase before the first [reason] is a mistake, not a silent skip."""
    with pytest.raises(ValueError, match="line 2"):
        load_phrase_groups("# comment\nuser unknown\n[userunknown]\n")
    assert load_phrase_groups("[userunknown]\nUser  Unknown\n") == (
        ("userunknown", None, ("user unknown",)),
    )
    assert PHRASE_FILE.is_file()


def test_explain_dict_carries_the_rules() -> None:
    """to_dict(explain=True) adds the kind's basis and each recipient's why."""
    plain = classify_bytes(DOMINO).to_dict()
    assert "explain" not in plain
    explained = classify_bytes(DOMINO).to_dict(explain=True)
    assert "Lotus Domino" in str(explained["explain"])
    recipients = explained["recipients"]
    assert isinstance(recipients, list)
    why = recipients[0]["explain"]
    assert set(why) == {"found_by", "reason", "hard", "evidence"}
    assert "domino directory" in why["reason"]
    assert why["hard"].startswith("hard:")
    assert why["evidence"][0] == (
        'phrase: "not listed in domino directory" (lotus-domino\'s own) -> userunknown'
    )
    assert [line.split(":")[0] for line in why["evidence"][1:]] == [
        "status",
        "SMTP step",
        "remote server",
    ]


def test_dsn_fields_in_a_plain_body_make_a_bounce_without_failure_words() -> None:
    """A gateway that writes the DSN fields into a plain text body, under a
    subject and wording of its own, is still read as a report."""
    raw = _notice(
        """
From: Postmaster <postmaster@gw.example.net>
To: sender@example.org
Subject: Notification for sender@example.org
""",
        """Status report of your message.

Final-Recipient: rfc822; lead@gw.example.net
Action: failed
Status: 5.2.2
Diagnostic-Code: smtp; 552 5.2.2 Mailbox size limit exceeded
""",
    )
    got = classify_bytes(raw)
    assert got.kind == "bounce"
    assert [(f.recipient, f.reason) for f in got.recipients] == [
        ("lead@gw.example.net", "mailboxfull")
    ]
    assert got.basis.startswith("rfc3464: DSN fields in a text/plain part")


# Unknown-user wording with no status and no answer to RCPT is a filter's
# refusal (docs/classification.md, "The reason engine"): surfcontrol,
# apache-james and x1 below say "no such user" that way.
LAYOUTS = [
    (
        "ibm-notes",
        "From: Postmaster <postmaster@notes.example.com>\nSubject: Undeliverable message",
        "------- Failure Reasons  --------\n\nUser not listed in public Name & Address Book\n"
        "lead@notes.example.com\n\n------- Returned Message --------\n",
        "lead@notes.example.com",
        "userunknown",
    ),
    (
        "biglobe",
        "From: postmaster@mail.biglobe.ne.jp\nSubject: Returned mail: Delivery failed",
        "   ----- The following addresses had delivery problems -----\n"
        "lead@biglobe.ne.jp\n\n   ----- Non-delivered information -----\n"
        "The number of messages in recipient's mailbox exceeded the local limit.\n",
        "lead@biglobe.ne.jp",
        "mailboxfull",
    ),
    (
        "ezweb",
        "From: Postmaster@ezweb.ne.jp\nSubject: Mail System Error - Returned Mail",
        "The user(s) account is disabled.\n\n<lead@ezweb.ne.jp>: 550 user unknown\n",
        "lead@ezweb.ne.jp",
        "suspend",
    ),
    (
        "surfcontrol",
        "From: postmaster@filter.example.com\nSubject: Mail could not be delivered\n"
        "X-Mailer: SurfControl E-mail Filter\nX-SEF-Processed: 5_0_0_910__2026_03_02",
        "Your message could not be sent.\nA transcript of the attempts to send the "
        "message follows.\nThe number of attempts made: 1\nAddressed To: "
        "lead@dest.example.com\n\nMon, 2 Mar 2026 10:00:00 +0000\nFailed to send to "
        "identified host,\nlead@dest.example.com: [192.0.2.9], 550 lead@dest.example.com"
        "... No such user\n--- Message non-deliverable.\n",
        "lead@dest.example.com",
        "filtered",
    ),
    (
        "interscan-mss",
        'From: "InterScan MSS" <postmaster@gw.example.jp>\nSubject: Mail could not be delivered',
        "Sent <<< RCPT TO:<lead@dest.example.jp>\n"
        "Received >>> 550 5.1.1 <lead@dest.example.jp>... User unknown\n",
        "lead@dest.example.jp",
        "userunknown",
    ),
    (
        "mailfoundry",
        "From: MAILER-DAEMON@mf.example.com\nSubject: Message delivery has failed",
        "Unable to deliver message to: <lead@dest.example.com>\n"
        "Delivery failed for the following reason:\n"
        "Server mx.dest.example.com[192.0.2.4] failed with: 550 Mailbox quota exceeded\n\n"
        "This has been a permanent failure.  No further delivery attempts will be made.\n",
        "lead@dest.example.com",
        "mailboxfull",
    ),
    (
        "apache-james",
        "From: MAILER-DAEMON@james.example.org\nSubject: [BOUNCE]",
        "Hi. This is the James mail server at james.example.org.\n"
        "Error message below:\n550 - Requested action not taken: no such user here\n\n"
        "Message details:\n  Subject: Hello\n  MAIL FROM: sender@example.org\n"
        "  RCPT TO: lead@james.example.org\n",
        "lead@james.example.org",
        "filtered",
    ),
    (
        "verizon",
        "From: post_master@vtext.com\nSubject: Undeliverable Message",
        "Error: 550 - Requested action not taken: no such user here\n\n"
        "Message details:\n  Subject: Hello\n  RCPT TO: 5551234567@vtext.com\n",
        "5551234567@vtext.com",
        "userunknown",
    ),
    (
        "m-filter",
        "From: MAILER-DAEMON@mf.example.jp\nSubject: failure notice\nX-Mailer: m-FILTER",
        "lead@dest.example.jp\n\n-------server message\n"
        "550 5.2.2 Mailbox full\n-------SMTP command\nDATA\n-------original message\n",
        "lead@dest.example.jp",
        "mailboxfull",
    ),
    (
        "x1",
        'From: "Mail Delivery System" <postmaster@x1.example.com>\nSubject: Returned Mail: Error',
        "The original message was received at Mon, 2 Mar 2026 10:00:00 +0000\n"
        "from sender@example.org\n\n---The following addresses had delivery errors---\n\n"
        "lead@dest.example.com [User unknown]\n",
        "lead@dest.example.com",
        "filtered",
    ),
    (
        "x6",
        "From: mailer@x6.example.com\nSubject: There was an error sending your mail",
        "We had trouble delivering your message. Full details follow:\n\n"
        "Subject: 'Hello'\nDate: 'Mon, 2 Mar 2026'\n\n1 error(s):\n\n"
        "SMTP Server <mx.dest.example.com> rejected recipient <lead@dest.example.com> "
        "(Error following RCPT command). It responded as follows: [550 5.1.1 User unknown]\n",
        "lead@dest.example.com",
        "userunknown",
    ),
    (
        "exchange-2007",
        "From: postmaster@corp.example.com\nSubject: Undeliverable: Hello",
        "Delivery has failed to these recipients or groups:\n\n"
        "lead@corp.example.com\nThe e-mail address you entered couldn't be found.\n\n"
        "Diagnostic information for administrators:\n\nGenerating server: mx.corp.example.com\n"
        "lead@corp.example.com\nRemote Server returned '550 5.1.1 RESOLVER.ADR.RecipNotFound; not found'\n",
        "lead@corp.example.com",
        "userunknown",
    ),
    (
        "yahoo",
        "From: MAILER-DAEMON@yahoo.com\nSubject: Failure Notice\nX-YMailISG: abc",
        "Sorry, we were unable to deliver your message to the following address.\n\n"
        "<lead@dest.example.com>:\nRemote host said: 552 5.2.2 Mailbox over quota [RCPT_TO]\n\n"
        "--- Below this line is a copy of the message.\n",
        "lead@dest.example.com",
        "mailboxfull",
    ),
    (
        "activehunter",
        'From: "MAILER-DAEMON" <postmaster@ah.example.jp>\nSubject: FAILURE NOTICE :\nX-AHMailID: 1234',
        "  ----- The following addresses had permanent fatal errors -----\n\n"
        ">>> Lead <lead@dest.example.jp>\n\n  ----- Transcript of session follows -----\n"
        "550 5.1.1 sorry, no mailbox here by that name\n",
        "lead@dest.example.jp",
        "userunknown",
    ),
    (
        "messaging-server",
        "From: Internet Mail Delivery <postmaster@ms.example.com>\n"
        "Subject: Delivery Notification: Delivery has failed",
        "This report relates to a message you sent with the following header fields:\n\n"
        "  Message-id: <1@example.org>\n  Subject: Hello\n\n"
        "Your message cannot be delivered to the following recipients:\n\n"
        "  Recipient address: lead@ms.example.com\n"
        "  Reason: Remote SMTP server has rejected address\n"
        "  Diagnostic code: smtp;550 5.1.1 unknown or illegal alias: lead@ms.example.com\n",
        "lead@ms.example.com",
        "userunknown",
    ),
    (
        "mcafee",
        "From: postmaster@mcafee.example.com\nSubject: Delivery Status\n"
        "X-NAI-Header: Modified by McAfee Email Gateway",
        "--- The following addresses had delivery problems ---\n\n"
        "<lead@dest.example.com>   (550 Unknown user lead@dest.example.com)\n",
        "lead@dest.example.com",
        "userunknown",
    ),
    (
        "mxlogic",
        "From: Mail Delivery System <MAILER-DAEMON@mxlogic.example.net>\n"
        "Subject: Mail delivery failed: returning message to sender\nX-MX-Bounce: yes",
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n\n"
        "  lead@dest.example.com\n    SMTP error from remote mail server after RCPT TO:<lead@dest.example.com>:\n"
        "    host mx.dest.example.com [192.0.2.3]: 550 5.2.2 mailbox is full\n",
        "lead@dest.example.com",
        "mailboxfull",
    ),
    (
        "sendmail-v5",
        "From: Mail Delivery Subsystem <MAILER-DAEMON@v5.example.com>\nSubject: Returned mail: User unknown",
        "   ----- Transcript of session follows -----\n>>> RCPT To:<lead@dest.example.com>\n"
        "<<< 550 <lead@dest.example.com>... User unknown\n"
        "550 <lead@dest.example.com>... User unknown\n\n   ----- Unsent message follows -----\n",
        "lead@dest.example.com",
        "userunknown",
    ),
]


@pytest.mark.parametrize(
    ("product", "headers", "body", "recipient", "reason"),
    LAYOUTS,
    ids=[row[0] for row in LAYOUTS],
)
def test_more_layouts(
    product: str, headers: str, body: str, recipient: str, reason: str
) -> None:
    """Each layout, written as its product documents it, yields its recipient."""
    got = classify_bytes(_notice(headers, body))
    assert got.kind == "bounce", got.basis
    assert [f.recipient for f in got.recipients] == [recipient]
    fact = got.recipients[0]
    assert fact.reason == reason, fact.why
    assert fact.why is not None and fact.why.found_by.startswith(f"{product}:"), (
        fact.why
    )


def _found_in(phrase: str, text: str) -> bool:
    """The phrase table's matching rule: a phrase starting with an ASCII letter or
    digit must start a word."""
    bounded = phrase[0].isascii() and phrase[0].isalnum()
    at = text.find(phrase)
    while at >= 0:
        if not bounded or at == 0 or not text[at - 1].isalnum():
            return True
        at = text.find(phrase, at + 1)
    return False


def test_no_phrase_is_shadowed_by_an_earlier_group() -> None:
    """Every general phrase can decide its own group: no phrase of an earlier
    group is found inside it (else the earlier group always wins)."""
    general = [(r, phrases) for r, product, phrases in TEXT_TABLE if product is None]
    shadowed = []
    for rank, (reason, phrases) in enumerate(general):
        for phrase in phrases:
            for other, others in general[:rank]:
                hit = next((q for q in others if _found_in(q, phrase)), None)
                if hit is not None and other != reason:
                    shadowed.append(
                        f"{phrase!r} ({reason}) is read as {hit!r} ({other})"
                    )
                    break
    assert not shadowed, "\n".join(shadowed)


def test_product_subject_tests_read_encoded_subjects() -> None:
    """InterScan's Japanese subject arrives RFC 2047-encoded and is still read."""
    raw = _notice(
        """
From: "InterScan MSS" <postmaster@gw.example.jp>
To: sender@example.org
Subject: =?UTF-8?B?44Oh44OD44K744O844K444KS6YWN5L+h44Gn44GN44G+44Gb44KT?=
""",
        "Sent <<< RCPT TO:<lead@dest.example.jp>\n"
        "Received >>> 550 5.1.1 <lead@dest.example.jp>... User unknown\n",
    )
    got = classify_bytes(raw)
    assert "InterScan" in got.basis and "Subject" in got.basis
    assert [f.recipient for f in got.recipients] == ["lead@dest.example.jp"]


@pytest.mark.parametrize(
    "header",
    [
        "Received: (qmail 4711 invoked from network); 2 Mar 2026 10:00:00 -0000",
        "X-MimeOLE: Produced By Microsoft Exchange V6.5",
        "Message-ID: <12345.67.JavaMail.app@crm.example>",
        "X-MXL-Hash: 5e1a2b3c4d5e6f70-0123456789abcdef",
    ],
)
def test_a_persons_reply_stays_email_whatever_its_servers_stamped(header: str) -> None:
    """Headers a server puts on all mail do not turn a lead's reply into a bounce,
    even when the reply says an earlier message bounced."""
    raw = _notice(
        f"""
{header}
From: Alice Lead <alice@customer.example>
To: sales@example.org
Subject: Re: your offer
In-Reply-To: <abc@example.org>
""",
        "Thanks. My earlier reply to you bounced, so I am writing again.\n",
    )
    assert classify_bytes(raw).kind == "email"


@pytest.mark.parametrize(
    "subject",
    ["Undeliverable message", "Mail could not be delivered to our office"],
)
def test_a_persons_subject_alone_does_not_make_a_notice(subject: str) -> None:
    """A subject a product's notices use, written by a person, stays email."""
    raw = _notice(
        f"From: Alice Lead <alice@customer.example>\nSubject: {subject}",
        "When I write to bob@customer.example from your portal nothing arrives.\n",
    )
    assert classify_bytes(raw).kind == "email"


def test_a_delay_explains_itself_as_soft() -> None:
    """A free-text delay warning says soft in its explanation, like its flag."""
    raw = _notice(
        "From: MAILER-DAEMON@mx.example.net\nSubject: Warning: message delayed",
        "lead@dest.example.com: 450 4.1.1 user unknown (in reply to RCPT TO command)\n"
        "Delivery attempts will continue.\n",
    )
    got = classify_bytes(raw)
    assert got.kind == "delay"
    fact = got.recipients[0]
    assert fact.hard is False and fact.why is not None
    assert fact.why.hard == "soft: a delay is never hard"


@pytest.mark.parametrize(
    ("text", "stage"),
    [
        (
            "SMTP error from remote mail server after pipelined MAIL FROM:<s@x.example>",
            "mail",
        ),
        ("after pipelined end of data: 550 rejected", "data"),
        ("host mx said: 550 Access denied (in reply to EHLO command)", "helo"),
    ],
)
def test_exim_pipelining_and_helo_stages(text: str, stage: str) -> None:
    """Exim's pipelined steps and Postfix's HELO/EHLO refusals are read too."""
    assert smtp_stage(text) == stage


@pytest.mark.parametrize(
    "line",
    [
        " " * 60000,
        "-" * 60000 + "smtp command\nfoo",
        "To: " + "a" * 60000,
        ">>> " + "a" * 60000,
        "550 " + " " * 60000,
        "a" * 60000,
        "'" * 60000,
        "a@" + "b." * 30000,
    ],
    ids=[
        "spaces",
        "dashes",
        "to-line",
        "transcript",
        "reply-spaces",
        "letters",
        "quotes",
        "dots",
    ],
)
def test_hostile_lines_are_classified(line: str) -> None:
    """One 60 KB hostile line in a notice, whichever layout reads it, is still a
    bounce with its one recipient (these lines used to backtrack for minutes;
    the suite's time-out is the guard)."""
    for head in (
        "From: MAILER-DAEMON@mx.example.com\nSubject: Undelivered Mail Returned to Sender",
        "From: post_master@vtext.com\nSubject: Undeliverable Message",
        'From: "MAILER-DAEMON" <postmaster@ah.example.jp>\nSubject: FAILURE NOTICE :\nX-AHMailID: 1',
        "From: MAILER-DAEMON@v5.example.com\nSubject: Returned mail: see transcript",
    ):
        raw = _notice(
            head,
            f"<lead@dest.example.com>: 550 user unknown\n{line}\n\nOriginal message follows.\n",
        )
        got = classify_bytes(raw)
        assert got.kind == "bounce", head
        assert "lead@dest.example.com" in {f.recipient for f in got.recipients}, head
