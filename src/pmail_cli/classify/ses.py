"""Amazon SES event notifications delivered as JSON mail bodies (via SNS)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from pmail_cli.classify.dsn import strip_type
from pmail_cli.classify.feedback import complaint_fact
from pmail_cli.classify.model import RecipientFact, is_hard
from pmail_cli.classify.reasons import (
    STATUS_RE,
    decide_reason,
    default_status,
    find_reply_code,
    find_status,
)

MAX_JSON = 256 * 1024


@dataclass(frozen=True, slots=True)
class SesEvent:
    """What one SES notification reports."""

    kind: str
    recipients: tuple[RecipientFact, ...]
    feedback_type: str | None
    message_id: str | None


def _load(body: str) -> dict[str, object] | None:
    start = body.find("{")
    if start < 0 or ("notificationType" not in body and "eventType" not in body):
        return None
    end = body.rfind("}")
    try:
        # SNS breaks long lines inside strings, hence strict=False.
        data = json.loads(body[start : end + 1][:MAX_JSON], strict=False)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    inner = data.get("Message")
    if isinstance(inner, str) and "notificationType" not in data:
        # A raw SNS envelope: the SES event is a JSON string inside it.
        return _load(inner)
    return data


def _dicts(value: object) -> list[dict[str, object]]:
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, dict)]


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _fact(
    *, rcpt: str | None, action: str, diag: str | None, temp: bool
) -> RecipientFact:
    status = find_status(diag or "")
    if action == "delivered":
        found = STATUS_RE.search(diag or "")
        status = ".".join(found.groups()) if found else None
    code = find_reply_code(diag or "")
    reason = decide_reason(status=status, text=diag or "")
    if action == "delivered":
        reason = "delivered"
    if status is None and action == "failed":
        status = default_status(reason, permanent=not temp)
    return RecipientFact(
        recipient=rcpt.lower() if rcpt else None,
        action=action,
        status=status,
        reply_code=code,
        diagnostic_code=strip_type(diag),
        remote_mta=None,
        reason=reason,
        hard=action == "failed" and is_hard(reason, status=status, reply_code=code),
    )


def _message_id(data: dict[str, object]) -> str | None:
    mail = data.get("mail")
    if not isinstance(mail, dict):
        return None
    for item in _dicts(mail.get("headers")):
        if str(item.get("name", "")).lower() == "message-id":
            return _str(item.get("value"))
    return None


def _bounce(data: dict[str, object], temp: bool) -> list[RecipientFact]:
    body = data.get("bounce")
    rcpts = _dicts(body.get("bouncedRecipients")) if isinstance(body, dict) else []
    return [
        _fact(
            rcpt=_str(r.get("emailAddress")),
            action="failed",
            diag=_str(r.get("diagnosticCode")) or _str(r.get("status")),
            temp=temp,
        )
        for r in rcpts
    ]


def ses_event(body: str) -> SesEvent | None:
    """Return the SES bounce/complaint/delivery event in `body`, or None."""
    data = _load(body)
    if data is None:
        return None
    kind = str(data.get("notificationType") or data.get("eventType") or "").lower()
    if kind == "bounce":
        section = data.get("bounce")
        temp = isinstance(section, dict) and section.get("bounceType") == "Transient"
        facts = _bounce(data, temp)
        return SesEvent("bounce", tuple(facts), None, _message_id(data))
    if kind == "complaint":
        section = data.get("complaint")
        sect = section if isinstance(section, dict) else {}
        ftype = _str(sect.get("complaintFeedbackType")) or "abuse"
        facts = [
            complaint_fact((_str(r.get("emailAddress")) or "").lower() or None)
            for r in _dicts(sect.get("complainedRecipients"))
        ]
        return SesEvent("complaint", tuple(facts), ftype, _message_id(data))
    if kind == "delivery":
        section = data.get("delivery")
        sect = section if isinstance(section, dict) else {}
        diag = _str(sect.get("smtpResponse"))
        rcpts = sect.get("recipients")
        names = (
            [r for r in rcpts if isinstance(r, str)] if isinstance(rcpts, list) else []
        )
        facts = [
            _fact(rcpt=r, action="delivered", diag=diag, temp=False) for r in names
        ]
        return SesEvent("delivery_report", tuple(facts), None, _message_id(data))
    return None
