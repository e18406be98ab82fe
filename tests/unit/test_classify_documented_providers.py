"""Known answers from the replies the big mailbox providers document (issue 28, fourth pass).

Each case is one SMTP reply a provider publishes in its own documentation, as a code
and a short key phrase, with the meaning the document gives it mapped to pmail's
reason vocabulary (docs/classification.md, "Reason vocabulary" and "Hard or soft",
and the label conventions of ../shared/corpus/labels.tsv). The expected reading was
written from the document before pmail ran on it.

The notices around the replies are the other documented suites' (tests/support/
notices.py): `relayed_notice` writes an RFC 3464 report as Postfix writes one, and
Exim's notice, its failure notice for a 5xx reply and its delay warning for a 4xx
one; `exchange_ndr` writes the reports Exchange Online writes itself (no remote
server, no SMTP step). No notice is copied from anywhere; only the documented reply
texts (shortened) are the providers'.

Sources, as named in the `doc` column:

* google: "Gmail SMTP errors and codes", support.google.com/a/answer/3726730
* ms-ndr: "Email non-delivery reports and SMTP errors in Exchange Online"
  (learn.microsoft.com, .../non-delivery-reports-in-exchange-online) and its pages
  "Fix email delivery issues for error code 5.1.10 / 5.7.700-750 / 451 4.7.500-699 ..."
* outlook.com: Outlook.com postmaster troubleshooting (sendersupport.olc.protection.outlook.com,
  the SC-/DY-/RP- codes and the S3140/S3150 block-list reply)
* yahoo: Yahoo Sender Hub "SMTP Error Codes" (senders.yahooinc.com/smtp-error-codes)
  and Yahoo help SLN3444 (the "dd This user doesn't have a ... account" reply)
* apple: iCloud Mail postmaster information (support.apple.com/HT204137)
* comcast: Xfinity postmaster "Mail delivery error codes" (postmaster.comcast.net)
* gmx/web.de, mail.ru, yandex: the providers' postmaster error pages
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from pmail_cli.classify import classify_bytes
from tests.support.notices import (
    CONNECT,
    DATA,
    MAIL,
    RCPT,
    exchange_ndr,
    relayed_notice,
)

LEAD = "lead@example.net"


@dataclass(frozen=True)
class Reply:
    """One documented reply and the reading its document gives it."""

    doc: str
    # the command it answered (tests.support.notices); None = the reporter's own NDR
    step: str | None
    text: str  # the reply as the server sends it: code, [status], words
    reason: str
    hard: bool
    # set where pmail keeps an earlier reading the document would put otherwise
    # (docs/classification.md, fourth pass, lists each with its reason)
    kept: str = ""

    @property
    def status(self) -> str | None:
        parts = self.text.split()
        if len(parts) > 1 and parts[1][0] in "245" and parts[1].count(".") == 2:
            return parts[1].rstrip(".,;")
        return None

    @property
    def transient(self) -> bool:
        return self.text.startswith("4")

    @property
    def report_status(self) -> str:
        """The report's Status: the reply's enhanced code, else its class."""
        return self.status or f"{self.text[0]}.0.0"

    def postfix(self) -> bytes:
        return relayed_notice(self.text, stage=self.stage, status=self.report_status)

    def exim(self) -> bytes:
        """Exim's delay warning for a 4xx reply, its failure notice otherwise."""
        form = "exim-delay" if self.transient else "exim"
        return relayed_notice(
            self.text, stage=self.stage, status=self.report_status, form=form
        )

    def exchange(self) -> bytes:
        return exchange_ndr(self.text, status=self.report_status)

    @property
    def stage(self) -> str:
        assert self.step is not None, "an NDR of the reporter's own has no SMTP step"
        return self.step


