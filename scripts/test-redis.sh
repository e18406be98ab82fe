# Sourced by scripts/test.sh and .ci/run: make sure the queue tests have a Redis.
# Uses PMAIL_TEST_REDIS_URL when set, else the one on 127.0.0.1:6379 when it answers,
# else starts a private one on a free port for this run only (stopped by
# pmail_stop_test_redis). redis-server and openssl are installed (as root, with apt)
# when missing either way: tests/queue/test_queue_auth.py starts its own Redis with
# a password and a TLS port, with a certificate openssl makes.

pmail_install_redis_tools() {
    if command -v redis-server >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1; then
        return 0
    fi
    if [ "$(id -u)" = 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends redis-server openssl >/dev/null
    else
        echo "error: redis-server or openssl is missing; run: sudo apt-get install redis-server openssl" >&2
        return 1
    fi
}

pmail_redis_answers() {
    .venv/bin/python - "$1" <<'PY' >/dev/null 2>&1
import sys, redis
redis.Redis.from_url(sys.argv[1], socket_connect_timeout=2).ping()
PY
}

pmail_start_test_redis() {
    pmail_install_redis_tools || return 1
    if [ -n "${PMAIL_TEST_REDIS_URL:-}" ]; then
        return 0
    fi
    if pmail_redis_answers "redis://127.0.0.1:6379/0"; then
        export PMAIL_TEST_REDIS_URL="redis://127.0.0.1:6379/0"
        return 0
    fi
    PMAIL_TEST_REDIS_DIR="$(mktemp -d)"
    local port
    port="$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize yes --dir "$PMAIL_TEST_REDIS_DIR" \
        --pidfile "$PMAIL_TEST_REDIS_DIR/redis.pid" --logfile "$PMAIL_TEST_REDIS_DIR/redis.log"
    for _ in $(seq 50); do
        pmail_redis_answers "redis://127.0.0.1:$port/0" && break
        sleep 0.1
    done
    export PMAIL_TEST_REDIS_URL="redis://127.0.0.1:$port/0"
    export PMAIL_TEST_REDIS_DIR
}

pmail_stop_test_redis() {
    if [ -n "${PMAIL_TEST_REDIS_DIR:-}" ] && [ -f "$PMAIL_TEST_REDIS_DIR/redis.pid" ]; then
        kill "$(cat "$PMAIL_TEST_REDIS_DIR/redis.pid")" 2>/dev/null || true
        rm -rf "$PMAIL_TEST_REDIS_DIR"
    fi
}
