"""One function per SQL file; the connection comes first, the rest is keyword-only."""
