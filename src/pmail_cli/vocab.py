"""The closed vocabularies of pmail's options and query fields, and the one check
every one of them goes through.

Pure and cheap to import (the command line loads it before anything else runs). A
value outside its vocabulary is always a usage error (exit 2) whose hint lists the
values there are: `--type nonsense` is refused as `--direction sideways` is, never
read as a filter that matches nothing. docs/commands.md says so once, at the top.
"""

from __future__ import annotations

from collections.abc import Iterable

from pmail_cli.errors import UsageError

# What a message is (email_messages.message_type; its CHECK in sql/migrations/0003).
MESSAGE_TYPES = (
    "email",
    "bounce",
    "delay",
    "auto_reply",
    "complaint",
    "delivery_report",
    "read_receipt",
)
# Which way it went (email_messages.direction).
DIRECTIONS = ("inbound", "outbound")
# ingest/enqueue --direction: auto decides by the tenant's own accounts.
INGEST_DIRECTIONS = ("auto", "inbound", "outbound")
# email_messages.status: what pmail writes and moves, and what the legacy platform
# wrote (docs/schema.md). A legacy status outside it is kept and recorded as an
# `unknown_status` anomaly by migrate-legacy.
STATUSES = (
    "received",
    "sent",
    "delivered",
    "queued",
    "deferred",
    "failed",
    "bounced",
    "opened",
    "clicked",
    "replied",
    "auto_replied",
    "complained",
    "unsubscribed",
)
BOUNCE_CLASSES = ("hard", "soft")
# How a file is read: --as (ingest, classify, enqueue).
READ_FORMATS = ("mbox", "eml")
PRIORITIES = ("high", "normal", "bulk")  # queue streams, read in this order
IMAP_SECURITY = ("tls", "starttls", "none")
ON_OFF = ("on", "off")
VOLUME_BY = ("arrival", "sent")
BOUNCES_BY = ("reason", "domain", "remote-mta")
SORT_KEYS = ("relevance", "newest")
# The bounce `reason` vocabulary (sisimai-like; docs/classification.md).
REASONS = (
    "authfailure",
    "badreputation",
    "blocked",
    "contenterror",
    "delivered",
    "exceedlimit",
    "expired",
    "failedstarttls",
    "feedback",
    "filtered",
    "hasmoved",
    "hostunknown",
    "mailboxfull",
    "mailererror",
    "mesgtoobig",
    "networkerror",
    "norelaying",
    "notaccept",
    "notcompliantrfc",
    "onhold",
    "policyviolation",
    "ratelimited",
    "rejected",
    "requireptr",
    "securityerror",
    "spamdetected",
    "speeding",
    "suspend",
    "syntaxerror",
    "systemerror",
    "systemfull",
    "toomanyconn",
    "undefined",
    "userunknown",
    "vacation",
    "virusdetected",
)


def one_of(what: str, value: str, allowed: Iterable[str]) -> str:
    """`value` as its vocabulary spells it (case, `-` or `_` do not matter), or a
    usage error naming `what` (an option, or a query field) and listing `allowed`."""
    choices = tuple(allowed)
    word = value.strip().lower()
    for candidate in (word, word.replace("-", "_"), word.replace("_", "-")):
        if candidate in choices:
            return candidate
    raise refused(what, value, choices)


def refused(what: str, value: str, allowed: Iterable[str]) -> UsageError:
    """The error for a value outside a closed vocabulary: one line saying so, and a
    hint listing every allowed value."""
    return UsageError(
        f"{what} {value!r} is not one of the allowed values",
        hint=f"{what} takes: {', '.join(allowed)}",
    )
