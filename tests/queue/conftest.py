"""The queue tests use `queue_env` (tests/conftest.py): a real Redis,
PMAIL_TEST_REDIS_URL, else the local one."""
