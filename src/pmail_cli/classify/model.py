"""Result records of inbound classification and their fixed vocabularies."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from pmail_cli import vocab

KINDS: frozenset[str] = frozenset(vocab.MESSAGE_TYPES)

# The `reason` vocabulary (sisimai-like). Documented in docs/classification.md.
REASONS: frozenset[str] = frozenset(vocab.REASONS)

# Reasons that say the address itself is bad (see is_hard()).
_ADDRESS_REASONS = frozenset({"userunknown", "hostunknown", "hasmoved"})


def is_hard(reason: str, *, status: str | None, reply_code: int | None) -> bool:
    """Return True only when the failure says the address itself is bad.

    userunknown, hostunknown and hasmoved are always hard; notaccept is hard
    only with a permanent (5xx / 5.x.x) code. Everything else is soft.
    """
    if reason in _ADDRESS_REASONS:
        return True
    if reason != "notaccept":
        return False
    if status is not None:
        return status.startswith("5")
    return reply_code is not None and 500 <= reply_code < 600


def hard_rule(
    reason: str, *, status: str | None, reply_code: int | None, hard: bool
) -> str:
    """Say in words why is_hard() came out as `hard` (for `classify --explain`)."""
    if hard and reason in _ADDRESS_REASONS:
        return f"hard: {reason} says the address itself is bad"
    if hard:
        return f"hard: notaccept with a permanent code ({status or reply_code})"
    if reason == "notaccept":
        return "soft: notaccept without a permanent code may clear up"
    return f"soft: {reason} does not say the address is bad"


@dataclass(frozen=True, slots=True)
class Why:
    """How one recipient's facts were decided, in words."""

    found_by: str  # the recogniser that found the recipient and its diagnostic
    reason: str  # the phrase or rule that decided the reason
    hard: str  # why hard or soft
    # the evidence read, one line each: phrase, status class and subject,
    # SMTP step, remote server, and what each contributed
    evidence: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """Return the explanations by name (`evidence` as a list of lines)."""
        return {
            "found_by": self.found_by,
            "reason": self.reason,
            "hard": self.hard,
            "evidence": list(self.evidence),
        }


@dataclass(frozen=True, slots=True)
class RecipientFact:
    """What one recipient's delivery attempt came to."""

    recipient: str | None
    action: str | None
    status: str | None
    reply_code: int | None
    diagnostic_code: str | None
    remote_mta: str | None
    reason: str
    hard: bool
    # the DSN's own `Status:` field as written (RFC 3464), beside `status` (the
    # remote server's code when the notice quotes one); None without a DSN status
    reported_status: str | None = None
    why: Why | None = field(default=None, compare=False, repr=False)

    def to_dict(self, *, explain: bool = False) -> dict[str, object]:
        """Return a JSON-ready mapping of every field (`explain` adds `why`)."""
        found: dict[str, object] = {
            "recipient": self.recipient,
            "action": self.action,
            "status": self.status,
            "reported_status": self.reported_status,
            "reply_code": self.reply_code,
            "diagnostic_code": self.diagnostic_code,
            "remote_mta": self.remote_mta,
            "reason": self.reason,
            "hard": self.hard,
        }
        if explain:
            found["explain"] = self.why.to_dict() if self.why else None
        return found


@dataclass(frozen=True, slots=True)
class Classification:
    """What an inbound message is, and the delivery facts it carries."""

    kind: str
    is_reply: bool
    recipients: tuple[RecipientFact, ...] = ()
    original_message_id: str | None = None
    feedback_type: str | None = None
    auto_reply_until: date | None = None
    basis: str = field(default="", compare=False)  # why this kind, in words
    # for ordinary mail: why it asks to be unsubscribed (classify/unsubscribe.py)
    unsubscribe: str | None = None

    def to_dict(self, *, explain: bool = False) -> dict[str, object]:
        """Return a JSON-ready mapping: dates in ISO 8601, recipients as dicts.

        `explain` adds the rule behind the kind and each recipient's `why`.
        """
        until = self.auto_reply_until
        found: dict[str, object] = {
            "kind": self.kind,
            "is_reply": self.is_reply,
            "recipients": [r.to_dict(explain=explain) for r in self.recipients],
            "original_message_id": self.original_message_id,
            "feedback_type": self.feedback_type,
            "auto_reply_until": until.isoformat() if until is not None else None,
            "unsubscribe": self.unsubscribe,
        }
        if explain:
            found["explain"] = self.basis
        return found
