"""A queue job as data: its stream fields, and the checks every entry passes before
a worker acts on it (docs/queue.md, "Jobs are data").

Anyone who can write to the Redis streams can write any entry, so an entry is read
as untrusted input: every field is checked for presence, type, size and value, an
entry with a field pmail does not write is refused, and a job never carries a
host, a password setting, a command or a path outside the spool. `read_job` is the
one place that decides; `loose_job` reads a refused entry for display only.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pmail_cli import vocab

PRIORITIES = vocab.PRIORITIES  # read in this order
JOB_TYPES = ("store", "import-imap", "analytics")
DIRECTIONS = vocab.INGEST_DIRECTIONS  # as mail.prepare.DIRECTIONS

MAX_TENANT = 200  # characters, as `pmail tenant add` allows
MAX_ORIGIN = 4096  # bytes
MAX_ACCOUNT = 512  # bytes: an account's user name
MAX_NUMBER = 32  # bytes of a number's text
MAX_ATTEMPTS = 1_000_000  # deliveries carried over from dead-letter re-drives
EARLIEST = 946_684_800.0  # 2000-01-01: no job was enqueued before
FUTURE_SLACK = 86_400.0  # clocks of producers and workers may differ, not by a day

COMMON = frozenset(
    {
        "type",
        "tenant",
        "priority",
        "origin",
        "direction",
        "job",
        "enqueued",
        "attempts",
        "sig",
    }
)
# a signature covers every field but itself and `attempts`, which a dead-letter
# re-drive rewrites (the worker's count, not the producer's word)
UNSIGNED = frozenset({b"sig", b"attempts"})
SIGNATURE_VERSION = "v1"
MIN_KEY_BYTES = 32
MAX_KEYS = 4  # a tenant's keys at once: the signing key and those being retired
BY_TYPE = {
    "store": COMMON | {"raw", "spool", "sha256"},
    "import-imap": COMMON | {"account"},
    "analytics": COMMON,
}
# a spooled message's file name: no directory, no dot first (no `..`, no hidden file)
SPOOL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")
# the SHA-256 of a spooled message's bytes, as pmail enqueue writes it
SPOOL_DIGEST = re.compile(r"[0-9a-f]{64}")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


class InvalidJob(Exception):
    """An entry that is not a job pmail can act on; the message is the reason."""


@dataclass(slots=True)
class Job:
    """One unit of work as producers hand it over."""

    type: str  # store | import-imap | analytics
    tenant: str  # tenant name
    priority: str = "normal"
    origin: str = ""  # where the message came from (a path, "-", an IMAP account)
    direction: str = "auto"
    raw: bytes | None = None  # the message (store), unless it went to the spool
    spool: str | None = None  # file name in the spool directory (over max_job_bytes)
    sha256: str | None = None  # the spooled file's SHA-256 (hex), checked on reading
    account: str | None = (
        None  # import-imap: the account's user, as the worker knows it
    )
    job_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    enqueued: float = field(default_factory=time.time)
    attempts: int = 0  # deliveries before a dead-letter re-drive

    def fields(self, key: bytes | None = None) -> dict[Any, bytes]:
        """The stream entry's fields, signed with the tenant's job key when given."""
        out = {
            "type": self.type,
            "tenant": self.tenant,
            "priority": self.priority,
            "origin": self.origin,
            "direction": self.direction,
            "job": self.job_id,
            "enqueued": repr(self.enqueued),
            "attempts": str(self.attempts),
        }
        if self.spool:
            out["spool"] = self.spool
        if self.sha256:
            out["sha256"] = self.sha256
        if self.account:
            out["account"] = self.account
        encoded = {k: v.encode() for k, v in out.items()}
        if self.raw is not None:
            encoded["raw"] = self.raw
        if key is not None:
            named = {k.encode(): v for k, v in encoded.items()}
            encoded["sig"] = signature(named, key).encode()
        return encoded

    @property
    def nbytes(self) -> int:
        """Bytes the entry carries, roughly."""
        return len(self.raw or b"") + 200


def signature(fields: Mapping[bytes, bytes], key: bytes) -> str:
    """`v1:` and the HMAC-SHA256, under the tenant's job key, of every field but
    UNSIGNED: names sorted, each name and value length-prefixed, so no two sets of
    fields give the same message."""
    mac = hmac.new(key, b"pmail-job-" + SIGNATURE_VERSION.encode(), hashlib.sha256)
    for name in sorted(k for k in fields if k not in UNSIGNED):
        value = fields[name]
        for part in (name, value):
            mac.update(len(part).to_bytes(8, "big"))
            mac.update(part)
    return f"{SIGNATURE_VERSION}:{mac.hexdigest()}"


def read_job(
    fields: Mapping[bytes, bytes],
    *,
    stream: str,
    max_raw: int,
    keys: Mapping[str, Sequence[bytes]] | None = None,
    require_signed: bool = False,
) -> Job:
    """The job an entry of the `stream` priority's stream holds, every field checked;
    InvalidJob with the reason when it is not one (it then goes to the dead letters,
    never retried: the same entry fails the same way every time). A tenant with a
    job key in `keys` takes only jobs signed with one of its keys; with
    require_signed, a tenant without one takes none."""
    names = {_name(k) for k in fields}
    kind = _text(fields, "type", limit=32, required=True)
    if kind not in JOB_TYPES:
        raise InvalidJob(f"unknown job type {_shown(kind)}")
    unknown = sorted(names - BY_TYPE[kind])
    if unknown:
        raise InvalidJob(f"unknown field {_shown(unknown[0])} in a {kind} job")
    job_id = _job_id(fields)
    tenant = _text(fields, "tenant", limit=MAX_TENANT * 4, required=True)
    if not tenant.strip() or len(tenant) > MAX_TENANT or _CONTROL.search(tenant):
        raise InvalidJob(f"tenant {_shown(tenant)} is not a tenant name")
    signed = _check_signature(fields, tenant, keys or {}, require_signed)
    priority = _text(fields, "priority", limit=32) or stream
    if priority != stream:
        raise InvalidJob(f"priority {_shown(priority)} on the {stream} stream")
    direction = _text(fields, "direction", limit=32) or "auto"
    if direction not in DIRECTIONS:
        raise InvalidJob(f"direction {_shown(direction)} is not one of {DIRECTIONS}")
    origin = _text(fields, "origin", limit=MAX_ORIGIN, control_ok=True)
    job = Job(
        kind,
        tenant,
        priority,
        origin=origin,
        direction=direction,
        job_id=job_id,
        enqueued=_enqueued(fields),
        attempts=_attempts(fields),
    )
    if kind == "store":
        _store_fields(job, fields, max_raw, signed=signed)
    elif kind == "import-imap":
        job.account = _text(fields, "account", limit=MAX_ACCOUNT, required=True)
        if not job.account.strip():
            raise InvalidJob("an import-imap job names no account")
    return job


def _check_signature(
    fields: Mapping[bytes, bytes],
    tenant: str,
    keys: Mapping[str, Sequence[bytes]],
    require_signed: bool,
) -> bool:
    """True when the job is signed with its tenant's key; False when the tenant has
    none (and require_signed is off); InvalidJob otherwise."""
    # --tenant lookups also try the name stripped (services.tenants); the worker's
    # is exact, but a job for ' acme' must never escape acme's key either way
    ring = keys.get(tenant, keys.get(tenant.strip()))
    if not ring:
        if require_signed:
            raise InvalidJob(
                f"no job key for tenant {_shown(tenant)}, and [queue] require_signed "
                "is set: the worker takes only signed jobs"
            )
        return False  # nothing to check it against
    given = fields.get(b"sig")
    if given is None:
        raise InvalidJob(
            f"an unsigned job for tenant {_shown(tenant)}, which takes only jobs "
            "signed with its job key"
        )
    # every key is tried (no early exit), so the time taken names no key
    matches = [
        isinstance(given, bytes)
        and hmac.compare_digest(given, signature(fields, key).encode())
        for key in ring
    ]
    if not any(matches):
        raise InvalidJob(
            f"the job's signature does not match tenant {_shown(tenant)}'s job key "
            "(forged, changed after it was signed, or signed for another tenant)"
        )
    return True


def _store_fields(
    job: Job, fields: Mapping[bytes, bytes], max_raw: int, *, signed: bool
) -> None:
    raw, spool = fields.get(b"raw"), fields.get(b"spool")
    if raw is not None and b"sha256" in fields:
        raise InvalidJob("a store job with raw and sha256 (sha256 is a spool file's)")
    if raw is not None and spool is not None:
        raise InvalidJob("a store job with both raw and spool")
    if raw is None and spool is None:
        raise InvalidJob("a store job without a message (no raw, no spool)")
    if raw is not None:
        if not isinstance(raw, bytes):
            raise InvalidJob("raw is not bytes")
        if not raw:
            raise InvalidJob("a store job with an empty message")
        if len(raw) > max_raw:
            raise InvalidJob(
                f"raw of {len(raw):,} bytes is over max_job_bytes ({max_raw:,}); "
                "larger messages go through the spool"
            )
        job.raw = raw
        return
    name = _text(fields, "spool", limit=4096, required=True)
    job.spool = name  # a file name; where it may be is the spool's to check
    digest = _text(fields, "sha256", limit=64)
    if digest and not SPOOL_DIGEST.fullmatch(digest):
        raise InvalidJob(f"sha256 {_shown(digest)} is not 64 lower-case hex digits")
    if signed and not digest:
        # the signature must cover the file's bytes, not only its name: anyone who
        # can write into the spool could otherwise swap the file under a real job
        raise InvalidJob(
            "a signed spool job without the file's sha256 (written by a pmail "
            "enqueue before spooled files were signed): re-enqueue the message"
        )
    job.sha256 = digest or None


def loose_job(fields: Mapping[bytes, bytes]) -> Job:
    """Whatever an entry says, for showing a refused or dead job; never raises and
    is never acted on."""

    def text(name: str, default: str = "") -> str:
        value = fields.get(name.encode())
        if not isinstance(value, bytes):
            return default
        return value[:MAX_ORIGIN].decode("utf-8", "replace")

    def number(name: str) -> float:
        try:
            value = float(text(name, "0") or 0)
        except ValueError:
            return 0.0
        return value if math.isfinite(value) else 0.0

    raw = fields.get(b"raw")
    return Job(
        type=text("type"),
        tenant=text("tenant"),
        priority=text("priority"),
        origin=text("origin"),
        direction=text("direction"),
        raw=raw if isinstance(raw, bytes) else None,
        spool=text("spool") or None,
        sha256=text("sha256") or None,
        account=text("account") or None,
        job_id=text("job"),
        enqueued=number("enqueued"),
        attempts=int(attempts)
        if 0 <= (attempts := number("attempts")) <= MAX_ATTEMPTS
        else 0,
    )


def _name(key: object) -> str:
    return key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)


def _shown(value: str, limit: int = 60) -> str:
    """A value for a reason: quoted, control characters escaped, cut short."""
    cut = value[:limit] + ("…" if len(value) > limit else "")
    return repr(cut)


def _text(
    fields: Mapping[bytes, bytes],
    name: str,
    *,
    limit: int,
    required: bool = False,
    control_ok: bool = False,
) -> str:
    """A text field: bytes of valid UTF-8 within `limit` bytes, no NUL (and no
    control character unless control_ok)."""
    value = fields.get(name.encode())
    if value is None:
        if required:
            raise InvalidJob(f"the job has no {name}")
        return ""
    if not isinstance(value, bytes):
        raise InvalidJob(f"{name} is not text")
    if len(value) > limit:
        raise InvalidJob(f"{name} of {len(value):,} bytes is over {limit:,}")
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidJob(f"{name} is not UTF-8 text") from None
    if "\x00" in text or (not control_ok and _CONTROL.search(text)):
        raise InvalidJob(f"{name} {_shown(text)} holds a control character")
    return text


def _job_id(fields: Mapping[bytes, bytes]) -> str:
    if b"job" not in fields:
        raise InvalidJob("the job has no job id")
    text = _text(fields, "job", limit=64)
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise InvalidJob(f"job id {_shown(text)} is not a UUID") from None


def _enqueued(fields: Mapping[bytes, bytes]) -> float:
    text = _text(fields, "enqueued", limit=MAX_NUMBER)
    if not text:
        return time.time()
    try:
        value = float(text)
    except ValueError:
        raise InvalidJob(f"enqueued {_shown(text)} is not a time") from None
    if not (math.isfinite(value) and EARLIEST <= value <= time.time() + FUTURE_SLACK):
        raise InvalidJob(f"enqueued {_shown(text)} is not a plausible time")
    return value


def _attempts(fields: Mapping[bytes, bytes]) -> int:
    text = _text(fields, "attempts", limit=MAX_NUMBER) or "0"
    if not text.isascii() or not text.isdigit() or int(text) > MAX_ATTEMPTS:
        raise InvalidJob(f"attempts {_shown(text)} is not a count up to {MAX_ATTEMPTS}")
    return int(text)
