"""A real Redis for the queue tests: PMAIL_TEST_REDIS_URL, else the local one.

`scripts/test.sh` starts a private Redis when none answers on 127.0.0.1:6379 and
sets PMAIL_TEST_REDIS_URL. Each test gets its own key prefix (two runs on one
machine, or two tests, never share a stream) and its keys are deleted after it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

REDIS_URL = os.environ.get("PMAIL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@dataclass
class QueueEnv:
    """Where a test's queue lives and how to change its settings."""

    url: str
    prefix: str
    config: Path
    client: redis.Redis

    def configure(self, **queue: object) -> None:
        """Write the [queue] table of the test's config file."""
        lines = [
            f'prefix = "{self.prefix}"',
            f'spool_dir = "{self.config.parent / "spool"}"',
        ]
        lines += [
            f"{k} = {v!r}" if not isinstance(v, str) else f'{k} = "{v}"'
            for k, v in queue.items()
        ]
        self.config.write_text("[queue]\n" + "\n".join(lines) + "\n")


@pytest.fixture
def queue_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[QueueEnv]:
    """A private prefix on a real Redis, PMAIL_QUEUE_URL set, short timings."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        pytest.fail(
            f"no Redis at {REDIS_URL} ({exc}); run the tests with scripts/test.sh, which "
            "starts one, or set PMAIL_TEST_REDIS_URL"
        )
    env = QueueEnv(
        REDIS_URL,
        f"pmailtest-{os.getpid()}-{uuid.uuid4().hex[:8]}",
        Path(os.environ["PMAIL_CONFIG"]),
        client,
    )
    env.configure(claim_after=2, linger_ms=20)
    monkeypatch.setenv("PMAIL_QUEUE_URL", REDIS_URL)
    yield env
    keys = list(client.scan_iter(match=f"{env.prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()
