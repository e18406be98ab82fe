"""Failure notices built around a documented or quoted reply, shared by the suites
of known answers (tests/unit/test_classify_documented_*.py, from vendors' documents;
tests/unit/test_classify_wild_replies.py, from replies quoted in public posts).

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
    mail server after RCPT TO:<...>:"), no report part.
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
