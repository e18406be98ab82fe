"""Failure notices built around a documented or quoted reply, shared by the suites
of known answers (tests/unit/test_classify_documented_*.py, from vendors' and
providers' documents; tests/unit/test_classify_wild_replies.py, from replies quoted
in public posts).

Only the reply handed in comes from a document or a post; the notice around it is
written here.
"""

from __future__ import annotations

RCPT = "RCPT TO"
DATA = "end of DATA"
MAIL = "MAIL FROM"
CONNECT = "connect"
# No remote reply: the reporting MTA's own diagnostic ("connect to ...: Connection
# timed out", "Host or domain name not found", "all relevant MX records point to
# non-existent hosts"), with the action and status the caller gives.
LOCAL = "local"


def relayed_notice(
    reply: str,
    *,
    stage: str,
    status: str,
    form: str = "dsn",
    rcpt: str = "lead@example.net",
    action: str = "",
) -> bytes:
    """Return a failure notice that quotes `reply` as the remote's answer.

    `form` "dsn": a Postfix-style multipart/report whose Diagnostic-Code says
    which command the reply answered ("in reply to RCPT TO command"), with
    `Status: status` and `Action: failed` (5xx) or `delayed` (4xx).
    `form` "exim": an Exim-style plain-text notice ("SMTP error from remote
    mail server after RCPT TO:<...>:"), no report part; it says Exim gave up,
    whatever the reply's class.
    `form` "exim-delay" (a 4xx remote reply): Exim's delay warning, a
    multipart/report whose text gives the reply under "Delay reason:" and whose
    report says `Action: delayed` and `Status: 4.0.0` (Exim writes that status
    in every warning, whatever the reply's code), with the reply as its
    Diagnostic-Code; `status` is not used.
    `stage` LOCAL: `reply` is the reporting MTA's own diagnostic, not a remote
    answer: the report has no Remote-MTA and an X-Postfix Diagnostic-Code, the
    Exim notice gives the words under the address; `action` ("failed" or
    "delayed", default from the status class) says whether it gave up, and a
    delayed Exim notice is Exim's delay warning.
    """
    host = "mx1.gateway.example [192.0.2.25]"
    action = action or ("failed" if status.startswith("5") else "delayed")
    if form == "exim" and stage == LOCAL:
        return _exim_local(reply, rcpt=rcpt, delayed=action == "delayed")
    if form == "exim-delay" and stage == LOCAL:
        raise ValueError('Exim\'s own delayed words: form "exim", action "delayed"')
    if form in ("exim", "exim-delay"):
        after = {
            RCPT: f"after RCPT TO:<{rcpt}>",
            DATA: "after end of data",
            MAIL: "after MAIL FROM:<sender@example.com>",
            CONNECT: "after initial connection",
        }[stage]
    if form == "exim-delay":
        if not reply.startswith("4"):
            raise ValueError(f"an Exim delay warning quotes a 4xx reply: {reply!r}")
        return _exim_delay(reply, after=after, host=host, rcpt=rcpt)
    if form == "exim":
        body = (
            "This message was created automatically by mail delivery software.\n\n"
            "A message that you sent could not be delivered to one or more of its\n"
            "recipients. This is a permanent error. The following address(es) failed:\n\n"
            f"  {rcpt}\n"
            f"    host {host}\n"
            f"    SMTP error from remote mail server {after}:\n"
            f"    {reply}\n"
        )
        text = (
            "From: Mail Delivery System <Mailer-Daemon@out.example.com>\n"
            "To: sender@example.com\n"
            "Subject: Mail delivery failed: returning message to sender\n"
            "Auto-Submitted: auto-replied\n\n"
            f"{body}\n"
            "------ This is a copy of the message, including all the headers. ------\n\n"
            "Message-ID: <orig-1@example.com>\n"
            "From: sender@example.com\n"
            f"To: {rcpt}\n"
            "Subject: hello\n\n"
            "hi\n"
        )
        return text.encode()
    said = (
        f"host {host.replace(' [', '[')} refused to talk to me: {reply}"
        if stage == CONNECT
        else f"host {host.replace(' [', '[')} said: {reply} (in reply to {stage} command)"
    )
    diagnostic = f"X-Postfix; {reply}" if stage == LOCAL else f"smtp; {said}"
    remote = "" if stage == LOCAL else "Remote-MTA: dns; mx1.gateway.example\n"
    opening = (
        "Your message could not be delivered to one or more recipients."
        if action == "failed"
        else "Your message could not be delivered yet; the mail system will keep trying."
    )
    subject = (
        "Undelivered Mail Returned to Sender"
        if action == "failed"
        else "Delayed Mail (still being retried)"
    )
    text = f"""\
From: Mail Delivery System <MAILER-DAEMON@out.example.com>
To: sender@example.com
Subject: {subject}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="GW"

--GW
Content-Type: text/plain

This is the mail system at host out.example.com.
{opening}

--GW
Content-Type: message/delivery-status

Reporting-MTA: dns; out.example.com

Final-Recipient: rfc822; {rcpt}
Original-Recipient: rfc822; {rcpt}
Action: {action}
Status: {status}
{remote}Diagnostic-Code: {diagnostic}

--GW
Content-Type: message/rfc822

Message-ID: <orig-1@example.com>
From: sender@example.com
To: {rcpt}
Subject: hello

hi
--GW--
"""
    return text.replace("\n", "\r\n").encode()


