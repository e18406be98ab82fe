"""Connections to PostgreSQL and the translation of psycopg errors into pmail errors."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import errors as pgerrors
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pmail_cli.config import EMBEDDED_SOURCE, Settings, redact_dsn
from pmail_cli.errors import DatabaseUnavailable, PmailError, SchemaMissing
from pmail_cli.sqlfiles import compose_sql, load_sql

logger = logging.getLogger(__name__)

Connection = psycopg.Connection[tuple[object, ...]]

# pmail's own SQL errors (a legal hold refusing a delete, ...): shown as they are.
PMAIL_SQLSTATE_CLASS = "P0H"


def resolve_dsn(settings: Settings) -> str:
    """Return the DSN to use, starting the embedded server when none is configured."""
    if settings.dsn is not None:
        return settings.dsn
    assert settings.data_dir is not None
    from pmail_cli.embedded import embedded_dsn  # only without a DSN

    return embedded_dsn(settings.data_dir)


_MISSING_DATABASE = re.compile(r'database "([^"]+)" does not exist')
MAINTENANCE_DATABASES = ("postgres", "template1")


def ensure_database(server_dsn: str, name: str) -> bool:
    """Create database `name` on the server `server_dsn` reaches (through any
    database it names) unless it exists; return whether it was created."""
    with psycopg.connect(server_dsn, autocommit=True, connect_timeout=10) as conn:
        if conn.execute(
            load_sql("databases/database_exists"), {"name": name}
        ).fetchone():
            return False
        conn.execute(
            compose_sql("databases/create_database", database=sql.Identifier(name))
        )
        return True


def create_database(settings: Settings) -> tuple[str, bool]:
    """Create the database the DSN names, through the server's maintenance database
    (`postgres`, else `template1`); return its name and whether it was created."""
    dsn = resolve_dsn(settings)
    try:
        name = conninfo_to_dict(dsn).get("dbname")
    except psycopg.ProgrammingError as exc:
        raise invalid_dsn(exc, dsn, settings.dsn_source) from None
    if not name:  # a service file, PGDATABASE or the user's name may name it
        name = _implied_database(settings, dsn)
    last: psycopg.OperationalError | None = None
    for maintenance in MAINTENANCE_DATABASES:
        try:
            return str(name), ensure_database(
                make_conninfo(dsn, dbname=maintenance), str(name)
            )
        except psycopg.OperationalError as exc:
            last = exc
            if not _MISSING_DATABASE.search(str(exc)):
                break
        except pgerrors.InsufficientPrivilege:
            raise DatabaseUnavailable(
                f"the user in the DSN may not create database {name!r}",
                hint="ask for CREATEDB, or have an administrator run `createdb "
                f"{name}`, then `pmail init-db`",
            ) from None
    raise connect_error(last, dsn, settings.dsn_source, doing=f" to create {name!r}")


def _implied_database(settings: Settings, dsn: str) -> str:
    """The database a DSN without dbname= reaches: what libpq takes from a service
    file (service=), PGDATABASE or the user's name. Only a connection tells: the
    database it opens, or the one the server says it does not have."""
    try:
        with psycopg.connect(dsn, connect_timeout=10) as conn:
            return str(conn.info.dbname)
    except psycopg.OperationalError as exc:
        if missing := _MISSING_DATABASE.search(str(exc)):
            return missing.group(1)
        raise connect_error(exc, dsn, settings.dsn_source) from None


_MISSING_ROLE = re.compile(r'role "([^"]+)" does not exist')
_UNKNOWN_HOST = (  # libpq's words, then psycopg's (it resolves names itself)
    "could not translate host name",
    "failed to resolve host",
    "name or service not known",
    "temporary failure in name resolution",
)
_SERVER_DOWN = (
    "connection refused",
    "could not connect",
    "no such file or directory",  # a Unix socket that is not there
    "timeout expired",
    "network is unreachable",
    "no route to host",
    "server closed the connection",
)


def connect_hint(reason: str) -> str:
    """What to do about a failed connection, by what libpq said went wrong: a
    missing database, an unknown role, a wrong or missing password, a server that
    refuses this client, or no server there at all."""
    text = reason.lower()
    if missing := _MISSING_DATABASE.search(reason):
        name = missing.group(1)
        return (
            f"the server is up but has no database {name!r}: `pmail init-db "
            f"--create` creates it and its schema (or `createdb {name}`, then "
            "`pmail init-db`)"
        )
    if role := _MISSING_ROLE.search(reason):
        return (
            f"the server is up but has no role {role.group(1)!r}: check user= in "
            f"the DSN, or have an administrator run CREATE ROLE {role.group(1)} "
            "LOGIN"
        )
    if "password authentication failed" in text:
        return (
            "the server is up and the role exists, but the password is wrong: "
            "check password= in the DSN, PGPASSWORD or ~/.pgpass"
        )
    if "no password supplied" in text or "password is required" in text:
        return (
            "the server wants a password for this role: give password= in the DSN, "
            "PGPASSWORD or ~/.pgpass"
        )
    if "no pg_hba.conf entry" in text:
        return (
            "the server is up but its pg_hba.conf lets this user, database or host "
            "not in: ask its administrator, or connect as another user"
        )
    if "permission denied for database" in text:
        return "the role may not connect to this database: GRANT CONNECT on it"
    if any(unknown in text for unknown in _UNKNOWN_HOST):
        return (
            "no host of that name could be found: check the host in the DSN "
            "(--dsn, PMAIL_DSN or the config file) and this machine's DNS"
        )
    if any(down in text for down in _SERVER_DOWN):
        return (
            "is the server running? Nothing answers on that host and port; set "
            "--dsn or PMAIL_DSN."
        )
    return "check the DSN (--dsn, PMAIL_DSN or the config file) and the server's log"


def _reason(message: str) -> str:
    """The useful part of libpq's connection error (after 'failed:'), on one line."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    for line in lines:
        if "failed:" in line:
            return line.rsplit("failed:", 1)[1].strip()
    # psycopg's words before libpq's when the DSN's options were refused
    return lines[-1].removeprefix("connection is bad: ") if lines else "unknown error"


