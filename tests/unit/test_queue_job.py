"""A queue entry is untrusted input: read_job accepts what pmail enqueue writes and
refuses anything else with InvalidJob, never another exception."""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from pmail_cli.mail.prepare import DIRECTIONS
from pmail_cli.queue_job import DIRECTIONS as JOB_DIRECTIONS
from pmail_cli.queue_job import InvalidJob, Job, loose_job, read_job

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
    b"account",
    b"other",
]


def test_what_enqueue_writes_is_read_back() -> None:
    """Each job type as the producers write it reads back as the same job."""
    jobs = [
        Job("store", "acme", "high", origin="a.eml", direction="inbound", raw=b"x"),
        Job("store", "acme", "high", spool=f"{uuid.uuid4()}.eml"),
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
