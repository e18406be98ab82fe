"""Allow `python -m pmail_cli`."""

from pmail_cli.cli import app

app()