def connect_error(
    exc: Exception | None, dsn: str, source: str, *, doing: str = ""
) -> DatabaseUnavailable:
    """The error for a connection libpq could not open (`doing`: what it was for):
    a DSN whose service or option values libpq refused before trying any server
    says which, and what to fix where; anything else names the server it tried."""
    reason = _scrubbed(_reason(str(exc)), dsn)
    refused = _refused_setting(reason, dsn, source)
    if refused is not None:
        return refused
    where = _where(dsn)
    return DatabaseUnavailable(
        f"cannot connect to PostgreSQL{f' ({where})' if where else ''}{doing}: "
        f"{reason}",
        hint=connect_hint(reason),
    )


_NO_SERVICE = re.compile(r'definition of service "([^"]*)" not found')
_NO_SERVICE_FILE = re.compile(r'service file "([^"]*)" not found')
_BAD_VALUE = (  # libpq's complaints about one option's value, naming the option
    re.compile(r'invalid integer value "[^"]*" for connection option "(\w+)"'),
    re.compile(r'invalid "?(\w+)"? value: '),
    re.compile(r"invalid (port) number"),
    re.compile(r"could not match \d+ (port) numbers to \d+ hosts"),
)


def _refused_setting(reason: str, dsn: str, source: str) -> DatabaseUnavailable | None:
    """A connection libpq refused before trying a server, for a setting: a service
    no service file defines, a service file that is not there, a value an option
    cannot take. None for any other failure."""
    try:
        given = {k for k, v in conninfo_to_dict(dsn).items() if v is not None}
    except psycopg.ProgrammingError:
        given = set()
    if missing := _NO_SERVICE.search(reason):
        name = missing.group(1)
        named, fix = (
            (f"the DSN ({source})", "service= in the DSN")
            if "service" in given
            else ("PGSERVICE in the environment", "PGSERVICE")
        )
        return DatabaseUnavailable(
            f"no connection service {name!r}: {named} names it, but no service file "
            "defines it",
            hint=f"add a [{name}] section to ~/.pg_service.conf (or to the file "
            f"PGSERVICEFILE names, or pg_service.conf in PGSYSCONFDIR), or fix {fix}",
        )
    if missing := _NO_SERVICE_FILE.search(reason):
        return DatabaseUnavailable(
            f"the connection service file {missing.group(1)} does not exist",
            hint="point PGSERVICEFILE at the file that defines the DSN's service, "
            "or unset it (libpq then reads ~/.pg_service.conf)",
        )
    if "service file" in reason:  # a syntax error, a line too long, nesting
        return DatabaseUnavailable(
            f"cannot read the connection service file: {reason}",
            hint="fix the line libpq names: a service is a [name] line, then "
            "key=value lines",
        )
    option = next((m.group(1) for p in _BAD_VALUE if (m := p.search(reason))), None)
    if option is None:
        return None
    takes = {
        "port": "a port is a number from 1 to 65535 (one per host)",
        "connect_timeout": "it takes whole seconds",
        "sslmode": "it takes disable, allow, prefer, require, verify-ca or verify-full",
    }.get(
        option,
        "it takes a whole number"
        if "integer" in reason
        else "libpq's documentation lists the values it takes (Parameter Key Words)",
    )
    if option in given:
        return DatabaseUnavailable(
            f"invalid DSN ({source}): {reason}",
            hint=f"fix {option}= in the DSN; {takes}",
        )
    places = [f"{name} in the environment" for name in [_envvar(option)] if name]
    if "service" in given or os.environ.get("PGSERVICE"):
        places.insert(0, "the connection service file")  # it wins over the environment
    where = " or ".join(places) or "libpq's defaults"
    return DatabaseUnavailable(
        f"invalid {option} from {where} (the DSN does not set it): {reason}",
        hint=f"fix it there, or set {option}= in the DSN; {takes}",
    )


