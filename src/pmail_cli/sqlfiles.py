"""Locate and load the SQL files shipped with pmail."""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import LiteralString

from psycopg.sql import SQL, Composable, Composed

logger = logging.getLogger(__name__)


@functools.cache
def sql_root() -> Path:
    """Return the sql/ directory: the wheel's copy, else the checkout's."""
    packaged = Path(__file__).resolve().parent / "sql"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "sql"


@functools.cache
def load_sql(name: str) -> LiteralString:
    """Return the text of sql/queries/<name>.sql."""
    logger.debug("loading sql/queries/%s.sql", name)
    text = (sql_root() / "queries" / f"{name}.sql").read_text(encoding="utf-8")
    return text  # trusted file from the source tree (mypy reads LiteralString as str)


def compose_sql(name: str, /, **identifiers: Composable) -> Composed:
    """Return sql/queries/<name>.sql with its {placeholders} filled by identifiers.

    Only identifiers (and lists of them) are ever filled in: table and column names
    from the table spec, built with psycopg.sql.Identifier.
    """
    return SQL(load_sql(name)).format(**identifiers)
