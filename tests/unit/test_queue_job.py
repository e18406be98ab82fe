"""A queue entry is untrusted input: read_job accepts what pmail enqueue writes and
refuses anything else with InvalidJob, never another exception."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmail_cli.mail.prepare import DIRECTIONS
from pmail_cli.queue_job import DIRECTIONS as JOB_DIRECTIONS
from pmail_cli.queue_job import InvalidJob, Job, loose_job, read_job, signature

NAMES = [
    b"type",
    b"tenant",
    b"priority",
    b"origin",
    b"direction",
    b"job",
    b"enqueued",
    b"attempts",
    b"raw",
    b"spool",
    b"sha256",
    b"account",
    b"other",
]


def test_what_enqueue_writes_is_read_back() -> None:
    """Each job type as the producers write it reads back as the same job."""
    jobs = [
        Job("store", "acme", "high", origin="a.eml", direction="inbound", raw=b"x"),
        Job("store", "acme", "high", spool=f"{uuid.uuid4()}.eml"),
        Job(
            "store", "acme", "high", spool="m.eml", sha256=hashlib.sha256().hexdigest()
        ),
        Job("import-imap", "acme", "high", origin="sdr1", account="sdr1@acme.test"),
        Job("analytics", "acme", "high"),
    ]
    for job in jobs:
        as_redis = {str(k).encode(): v for k, v in job.fields().items()}
        assert read_job(as_redis, stream="high", max_raw=10) == job


def test_directions_match_the_pipeline() -> None:
    """The job checks allow exactly the directions the pipeline knows."""
    assert JOB_DIRECTIONS == DIRECTIONS


@settings(max_examples=400)
@given(
    st.dictionaries(
        st.sampled_from(NAMES) | st.binary(max_size=8),
        st.binary(max_size=40)
        | st.sampled_from(
            [b"store", b"analytics", b"import-imap", b"acme", b"normal", b"auto"]
        ),
        max_size=12,
    ),
    st.sampled_from(["high", "normal", "bulk"]),
)
def test_any_entry_is_a_job_or_refused(fields: dict[bytes, bytes], stream: str) -> None:
    """Whatever an entry holds, read_job returns a job or raises InvalidJob, and
    loose_job (for showing it) never raises."""
    loose_job(fields)
    try:
        job = read_job(fields, stream=stream, max_raw=30)
    except InvalidJob as exc:
        assert str(exc)
        return
    assert job.priority == stream
    assert str(uuid.UUID(job.job_id)) == job.job_id


KEY = bytes.fromhex("a1" * 32)
DIGEST = hashlib.sha256(b"the spooled message").hexdigest()


def _redis(job: Job, key: bytes | None = None) -> dict[bytes, bytes]:
    return {str(k).encode(): v for k, v in job.fields(key).items()}


def test_a_signed_spool_job_must_name_its_files_digest() -> None:
    """A tenant with a job key takes a spool job only with the file's sha256 under
    the signature: the name alone would let whoever writes into the spool swap the
    file under a real job. Without a key the digest is optional (still checked)."""
    keys = {"acme": (KEY,)}
    spooled = Job("store", "acme", "normal", spool="m.eml", sha256=DIGEST)
    assert read_job(_redis(spooled, KEY), stream="normal", max_raw=10, keys=keys)
    bare = Job("store", "acme", "normal", spool="m.eml")
    with pytest.raises(InvalidJob, match="signed spool job without the file's sha256"):
        read_job(_redis(bare, KEY), stream="normal", max_raw=10, keys=keys)
    assert read_job(_redis(bare), stream="normal", max_raw=10).sha256 is None
    # the digest is signed: changing it breaks the signature
    swapped = _redis(spooled, KEY) | {
        b"sha256": hashlib.sha256(b"x").hexdigest().encode()
    }
    with pytest.raises(InvalidJob, match="does not match"):
        read_job(swapped, stream="normal", max_raw=10, keys=keys)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({b"spool": b"m.eml", b"sha256": DIGEST.upper().encode()}, "hex digits"),
        ({b"spool": b"m.eml", b"sha256": DIGEST[:-1].encode()}, "hex digits"),
        ({b"spool": b"m.eml", b"sha256": b"z" * 64}, "hex digits"),
        ({b"spool": b"m.eml", b"sha256": b"0" * 65}, "over 64"),
        ({b"raw": b"x", b"sha256": DIGEST.encode()}, "raw and sha256"),
    ],
)
def test_a_malformed_spool_digest_is_refused(
    fields: dict[bytes, bytes], reason: str
) -> None:
    """sha256 is 64 lower-case hex digits and belongs to spool jobs only, signed or
    not (a re-signed forgery gets no further)."""
    entry = _redis(Job("store", "acme", "normal", raw=b"x")) | fields
    if b"spool" in fields:
        entry.pop(b"raw")
    entry[b"sig"] = signature(entry, KEY).encode()
    for keys in ({}, {"acme": (KEY,)}):
        with pytest.raises(InvalidJob, match=reason):
            read_job(entry, stream="normal", max_raw=10, keys=keys)


def test_while_a_key_is_changed_either_key_verifies() -> None:
    """A tenant's keys are a list while a key is changed: a job signed with any of
    them is taken, one signed with a key no longer listed is refused."""
    new, old, gone = (bytes.fromhex(h * 32) for h in ("b2", "a1", "c3"))
    job = Job("store", "acme", "normal", raw=b"x")
    for key in (new, old):
        read_job(
            _redis(job, key), stream="normal", max_raw=10, keys={"acme": (new, old)}
        )
    with pytest.raises(InvalidJob, match="does not match"):
        read_job(
            _redis(job, gone), stream="normal", max_raw=10, keys={"acme": (new, old)}
        )
    with pytest.raises(InvalidJob, match="does not match"):
        read_job(_redis(job, old), stream="normal", max_raw=10, keys={"acme": (new,)})
