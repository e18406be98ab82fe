"""The `pmail` command and `python -m pmail_cli`."""

from __future__ import annotations

import sys

from pmail_cli import resident


def main() -> None:
    """Run pmail: through the resident server when one runs this code (see
    resident.py), else in this process."""
    try:
        status = resident.run(sys.argv)
    except KeyboardInterrupt:  # before the server took the command: nothing ran
        from pmail_cli import interrupt

        interrupt.report_once()
        sys.exit(130)
    except Exception:  # the server is an optimisation: never a reason to fail
        status = None
    if status is not None:
        sys.exit(status)
    run_here()


def run_here() -> None:
    """Run pmail in this process; Ctrl-C at any moment ends with one error/hint
    pair and exit 130."""
    from pmail_cli import interrupt

    interrupt.install()
    try:
        from pmail_cli.cli import app

        app()
    except KeyboardInterrupt:
        interrupt.report_once()
        sys.exit(130)


if __name__ == "__main__":
    main()
