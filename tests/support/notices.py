"""Failure notices built around a documented reply, shared by the suites of
known answers from documented behaviour (tests/unit/test_classify_documented_*.py).

Only the reply handed in comes from a vendor's document; the notice around it is
written here.
"""

from __future__ import annotations

RCPT = "RCPT TO"
DATA = "end of DATA"
MAIL = "MAIL FROM"
CONNECT = "connect"


def relayed_notice(
    reply: str,
    *,
    stage: str,
    status: str,
    form: str = "dsn",
    rcpt: str = "lead@example.net",
) -> bytes:
    """Return a failure notice that quotes `reply` as the remote's answer.

    `form` "dsn": a Postfix-style multipart/report whose Diagnostic-Code says
    which command the reply answered ("in reply to RCPT TO command"), with
    `Status: status` and `Action: failed` (5xx) or `delayed` (4xx).
    `form` "exim": an Exim-style plain-text notice ("SMTP error from remote
    mail server after RCPT TO:<...>:"), no report part.
    """
    host = "mx1.gateway.example [192.0.2.25]"
    if form == "exim":
        after = {
            RCPT: f"after RCPT TO:<{rcpt}>",
            DATA: "after end of data",
            MAIL: "after MAIL FROM:<sender@example.com>",
            CONNECT: "after initial connection",
        }[stage]
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
    action = "failed" if status.startswith("5") else "delayed"
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
Remote-MTA: dns; mx1.gateway.example
Diagnostic-Code: smtp; {said}

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