def _exim_local(reply: str, *, rcpt: str, delayed: bool) -> bytes:
    """An Exim notice whose reason is Exim's own words: the failure notice, or
    (delayed) its delay warning with "Delay reason:"."""
    original = (
        "Message-ID: <orig-1@example.com>\n"
        "From: sender@example.com\n"
        f"To: {rcpt}\n"
        "Subject: hello\n\n"
        "hi\n"
    )
    if delayed:
        subject = "Warning: message 1tQx2A-000Abc-7Z delayed 24 hours"
        body = (
            "This message was created automatically by mail delivery software.\n"
            "A message that you sent has not yet been delivered to one or more of its\n"
            "recipients after more than 24 hours on the queue on out.example.com.\n\n"
            "The message identifier is:     1tQx2A-000Abc-7Z\n"
            "The subject of the message is: hello\n\n"
            "The address to which the message has not yet been delivered is:\n\n"
            f"  {rcpt}\n"
            f"    Delay reason: {reply}\n\n"
            "No action is required on your part. Delivery attempts will continue for\n"
            "some time, and this warning may be repeated at intervals if the message\n"
            "remains undelivered. Eventually the mail delivery software will give up,\n"
            "and when that happens, the message will be returned to you.\n"
        )
    else:
        subject = "Mail delivery failed: returning message to sender"
        body = (
            "This message was created automatically by mail delivery software.\n\n"
            "A message that you sent could not be delivered to one or more of its\n"
            "recipients. This is a permanent error. The following address(es) failed:\n\n"
            f"  {rcpt}\n"
            f"    {reply}\n"
        )
    text = (
        "From: Mail Delivery System <Mailer-Daemon@out.example.com>\n"
        "To: sender@example.com\n"
        f"Subject: {subject}\n"
        "Auto-Submitted: auto-replied\n\n"
        f"{body}\n"
        "------ This is a copy of the message's headers. ------\n\n"
        f"{original}"
    )
    return text.encode()


def _exim_delay(reply: str, *, after: str, host: str, rcpt: str) -> bytes:
    """Exim's delay warning for an address a remote server answered with a 4xx
    reply: the address, the host, then "Delay reason:" and the SMTP error, laid
    out as Exim lays it out; and the report part, which Exim always gives
    `Status: 4.0.0`."""
    bound = "1796615400-eximdsn-1804289383"
    reason = _exim_error_lines(
        f"SMTP error from remote mail server {after}: {reply}", lead="Delay reason: "
    )
    name = host.split(" [")[0]
    text = (
        "Auto-Submitted: auto-replied\n"
        "From: Mail Delivery System <Mailer-Daemon@out.example.com>\n"
        "To: sender@example.com\n"
        "Content-Type: multipart/report; report-type=delivery-status;"
        f" boundary={bound}\n"
        "MIME-Version: 1.0\n"
        "Subject: Warning: message 1tQx2A-000Abc-7Z delayed 24 hours\n\n"
        f"--{bound}\n"
        "Content-type: text/plain; charset=us-ascii\n\n"
        "This message was created automatically by mail delivery software.\n"
        "A message that you sent has not yet been delivered to one or more of its\n"
        "recipients after more than 24 hours on the queue on out.example.com.\n\n"
        "The message identifier is:     1tQx2A-000Abc-7Z\n"
        "The subject of the message is: hello\n\n"
        "The address to which the message has not yet been delivered is:\n\n"
        f"  {rcpt}\n"
        f"    host {host}{reason}\n\n"
        "No action is required on your part. Delivery attempts will continue for\n"
        "some time, and this warning may be repeated at intervals if the message\n"
        "remains undelivered. Eventually the mail delivery software will give up,\n"
        "and when that happens, the message will be returned to you.\n\n"
        f"--{bound}\n"
        "Content-type: message/delivery-status\n\n"
        "Reporting-MTA: dns; out.example.com\n\n"
        "Action: delayed\n"
        f"Final-Recipient: rfc822;{rcpt}\n"
        "Status: 4.0.0\n"
        f"Remote-MTA: dns; {name}\n"
        f"Diagnostic-Code: smtp; {reply}\n\n"
        f"--{bound}\n"
        "Content-type: text/rfc822-headers\n\n"
        "Message-ID: <orig-1@example.com>\n"
        "From: sender@example.com\n"
        f"To: {rcpt}\n"
        "Subject: hello\n\n"
        f"\n--{bound}--\n"
    )
    return text.encode()


