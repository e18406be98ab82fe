"""IMAP connections: TLS by default, certificates verified, errors made plain."""

from __future__ import annotations

import imaplib
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from imap_tools import MailBox, MailboxLoginError, MailBoxStartTls, MailBoxUnencrypted

from pmail_cli import vocab
from pmail_cli.errors import ImapError, ImapLoginRefused, UsageError

SECURITY = vocab.IMAP_SECURITY
DEFAULT_PORTS = {"tls": 993, "starttls": 143, "none": 143}
PASSWORD_ENV = "PMAIL_IMAP_PASSWORD"
TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class AccountConfig:
    """One mailbox to import."""

    host: str
    user: str
    port: int | None = None
    security: str = "tls"
    insecure: bool = False
    password_env: str | None = None
    password_cmd: str | None = None
    tenant: str | None = None
    folders: tuple[str, ...] = ()
    all_folders: bool = False
    label: str = field(default="", compare=False)

    @property
    def real_port(self) -> int:
        """The port to connect to: given, or the security mode's default."""
        return self.port or DEFAULT_PORTS[self.security]

    @property
    def name(self) -> str:
        """user@host:port, for messages."""
        return self.label or f"{self.user}@{self.host}:{self.real_port}"


def validate(account: AccountConfig) -> None:
    """Refuse impossible settings before anything connects."""
    if account.security not in SECURITY:
        raise vocab.refused("--security", account.security, SECURITY)
    if not account.host or not account.user:
        raise UsageError("an IMAP account needs a host and a user")
    if account.port is not None and not 0 < account.port < 65536:
        raise UsageError(f"port {account.port} is out of range")


def _ssl_context(account: AccountConfig) -> ssl.SSLContext:
    if account.insecure:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context()  # imap-tools would not verify without one


def _open(account: AccountConfig) -> MailBox | MailBoxStartTls | MailBoxUnencrypted:
    host, port = account.host, account.real_port
    if account.security == "tls":
        return MailBox(host, port, timeout=TIMEOUT, ssl_context=_ssl_context(account))
    if account.security == "starttls":
        return MailBoxStartTls(
            host, port, timeout=TIMEOUT, ssl_context=_ssl_context(account)
        )
    return MailBoxUnencrypted(host, port, timeout=TIMEOUT)


def _connect_error(account: AccountConfig, exc: BaseException) -> ImapError:
    where = f"{account.host}:{account.real_port}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ImapError(
            f"TLS certificate of {where} not trusted: {exc.verify_message}",
            hint="fix the server certificate, or pass --insecure if you trust this server",
        )
    if isinstance(exc, ssl.SSLError):
        return ImapError(
            f"TLS handshake with {where} failed: {exc.reason or exc}",
            hint="is it a plain IMAP port? try --security starttls (port 143)",
        )
    if isinstance(exc, socket.gaierror):
        return ImapError(f"unknown IMAP host {account.host!r}", hint="check --host")
    if isinstance(exc, ConnectionRefusedError):
        return ImapError(
            f"cannot connect to IMAP server {where}: connection refused",
            hint="is the server running? check --host and --port",
        )
    if isinstance(exc, TimeoutError | socket.timeout):
        return ImapError(
            f"IMAP server {where} did not answer in {TIMEOUT:.0f} s",
            hint="check --port and --security (TLS to a plain port hangs)",
        )
    return ImapError(
        f"cannot talk to IMAP server {where}: {exc}", hint="check the server"
    )


Mailbox = MailBox | MailBoxStartTls | MailBoxUnencrypted


@contextmanager
def session(account: AccountConfig, password: str) -> Iterator[Mailbox]:
    """Log in (no folder selected) and log out at the end, whatever happens."""
    try:
        box = _open(account)
    except (OSError, ssl.SSLError, imaplib.IMAP4.error) as exc:
        raise _connect_error(account, exc) from None
    except ValueError as exc:  # imap-tools refuses STARTTLS on port 993
        raise UsageError(
            f"{account.name}: {exc}", hint="use --security tls for port 993"
        ) from None
    try:
        box.login(account.user, password, initial_folder=None)
    except MailboxLoginError as exc:
        box.client.shutdown()
        text = _server_text(exc)
        refused = ImapError if temporary_refusal(text) else ImapLoginRefused
        raise refused(
            f"login to {account.name} failed: {text}",
            hint=f"check the user and the password ({account.password_env or PASSWORD_ENV})",
        ) from None
    except (OSError, imaplib.IMAP4.error) as exc:
        box.client.shutdown()
        raise _connect_error(account, exc) from None
    try:
        yield box
    finally:
        try:
            box.logout()
        except (OSError, imaplib.IMAP4.error):
            box.client.shutdown()


# RFC 5530's response codes for a login the server turned down for now, not for
# its credentials: its authentication service is down, or the mailbox is in use.
_TEMPORARY = ("[UNAVAILABLE]", "[INUSE]")


def temporary_refusal(text: str) -> bool:
    """Whether a refused login's server text says to try again later."""
    return text.lstrip().upper().startswith(_TEMPORARY)


def _server_text(exc: MailboxLoginError) -> str:
    result = getattr(exc, "command_result", None)
    if isinstance(result, tuple) and len(result) == 2 and result[1]:
        first = result[1][0]
        return (
            first.decode("utf-8", "replace") if isinstance(first, bytes) else str(first)
        )
    return str(exc)
