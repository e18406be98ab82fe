"""pmail: keep a cold-email platform's mail in PostgreSQL."""

__version__ = "0.1.0"