def _exim_error_lines(error: str, *, lead: str) -> str:
    """An error under an address as Exim prints it in its notices: on a new line
    indented four, after `lead`, broken after a colon that a space follows once
    the line holds more than 45 characters (the break keeps that space, so the
    next line is indented four too)."""
    out = [f"\n    {lead}"]
    count = len(lead)
    for at, char in enumerate(error):
        out.append(char)
        count += 1
        if char == ":" and error[at + 1 : at + 2].isspace() and count > 45:
            out.append("\n   ")
            count = 0
    return "".join(out)


def exchange_ndr(reply: str, *, status: str, rcpt: str = "lead@example.net") -> bytes:
    """A non-delivery report Exchange Online writes itself, quoting `reply` (its
    own words, "Remote server returned '...'"): no remote server, no SMTP step;
    `Action: failed` with `Status: status`."""
    text = f"""\
From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@contoso.example>
To: sender@contoso.example
Subject: Undeliverable: our meeting
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="N"

--N
Content-Type: text/plain

Your message to {rcpt} couldn't be delivered.

Diagnostic information for administrators:
Generating server: BN8PR00MB0001.namprd00.prod.outlook.com
{rcpt}
Remote server returned '{reply}'

--N
Content-Type: message/delivery-status

Reporting-MTA: dns;BN8PR00MB0001.namprd00.prod.outlook.com

Final-recipient: rfc822;{rcpt}
Action: failed
Status: {status}
Diagnostic-Code: smtp;{reply}

--N
Content-Type: text/rfc822-headers

Message-ID: <orig-1@contoso.example>
From: sender@contoso.example
To: {rcpt}
Subject: our meeting

--N--
"""
    return text.replace("\n", "\r\n").encode()


def exchange_legacy_ndr(
    recipient_line: str,
    explanation: list[str],
    *,
    style: str,
    indented: bool,
    hinted: bool,
    rcpt: str = "lead@example.net",
) -> bytes:
    """A non-delivery report in the text layout of Exchange 5.x and 2000/2003, which
    write no RFC 3464 report of their own in this form: the recipient on a line with
    the time ("lead@example.net on 7/12/2026 9:20 AM"), the explanation under it, and
    for 2000/2003 the generating server and code in angle brackets
    ("<mail.corp.example #5.1.1>").

    `style` "5.5": "Your message ... did not reach the following recipient(s):" (the
    To/Subject/Sent block first); "2003": "Your message did not reach some or all of
    the intended recipients." then "The following recipient(s) could not be reached:".
    `indented`: the explanation indented under the recipient, as Outlook shows it;
    without, flush left, as the Microsoft knowledge-base articles print it.
    `hinted`: the `X-MimeOLE: Produced By Microsoft Exchange V6.5` header Exchange puts
    on its mail (a hint, not proof, of its layout); without, headers that name no
    product. `recipient_line` is the text after the address on its line.
    """
    pad = "      " if indented else ""
    under = "            " if indented else ""
    body_lines = [f"{under}{line}" for line in explanation]
    if style == "5.5":
        head = (
            "Your message\n\n"
            f"{pad}To:      {rcpt}\n{pad}Subject: our meeting\n"
            f"{pad}Sent:    Mon, 7 Dec 2026 09:20:11 +0000\n\n"
            "did not reach the following recipient(s):\n\n"
        )
    elif style == "2003":
        head = (
            "Your message did not reach some or all of the intended recipients.\n\n"
            f"{pad}Subject:\tour meeting\n{pad}Sent:\t12/7/2026 9:20 AM\n\n"
            "The following recipient(s) could not be reached:\n\n"
        )
    else:
        raise ValueError(f"unknown style {style!r}")
    text = head + f"{pad}{rcpt} {recipient_line}\n" + "\n".join(body_lines) + "\n"
    hint = "X-MimeOLE: Produced By Microsoft Exchange V6.5\n" if hinted else ""
    raw = (
        "From: System Administrator <postmaster@corp.example>\n"
        "To: sender@corp.example\n"
        "Subject: Undeliverable: our meeting\n"
        "Date: Mon, 7 Dec 2026 09:20:14 +0000\n"
        f"{hint}"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=us-ascii\n\n" + text
    )
    return raw.replace("\n", "\r\n").encode()