# fmt: off
REPLIES: dict[str, Reply] = {
    # -- Google: Gmail SMTP errors and codes --------------------------------------
    "google-421-4.7.0-unusual-rate": Reply("google", CONNECT, "421 4.7.0 Our system has detected an unusual rate of unsolicited mail originating from your IP address. To protect our users from spam, mail sent from your IP address has been temporarily rate limited.", "spamdetected", False),
    "google-421-4.7.0-ip-not-in-allowlist": Reply("google", CONNECT, "421 4.7.0 IP not in whitelist for RCPT domain, closing connection.", "blocked", False),
    "google-421-4.7.0-tls-required": Reply("google", RCPT, "421 4.7.0 TLS required for RCPT domain, closing connection.", "failedstarttls", False, kept="securityerror"),
    "google-450-4.2.1-receiving-too-quickly": Reply("google", RCPT, "450 4.2.1 The user you are trying to contact is receiving mail too quickly. Please resend your message at a later time.", "speeding", False),
    "google-450-4.2.1-receiving-at-a-rate": Reply("google", RCPT, "450 4.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages from being delivered.", "speeding", False),
    "google-452-4.2.2-over-quota": Reply("google", RCPT, "452 4.2.2 The email account that you tried to reach is over quota. Please direct the recipient to Clear Google Drive space.", "mailboxfull", False),
    "google-552-5.2.2-out-of-storage": Reply("google", DATA, "552 5.2.2 The recipient's inbox is out of storage space. Please direct the recipient to Clear Google Drive space.", "mailboxfull", False),
    "google-550-5.1.1-does-not-exist": Reply("google", RCPT, "550 5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces.", "userunknown", True),
    "google-553-5.1.2-no-such-domain": Reply("google", RCPT, "553 5.1.2 We weren't able to find the recipient domain. Please check for any spelling errors, and make sure you didn't enter any spaces, periods, or other punctuation after the recipient's email address.", "hostunknown", True),
    "google-550-5.2.1-disabled": Reply("google", RCPT, "550 5.2.1 The email account that you tried to reach is disabled.", "suspend", False),
    "google-550-5.2.1-inactive": Reply("google", RCPT, "550 5.2.1 The email account that you tried to reach is inactive.", "suspend", False),
    "google-550-5.7.1-likely-unsolicited": Reply("google", DATA, "550 5.7.1 Our system has detected that this message is likely unsolicited mail. To reduce the amount of spam sent to Gmail, this message has been blocked.", "spamdetected", False),
    "google-550-5.7.28-unusual-rate": Reply("google", DATA, "550 5.7.28 There's an unusual rate of unsolicited mail originating from your IP address. To protect our users from spam, mail sent from your IP address has been blocked.", "spamdetected", False),
    "google-550-5.7.1-gcdp-policy": Reply("google", DATA, "550 5.7.1 This message violates example.net email policy. - gcdp <sessionid> - gsmtp", "policyviolation", False),
    "google-550-5.7.1-prohibited-by-policy": Reply("google", RCPT, "550 5.7.1 The user or domain that you are sending to (or from) has a policy that prohibited the mail that you sent.", "policyviolation", False),
    "google-550-5.7.1-message-id": Reply("google", DATA, "550 5.7.1 Messages missing a valid Message-ID header are not accepted.", "notcompliantrfc", False),
    "google-550-5.7.1-rfc5322": Reply("google", DATA, "550 5.7.1 Our system has detected that this message is not RFC 5322 compliant.", "notcompliantrfc", False),
    "google-550-5.7.25-ptr": Reply("google", DATA, "550 5.7.25 The IP address sending this message does not have a PTR record setup, or the corresponding forward DNS entry does not point to the sending IP.", "requireptr", False),
    "google-550-5.7.26-unauthenticated": Reply("google", DATA, "550 5.7.26 This mail has been blocked because the sender is unauthenticated. Gmail requires all senders to authenticate with either SPF or DKIM.", "authfailure", False),
    "google-550-5.7.26-dmarc": Reply("google", DATA, "550 5.7.26 Unauthenticated email from example.com is not accepted due to domain's DMARC policy.", "authfailure", False),
    "google-421-4.7.27-spf": Reply("google", DATA, "421 4.7.27 Your email has been rate limited because SPF authentication didn't pass for this message.", "authfailure", False),
    "google-550-5.7.0-security-issue": Reply("google", DATA, "552 5.7.0 This message was blocked because its content presents a potential security issue.", "policyviolation", False, kept="virusdetected"),
    "google-552-5.3.4-size": Reply("google", DATA, "552 5.3.4 Your message exceeded Google's message size limits.", "mesgtoobig", False),
    "google-451-4.3.0-temporarily-rejected": Reply("google", DATA, "451 4.3.0 Mail server temporarily rejected message.", "systemerror", False),
    "google-550-5.7.1-unauthenticated-domain": Reply("google", DATA, "550 5.7.1 Unauthenticated email is not accepted from this domain.", "rejected", False, kept="authfailure"),
    "google-550-5.7.1-multiple-from": Reply("google", DATA, "550 5.7.1 Messages with multiple addresses in From: header are not accepted.", "notcompliantrfc", False),
    "google-550-5.7.1-missing-from": Reply("google", DATA, "550 5.7.1 Messages missing a valid address in From: header, or having no From: header, are not accepted.", "notcompliantrfc", False),
    "google-550-5.7.1-low-reputation-domain": Reply("google", DATA, "550 5.7.1 Our system has detected that this message is likely suspicious due to the very low reputation of the sending domain.", "badreputation", False),
    "google-550-5.7.1-low-reputation-ip": Reply("google", DATA, "550 5.7.1 Our system has detected that this message is likely suspicious due to the very low reputation of the sending IP address.", "badreputation", False),
    "google-421-4.7.0-suspicious-content": Reply("google", DATA, "421 4.7.0 Our system has detected that this message is suspicious due to the nature of the content and/or the links within.", "spamdetected", False),
    "google-552-5.7.0-illegal-attachment": Reply("google", DATA, "552 5.7.0 Our system detected an illegal attachment on your message.", "policyviolation", False),
    "google-550-5.7.0-relay-denied": Reply("google", RCPT, "550 5.7.0 Mail relay denied.", "norelaying", False),
    "google-452-4.5.3-too-many-recipients": Reply("google", RCPT, "452 4.5.3 Your message has too many recipients.", "toomanyconn", False),
    "google-421-4.3.0-temporary-system-problem": Reply("google", CONNECT, "421 4.3.0 Temporary System Problem. Try again later.", "systemerror", False),
    "google-451-4.4.2-timeout": Reply("google", DATA, "451 4.4.2 Timeout - closing connection.", "networkerror", False),
    "google-554-5.6.0-malformed": Reply("google", DATA, "554 5.6.0 Mail message is malformed. Not accepted.", "contenterror", False),
    "google-421-4.7.32-alignment": Reply("google", DATA, "421 4.7.32 Your email has been rate limited because the From: header (RFC5322) in this message isn't aligned with either the authenticated SPF or DKIM organizational domain.", "authfailure", False),
    "google-421-4.7.30-dkim": Reply("google", DATA, "421 4.7.30 Your email has been rate limited because DKIM authentication didn't pass for this message.", "authfailure", False),
    "google-421-4.7.29-tls": Reply("google", DATA, "421 4.7.29 Your email has been rate limited because this message wasn't sent over a TLS connection.", "failedstarttls", False, kept="securityerror"),
    "google-550-5.7.1-ip-not-authorized": Reply("google", MAIL, "550 5.7.1 The IP you're using to send mail is not authorized to send email directly to our servers.", "norelaying", False, kept="blocked"),

    # -- Microsoft: Exchange Online non-delivery reports (its own NDRs) ------------
    "ms-5.1.1-recipnotfound": Reply("ms-ndr", None, "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found", "userunknown", True),
    "ms-5.1.10-recipientnotfound": Reply("ms-ndr", None, "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup", "userunknown", True),
    "ms-5.2.2-mailbox-full": Reply("ms-ndr", None, "554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded", "mailboxfull", False),
    "ms-5.2.3-recipsizelimit": Reply("ms-ndr", None, "550 5.2.3 RESOLVER.RST.RecipSizeLimit; message too large for this recipient", "exceedlimit", False),
    "ms-5.4.6-hop-count": Reply("ms-ndr", None, "554 5.4.6 Hop count exceeded - possible mail loop", "networkerror", False),
    "ms-5.4.14-hop-count": Reply("ms-ndr", None, "554 5.4.14 Hop count exceeded - possible mail loop ATTR34", "networkerror", False),
    "ms-5.4.300-expired": Reply("ms-ndr", None, "550 5.4.300 Message expired", "expired", False),
    "ms-5.4.316-expired-refused": Reply("ms-ndr", None, "550 5.4.316 Message expired, connection refused(Socket error code 10061)", "expired", False),
    "ms-5.7.124-allowed-senders": Reply("ms-ndr", None, "550 5.7.124 Sender not in allowed-senders list", "rejected", False),
    "ms-5.7.133-group": Reply("ms-ndr", None, "550 5.7.133 RESOLVER.RST.SenderNotAuthenticatedForGroup; authentication required; Delivery restriction check failed as sender not authenticated", "rejected", False),
    "ms-5.7.134-mailbox": Reply("ms-ndr", None, "550 5.7.134 RESOLVER.RST.SenderNotAuthenticatedForMailbox; authentication required; Delivery restriction check failed as sender not authenticated", "rejected", False),
    "ms-5.7.1-not-authorized": Reply("ms-ndr", None, "550 5.7.1 RESOLVER.RST.NotAuthorized; not authorized", "filtered", False, kept="rejected"),
    "ms-5.2.121-per-sender-receive-limit": Reply("ms-ndr", None, "550 5.2.121 Recipient's per hour message receive limit from specific sender exceeded.", "speeding", False),
    "ms-5.2.122-receive-limit": Reply("ms-ndr", None, "550 5.2.122 Recipient's per hour message receive limit exceeded.", "speeding", False),
    "ms-4.4.7-queue-expired": Reply("ms-ndr", None, "550 4.4.7 QUEUE.Expired; message expired", "expired", False),
    "ms-5.4.4-nonexistent-domain": Reply("ms-ndr", None, "550 5.4.4 SMTPSEND.DNS.NonExistentDomain; nonexistent domain", "hostunknown", True),
    "ms-5.4.310-dns-domain": Reply("ms-ndr", None, "550 5.4.310 DNS domain example.net does not exist [Message=InfoDomainNonexistent] [LastAttemptedServerName=example.net]", "hostunknown", True),
    "ms-5.1.90-daily-recipient-limit": Reply("ms-ndr", None, "550 5.1.90 Your message can't be sent because you've reached your daily limit for message recipients.", "speeding", False),
    "ms-5.6.0-corrupt-content": Reply("ms-ndr", None, "554 5.6.0 Corrupt message content; STOREDRV.Deliver.Exception:ConversionFailedPermanentException", "contenterror", False),
    "ms-5.7.350-detected-as-spam": Reply("ms-ndr", None, "550 5.7.350 Remote server returned message detected as spam -> 554 5.7.1 Message rejected as spam", "spamdetected", False),
    # -- Microsoft: Exchange Online Protection's replies to a sending server -------
    "ms-5.4.1-access-denied": Reply("ms-ndr", RCPT, "550 5.4.1 Recipient address rejected: Access denied. AS(201806281)", "userunknown", True),
    "ms-5.1.0-sender-denied": Reply("ms-ndr", MAIL, "550 5.1.0 Sender denied", "rejected", False),
    "ms-5.1.8-bad-outbound-sender": Reply("ms-ndr", MAIL, "550 5.1.8 Access denied, bad outbound sender", "rejected", False),
    "ms-5.7.1-delivery-not-authorized": Reply("ms-ndr", RCPT, "550 5.7.1 Delivery not authorized, message refused", "filtered", False, kept="rejected"),
    "ms-5.7.23-spf": Reply("ms-ndr", DATA, "550 5.7.23 The message was rejected because of Sender Policy Framework violation", "authfailure", False),
    "ms-5.7.57-anonymous": Reply("ms-ndr", MAIL, "530 5.7.57 Client was not authenticated to send anonymous mail during MAIL FROM", "securityerror", False),
    "ms-5.7.64-relay": Reply("ms-ndr", RCPT, "550 5.7.64 TenantAttribution; Relay Access Denied", "norelaying", False),
    "ms-5.7.501-spam-abuse": Reply("ms-ndr", MAIL, "550 5.7.501 Access denied, spam abuse detected", "rejected", False),
    "ms-5.7.502-banned-sender": Reply("ms-ndr", MAIL, "550 5.7.502 Access denied, banned sender", "blocked", False),
    "ms-5.7.506-bad-helo": Reply("ms-ndr", MAIL, "550 5.7.506 Access Denied, Bad HELO", "blocked", False),
    "ms-5.7.508-ipv6-limits": Reply("ms-ndr", MAIL, "550 5.7.508 Access denied, [2001:db8::1] has exceeded permitted limits within /64 range", "speeding", False),
    "ms-5.7.509-dmarc": Reply("ms-ndr", DATA, "550 5.7.509 Access denied, sending domain [EXAMPLE.COM] does not pass DMARC verification and has a DMARC policy of reject.", "authfailure", False),
    "ms-5.7.510-ipv6": Reply("ms-ndr", MAIL, "550 5.7.510 Access denied, example.net does not accept email over IPv6", "blocked", False),
    "ms-5.7.511-banned-sender-ip": Reply("ms-ndr", MAIL, "550 5.7.511 Access denied, banned sender[192.0.2.25]. To request removal from this list, forward this message to delist@messaging.microsoft.com.", "blocked", False),
    "ms-5.7.512-rfc5322": Reply("ms-ndr", DATA, "550 5.7.512 Access denied, message must be RFC 5322 section 3.6.2 compliant", "notcompliantrfc", False),
    "ms-5.7.520-forwarding": Reply("ms-ndr", RCPT, "550 5.7.520 Access denied, Your organization does not allow external forwarding.", "policyviolation", False),
    "ms-5.7.606-banned-ip": Reply("ms-ndr", MAIL, "550 5.7.606 Access denied, banned sending IP [192.0.2.25]. To request removal from this list please visit https://sender.office.com/", "blocked", False),
    "ms-5.7.649-banned-ip": Reply("ms-ndr", MAIL, "550 5.7.649 Access denied, banned sending IP [192.0.2.25].", "blocked", False),
    "ms-5.7.700-tenant-threshold": Reply("ms-ndr", MAIL, "550 5.7.700 Access denied, tenant has exceeded threshold", "speeding", False, kept="blocked"),
    "ms-5.7.708-traffic-not-accepted": Reply("ms-ndr", MAIL, "550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP.", "speeding", False, kept="blocked"),
    "ms-5.7.750-unregistered-domains": Reply("ms-ndr", MAIL, "550 5.7.750 Service unavailable. Client blocked from sending from unregistered domains.", "rejected", False),
    "ms-4.7.500-server-busy": Reply("ms-ndr", RCPT, "451 4.7.500 Server busy. Please try again later from [192.0.2.25]. (AS77712344)", "blocked", False),
    "ms-4.7.650-ip-reputation": Reply("ms-ndr", MAIL, "451 4.7.650 The mail server [192.0.2.25] has been temporarily rate limited due to IP reputation.", "badreputation", False),
    "ms-4.7.652-connections": Reply("ms-ndr", CONNECT, "451 4.7.652 The mail server [192.0.2.25] has exceeded the maximum number of connections.", "toomanyconn", False),
    "ms-5.7.1-client-host-spamhaus": Reply("ms-ndr", MAIL, "550 5.7.1 Service unavailable, Client host [192.0.2.25] blocked using Spamhaus. To request removal from this list see https://www.spamhaus.org/query/ip/192.0.2.25 (AS3130)", "blocked", False),
    "ms-5.7.1-helo-spamhaus": Reply("ms-ndr", MAIL, "550 5.7.1 Service unavailable, Helo domain is listed in Spamhaus. (S8001)", "blocked", False),

    # -- Outlook.com (consumer) ----------------------------------------------------
    "outlook-5.7.1-s3150": Reply("outlook.com", MAIL, "550 5.7.1 Unfortunately, messages from [192.0.2.25] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150).", "blocked", False),
    "outlook-5.7.1-s3140": Reply("outlook.com", MAIL, "550 5.7.1 Unfortunately, messages from [192.0.2.25] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3140).", "blocked", False),
    "outlook-sc-001": Reply("outlook.com", MAIL, "550 SC-001 (BAY004-MC1F4) Mail rejected by Outlook.com for policy reasons. Reasons for rejection may be related to content with spam-like characteristics or IP/domain reputation problems.", "badreputation", False),
    "outlook-sc-002": Reply("outlook.com", MAIL, "550 SC-002 (BAY004-MC1F4) Mail rejected by Outlook.com for policy reasons. The mail server IP connecting to Outlook.com has exhibited namespace mining behavior.", "policyviolation", False, kept="blocked"),
    "outlook-sc-003": Reply("outlook.com", MAIL, "550 SC-003 (BAY004-MC1F4) Mail rejected by Outlook.com for policy reasons. Your IP address appears to be an open proxy/relay.", "blocked", False),
    "outlook-sc-004": Reply("outlook.com", MAIL, "550 SC-004 (BAY004-MC1F4) Mail rejected by Outlook.com for policy reasons. A block has been placed against your IP address because we have received complaints concerning mail coming from that IP address.", "blocked", False),
    "outlook-dy-001": Reply("outlook.com", MAIL, "550 DY-001 (BAY004-MC1F4) Mail rejected by Outlook.com for policy reasons. We generally do not accept email from dynamic IP's as they are not typically used to deliver unauthenticated SMTP e-mail to an Internet mail server.", "blocked", False),
    "outlook-rp-001": Reply("outlook.com", MAIL, "421 RP-001 (BAY004-MC1F4) Unfortunately, some messages from 192.0.2.25 weren't sent. Please try again. We have limits for how many messages can be sent per hour and per day.", "badreputation", False, kept="speeding"),
    "outlook-mailbox-unavailable": Reply("outlook.com", RCPT, "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302).", "userunknown", True),

    # -- Yahoo / AOL: Sender Hub SMTP error codes ----------------------------------
    "yahoo-421-tss04": Reply("yahoo", MAIL, "421 4.7.0 [TSS04] Messages from 192.0.2.25 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes", "badreputation", False),
    "yahoo-421-ts01": Reply("yahoo", MAIL, "421 4.7.0 [TS01] Messages from 192.0.2.25 temporarily deferred due to user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes", "badreputation", False),
    "yahoo-421-ts02": Reply("yahoo", MAIL, "421 4.7.0 [TS02] Messages from 192.0.2.25 temporarily deferred due to unexpected volume or user complaints - 4.16.56.1; see https://postmaster.yahooinc.com/error-codes", "badreputation", False),
    "yahoo-421-ts03": Reply("yahoo", MAIL, "421 4.7.0 [TS03] All messages from 192.0.2.25 will be permanently deferred; Retrying will NOT succeed. See https://postmaster.yahooinc.com/error-codes", "rejected", False, kept="badreputation"),
    "yahoo-553-bl21": Reply("yahoo", CONNECT, "553 5.7.1 [BL21] Connections will not be accepted from 192.0.2.25, because the ip is in Spamhaus's list; see https://postmaster.yahooinc.com/error-codes", "blocked", False),
    "yahoo-553-bl23": Reply("yahoo", CONNECT, "553 5.7.1 [BL23] Connections not accepted from IP addresses on Spamhaus SBL; see https://postmaster.yahooinc.com/error-codes", "blocked", False),
    "yahoo-554-dd-no-account": Reply("yahoo", RCPT, "554 delivery error: dd This user doesn't have a yahoo.com account (lead@example.net) [0] - mta1003.mail.gq1.yahoo.com", "userunknown", True),
    "yahoo-552-mailbox-not-found": Reply("yahoo", RCPT, "552 1 Requested mail action aborted, mailbox not found", "userunknown", True),
    "yahoo-554-dd-over-quota": Reply("yahoo", RCPT, "554 delivery error: dd Sorry, your message to lead@example.net cannot be delivered. This account is over quota. [-5] - mta1003.mail.gq1.yahoo.com", "mailboxfull", False),
    "yahoo-554-5.7.9-policy": Reply("yahoo", DATA, "554 5.7.9 Message not accepted for policy reasons. See https://postmaster.yahooinc.com/error-codes", "policyviolation", False),
    "yahoo-550-5.7.9-unauthenticated": Reply("yahoo", DATA, "550 5.7.9 This mail has been blocked because the sender is unauthenticated. Yahoo requires all senders to authenticate with either SPF or DKIM.", "authfailure", False),
    "yahoo-554-5.7.9-dmarc": Reply("yahoo", DATA, "554 5.7.9 Message not accepted for policy reasons. Email rejected per DMARC policy for example.com. See https://postmaster.yahooinc.com/error-codes", "authfailure", False),
    "yahoo-554-ph01": Reply("yahoo", DATA, "554 Message not allowed - [PH01] Email not accepted for policy reasons. Please visit https://postmaster.yahooinc.com/error-codes", "policyviolation", False),
    "yahoo-554-headers-not-rfc": Reply("yahoo", DATA, "554 Message not allowed - Headers are not RFC compliant[291]", "notcompliantrfc", False),
    "yahoo-450-receiving-too-quickly": Reply("yahoo", RCPT, "450 User is receiving mail too quickly", "speeding", False),
    "yahoo-421-max-messages-per-connection": Reply("yahoo", DATA, "421 Max message per connection reached, closing transmission channel", "toomanyconn", False),
    "yahoo-451-resources-unavailable": Reply("yahoo", CONNECT, "451 Resources temporarily unavailable. Please try again later [#4.16.1].", "systemerror", False),

    # -- Apple iCloud Mail ---------------------------------------------------------
    "apple-550-5.1.1-user-does-not-exist": Reply("apple", RCPT, "550 5.1.1 <lead@example.net>: user does not exist", "userunknown", True),
    "apple-550-5.1.1-inactive": Reply("apple", RCPT, "550 5.1.1 <lead@example.net>: inactive email address", "suspend", False),
    "apple-552-5.2.2-over-quota": Reply("apple", RCPT, "552 5.2.2 <lead@example.net>: user is over quota", "mailboxfull", False),
    "apple-550-5.7.1-cs01": Reply("apple", DATA, "550 5.7.1 [CS01] Message rejected due to local policy. Please visit https://support.apple.com/en-us/HT204137", "policyviolation", False),
    "apple-554-5.7.1-hm08": Reply("apple", DATA, "554 5.7.1 [HM08] Message rejected due to local policy. Please visit https://support.apple.com/en-us/HT204137", "policyviolation", False),
    "apple-421-4.7.1-excessive-volume": Reply("apple", RCPT, "421 4.7.1 Messages to lead@example.net deferred due to excessive volume. Try again later - https://support.apple.com/en-us/HT204137", "speeding", False),
    "apple-550-5.7.1-dmarc": Reply("apple", DATA, "550 5.7.1 Your message was rejected due to example.com DMARC policy. Please visit https://support.apple.com/en-us/HT204137", "authfailure", False),

    # -- Comcast / Xfinity ---------------------------------------------------------
    "comcast-bl000000": Reply("comcast", CONNECT, "554 resimta-po-12v.sys.comcast.net resimta-po-12v.sys.comcast.net 192.0.2.25 found on one or more DNSBLs, see http://postmaster.comcast.net/smtp-error-codes.php#BL000000", "blocked", False),
    "comcast-bl000010": Reply("comcast", CONNECT, "554 resimta-po-12v.sys.comcast.net comcast 192.0.2.25 Comcast block list. See http://postmaster.comcast.net/smtp-error-codes.php#BL000010", "blocked", False),
    "comcast-es000010": Reply("comcast", CONNECT, "554 resimta-po-12v.sys.comcast.net comcast 192.0.2.25 Dynamic/residential IP not allowed. See http://postmaster.comcast.net/smtp-error-codes.php#ES000010", "blocked", False),
    "comcast-rl000001": Reply("comcast", RCPT, "452 4.1.0 resimta-po-12v.sys.comcast.net Too many messages from 192.0.2.25 per hour. Please try again later. See http://postmaster.comcast.net/smtp-error-codes.php#RL000001", "speeding", False),
    "comcast-too-many-sessions": Reply("comcast", CONNECT, "421 4.7.0 resimta-po-12v.sys.comcast.net Too many sessions opened", "toomanyconn", False),
    "comcast-rdns": Reply("comcast", CONNECT, "421 4.7.1 resimta-po-12v.sys.comcast.net Reverse DNS failure : Try again later", "requireptr", False),
    "comcast-not-our-customer": Reply("comcast", RCPT, "550 5.1.1 <lead@example.net> Not our Customer", "userunknown", True),

    # -- GMX / web.de, Mail.ru, Yandex ---------------------------------------------
    "gmx-mailbox-unavailable": Reply("gmx/web.de", RCPT, "550 Requested action not taken: mailbox unavailable", "userunknown", True),
    "gmx-exceeded-storage": Reply("gmx/web.de", RCPT, "552 Requested mail action aborted: exceeded storage allocation", "mailboxfull", False),
    "gmx-policy-restrictions": Reply("gmx/web.de", DATA, "554 Transaction failed. Reject due to policy restrictions. For explanation visit https://postmaster.gmx.net/en/error-messages?ip=192.0.2.25&c=sp", "policyviolation", False),
    "gmx-ip-blacklisted": Reply("gmx/web.de", CONNECT, "554 gmx.net (mxgmx001) Nemesis ESMTP Service not available No SMTP service IP address is black listed. For explanation visit https://postmaster.gmx.net/en/error-messages?ip=192.0.2.25&c=bl", "blocked", False),
    "mailru-user-not-found": Reply("mail.ru", RCPT, "550 Message was not accepted -- invalid mailbox. Local mailbox lead@example.net is unavailable: user not found", "userunknown", True),
    "mailru-account-disabled": Reply("mail.ru", RCPT, "550 Message was not accepted -- invalid mailbox. Local mailbox lead@example.net is unavailable: account is disabled", "suspend", False),
    "mailru-spam": Reply("mail.ru", DATA, "550 spam message rejected. Please visit http://help.mail.ru/notspam-support/id?c=abc or report details to abuse@corp.mail.ru. Error code: abc. ID: def.", "spamdetected", False),
    "yandex-no-such-user": Reply("yandex", RCPT, "550 5.7.1 No such user!", "userunknown", True),
    "yandex-mailbox-size": Reply("yandex", RCPT, "552 5.2.2 Mailbox size limit exceeded", "mailboxfull", False),
    "yandex-spam": Reply("yandex", DATA, "554 5.7.1 [2] Message rejected under suspicion of SPAM; https://ya.cc/1IrBc", "spamdetected", False),
}
# fmt: on


