"""Inbound classification: bounce, delay, auto-reply, complaint, receipt or email.

`classify_message` and `classify_bytes` never raise: whatever the input, they
return a `Classification`, with reason "undefined" where nothing could be read.
"""

from __future__ import annotations

import email
import logging
from email._policybase import (
    compat32,  # email.policy would load headerregistry too (16 ms)
)
from email.message import Message

from pmail_cli.classify.core import classify, fallback
from pmail_cli.classify.model import REASONS, Classification, RecipientFact

__all__ = [
    "REASONS",
    "Classification",
    "RecipientFact",
    "classify_bytes",
    "classify_message",
]

logger = logging.getLogger(__name__)


def classify_message(msg: Message, *, text: str | None = None) -> Classification:
    """Classify a message parsed with the compat32 policy; never raises. `text`: its
    decoded text body, when the caller has it (ingest does), not decoded again."""
    try:
        if not msg.keys():
            msg = _without_leading_blank_lines(msg)
            text = None
        return classify(msg, text=text)
    except Exception:  # includes RecursionError: a bad message is still a message
        logger.debug("classification failed, treating as email", exc_info=True)
        return fallback(msg)


def _without_leading_blank_lines(msg: Message) -> Message:
    """Re-read a message whose headers were pushed into the body by blank lines.

    Some exports start with an empty or all-spaces line, which the parser
    takes for the end of an empty header block.
    """
    payload = msg.get_payload()
    if not isinstance(payload, str) or not payload[:1].isspace():
        return msg
    return email.message_from_string(payload.lstrip(), policy=compat32)


def classify_bytes(raw: bytes) -> Classification:
    """Parse raw RFC 5322 bytes with compat32 and classify them; never raises."""
    try:
        msg = email.message_from_bytes(bytes(raw), policy=compat32)
    except Exception:
        logger.debug("unparseable message, treating as email", exc_info=True)
        return Classification(kind="email", is_reply=False)
    return classify_message(msg)