def mail_system_error(reason: str, *, rcpt: str = "lead@example.net") -> bytes:
    """The "Mail System Error - Returned Mail" notice a Japanese ISP's gateway writes
    (DTI's help pages show it): "This Message was undeliverable due to the following
    reason:", the sentence that each recipient was rejected by a remote server, then
    "Recipient: <address>" and "Reason: <the server's words>" per recipient."""
    raw = (
        "From: Mail Administrator <Postmaster@isp.example.jp>\n"
        "To: sender@isp.example.jp\n"
        "Subject: Mail System Error - Returned Mail\n"
        "Date: Mon, 7 Dec 2026 09:20:14 +0900\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=us-ascii\n\n"
        "This Message was undeliverable due to the following reason:\n\n"
        "Each of the following recipients was rejected by a remote mail server.\n"
        "The reasons given by the server are included to help you determine why\n"
        "each recipient was rejected.\n\n"
        f"Recipient: <{rcpt}>\n"
        f"Reason: {reason}\n\n"
        "Please reply to Postmaster@isp.example.jp\n"
        "if you feel this message to be in error.\n"
    )
    return raw.replace("\n", "\r\n").encode()


def exchange_smtp_delay(*, rcpt: str = "lead@example.net") -> bytes:
    """The delay notice of Exchange 2000/2003's SMTP service as a user sees it (the
    text part alone): "This is an automatically generated Delivery Status
    Notification.", the warning lines, "Delivery to the following recipients has
    been delayed." and each recipient indented on its own line; no cause."""
    raw = (
        "From: postmaster@corp.example\n"
        "To: sender@corp.example\n"
        "Subject: Delivery Status Notification (Delay)\n"
        "Date: Mon, 7 Dec 2026 09:20:14 +0000\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=us-ascii\n\n"
        "This is an automatically generated Delivery Status Notification.\n\n"
        "THIS IS A WARNING MESSAGE ONLY.\n\n"
        "YOU DO NOT NEED TO RESEND YOUR MESSAGE.\n\n"
        "Delivery to the following recipients has been delayed.\n\n"
        f"       {rcpt}\n\n"
    )
    return raw.replace("\n", "\r\n").encode()


def exchange_named_delay(
    name: str = "Lena Brandt", *, rcpt: str = "lead@example.net"
) -> bytes:
    """Exchange 2010's delay notice as a help page shows it: the recipient as its
    display name with the address in brackets ("Someone (address)"), the subject,
    the retry promise and how long the server will keep trying; no diagnostic."""
    raw = (
        "From: Microsoft Outlook <postmaster@corp.example>\n"
        "To: sender@corp.example\n"
        "Subject: Delivery delayed:our meeting\n"
        "Date: Mon, 7 Dec 2026 09:20:14 +0000\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=us-ascii\n\n"
        "Delivery is delayed to these recipients or groups:\n\n"
        f"{name} ({rcpt})\n\n"
        "Subject: our meeting\n\n"
        "This message hasn't been delivered yet. Delivery will continue to be "
        "attempted.\n\n"
        "The server will keep trying to deliver this message for the next 1 days, "
        "19 hours and 53 minutes. You'll be notified if the message can't be "
        "delivered by that time.\n"
    )
    return raw.replace("\n", "\r\n").encode()
