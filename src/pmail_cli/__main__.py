"""The `pmail` command and `python -m pmail_cli`."""

from __future__ import annotations

import sys

from pmail_cli import interrupt


def main() -> None:
    """Run pmail; Ctrl-C at any moment ends with one error/hint pair and exit 130."""
    interrupt.install()
    try:
        from pmail_cli.cli import app

        app()
    except KeyboardInterrupt:
        interrupt.report_once()
        sys.exit(130)


if __name__ == "__main__":
    main()
