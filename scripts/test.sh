#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine (Dovecot, a Redis
# when none answers), then run pytest.
# Arguments are passed to pytest. Set PMAIL_TEST_DSN to test against a running server;
# without it the suite uses pmail's embedded PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v dovecot >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends dovecot-imapd openssl >/dev/null
    else
        echo "error: Dovecot is missing; run: sudo apt-get install dovecot-imapd" >&2
        exit 1
    fi
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/pip install -q --upgrade pip >/dev/null
.venv/bin/pip install -q -e '.[test]'

.venv/bin/ruff check src tests benchmarks
.venv/bin/mypy src tests benchmarks

# The queue tests need a real Redis: the machine's, else a private one for this run.
. scripts/test-redis.sh
pmail_start_test_redis
trap pmail_stop_test_redis EXIT
.venv/bin/pytest "$@"