def _check(raw: bytes, reply: Reply) -> None:
    result = classify_bytes(raw)
    assert result.kind == ("delay" if reply.transient else "bounce")
    assert result.recipients, "no recipient found"
    fact = result.recipients[0]
    assert fact.recipient == LEAD
    got = (fact.reason, fact.hard)
    assert got == (reply.reason, reply.hard)
    if reply.status is not None:
        assert fact.status == reply.status
    else:
        assert fact.status is not None and fact.status[0] == reply.text[0]


_ON_THE_WIRE = {k: r for k, r in REPLIES.items() if r.step is not None}
_OWN_NDRS = {k: r for k, r in REPLIES.items() if r.step is None}


@pytest.mark.parametrize("key", sorted(_ON_THE_WIRE))
def test_documented_reply_in_a_postfix_report(key: str) -> None:
    _check(_ON_THE_WIRE[key].postfix(), _ON_THE_WIRE[key])


@pytest.mark.parametrize("key", sorted(_ON_THE_WIRE))
def test_documented_reply_in_an_exim_notice(key: str) -> None:
    _check(_ON_THE_WIRE[key].exim(), _ON_THE_WIRE[key])


@pytest.mark.parametrize("key", sorted(_OWN_NDRS))
def test_documented_exchange_online_ndr(key: str) -> None:
    _check(_OWN_NDRS[key].exchange(), _OWN_NDRS[key])


def test_every_documented_source_is_covered() -> None:
    """The suite keeps a case from every provider document it names."""
    docs = {r.doc for r in REPLIES.values()}
    assert docs == {
        "google",
        "ms-ndr",
        "outlook.com",
        "yahoo",
        "apple",
        "comcast",
        "gmx/web.de",
        "mail.ru",
        "yandex",
    }