def _envvar(option: str) -> str | None:
    """The environment variable libpq reads `option` from, if it has one and it is set."""
    from psycopg import pq

    for default in pq.Conninfo.get_defaults():
        if default.keyword.decode() == option and default.envvar:
            name = default.envvar.decode()
            return name if os.environ.get(name) else None
    return None


def invalid_dsn(exc: Exception, dsn: str, source: str) -> DatabaseUnavailable:
    """The error for a DSN libpq cannot read: its complaint on one line, without the
    DSN's password (libpq quotes a bad URI whole, or the word it stumbled on, which
    may be a piece of a password with a space in it)."""
    return DatabaseUnavailable(
        f"invalid DSN ({source}): {_scrubbed(_reason(str(exc)), dsn)}",
        hint="use a libpq DSN such as 'host=localhost dbname=pmail' or a URI",
    )


def _scrubbed(text: str, dsn: str) -> str:
    """libpq's words without the DSN's password: `***` where it, or a quoted piece
    of it, stands."""
    for secret in _passwords(dsn):
        text = text.replace(secret, "***")
        pieces = {p for p in re.findall(r'"([^"]*)"', text) if len(p) > 1}
        for piece in pieces:
            if piece in secret:
                text = text.replace(f'"{piece}"', '"***"')
    return text


_URI_PASSWORD = re.compile(r"^\s*postgres(?:ql)?://[^:@/]*:(.*)@", re.I)
_QUERY_PASSWORD = re.compile(r"[?&]password=([^&#]*)", re.I)
# key=value: the value runs to the next `word=` (an unquoted password with a space
# in it is what makes such a DSN unreadable in the first place).
_KEYWORD_PASSWORD = re.compile(r"(?:^|\s)password\s*=\s*(.*?)(?=\s+\w+\s*=|\s*$)")


def _passwords(dsn: str) -> list[str]:
    """What may be a password in a DSN that could not be parsed, or the one libpq
    takes from PGPASSWORD, longest first."""
    found = [m.group(1) for m in _URI_PASSWORD.finditer(dsn)]
    found += _QUERY_PASSWORD.findall(dsn) + _KEYWORD_PASSWORD.findall(dsn)
    found += [os.environ.get("PGPASSWORD", "")]
    found += [f.strip("'") for f in found]
    return sorted({f for f in found if f}, key=len, reverse=True)


