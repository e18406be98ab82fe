"""Pure mail handling: reading sources, parsing, splitting and compressing messages."""