def _where(dsn: str) -> str:
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "<unparsable DSN>"
    keys = ("service", "host", "port", "dbname")
    return " ".join(f"{k}={params[k]}" for k in keys if params.get(k))


@contextmanager
def connect(settings: Settings, *, migrate: bool = True) -> Iterator[Connection]:
    """Open a connection; the embedded database is brought up to date on the way."""
    dsn = resolve_dsn(settings)
    try:
        conn = psycopg.connect(dsn, autocommit=False, connect_timeout=10)
    except psycopg.ProgrammingError as exc:
        raise invalid_dsn(exc, dsn, settings.dsn_source) from None
    except psycopg.OperationalError as exc:
        raise connect_error(exc, dsn, settings.dsn_source) from None
    logger.debug("connected to %s", redact_dsn(dsn))
    try:
        if migrate and settings.dsn_source == EMBEDDED_SOURCE:
            # the embedded server upgrades itself as `pmail init-db` would, the
            # Python backfills included (imported here: they sit above this module;
            # a server named by a DSN needs neither)
            from pmail_cli import migrations
            from pmail_cli.services.schema import BACKFILLS

            migrations.apply_pending(conn, handlers=BACKFILLS)
            conn.autocommit = False
        with translated_errors():
            yield conn
    finally:
        conn.close()


@contextmanager
def translated_errors() -> Iterator[None]:
    """Turn the psycopg errors a user can act on into pmail errors."""
    try:
        yield
    except (
        pgerrors.UndefinedTable,
        pgerrors.UndefinedFunction,
        pgerrors.UndefinedColumn,  # a newer pmail on a database not yet upgraded
    ) as exc:
        raise SchemaMissing(
            "the database has no pmail schema (or an older one): "
            f"{exc.diag.message_primary}",
            hint="run `pmail init-db`",
        ) from None
    except pgerrors.InsufficientPrivilege as exc:
        raise PmailError(
            f"permission denied: {exc.diag.message_primary}",
            hint=exc.diag.message_hint
            or "connect as a role that owns the pmail tables",
        ) from None
    except pgerrors.ProgramLimitExceeded as exc:
        # an OperationalError to psycopg, but no lost connection: a value too large
        # for PostgreSQL (an index entry over 2,704 bytes, ...); rerunning meets it again
        raise PmailError(
            f"PostgreSQL refused a value: {exc.diag.message_primary}",
            hint="rerunning will not get past it: run again with --debug and report "
            "the value it names",
        ) from None
    except (
        pgerrors.DeadlockDetected,
        pgerrors.SerializationFailure,
        pgerrors.LockNotAvailable,
    ) as exc:
        # OperationalErrors to psycopg, but the connection is fine: another session
        # held or changed the same rows (the transaction was rolled back)
        raise PmailError(
            f"PostgreSQL stopped the command: {exc.diag.message_primary}",
            hint="another session changed or locked the same rows at the same time; "
            "committed batches are kept, run the command again",
        ) from None
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(
            f"lost the connection to PostgreSQL: {str(exc).strip()}",
            hint="check the server; committed batches are kept, rerun to finish",
        ) from None
    except (pgerrors.UniqueViolation, pgerrors.ForeignKeyViolation) as exc:
        # a row another session stored, or removed, between pmail's look and its
        # write (a tenant login can time one: docs/security.md); the transaction was
        # rolled back
        raise PmailError(
            f"PostgreSQL refused a change: {exc.diag.message_primary}",
            hint="another session changed the same rows at the same time; committed "
            "batches are kept, run the command again (if it repeats, run it with "
            "--debug and report what it says)",
        ) from None
    except psycopg.Error as exc:
        if not (exc.sqlstate or "").startswith(PMAIL_SQLSTATE_CLASS):
            raise
        raise PmailError(
            str(exc.diag.message_primary), hint=exc.diag.message_hint
        ) from None


def as_bytes(value: object) -> bytes:
    """Return a bytea column's value as bytes."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, memoryview | bytearray):
        return bytes(value)
    raise TypeError(f"expected bytea, got {type(value).__name__}")
