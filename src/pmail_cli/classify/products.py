"""Recognisers for the notice layouts of particular mail products.

Many servers never write an RFC 3464 report: Lotus Domino, IMail, Exchange
2003, qmail, the Japanese carriers and filtering appliances state the failed
address and the reason in prose, each in a fixed layout of its own. A
`Product` names such a layout: cheap header tests that pick it (From,
Subject, X-Mailer, Received, Message-ID ...), body markers that confirm it
when the headers are generic, and the pattern of its recipient lines. Its
own reason phrases live in phrases.txt under "[reason @ name]" groups.

Only free-text notices go through these; a message with DSN fields is read
as RFC 3464 first. The generic reader in freetext.py is the fallback when no
product claims a notice or the claimed layout yields no recipient.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from pmail_cli.classify.freetext import MAX_RECIPIENTS, NoticeRecipient
from pmail_cli.classify.parts import indexed

_ADDR = r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"


@dataclass(frozen=True, slots=True)
class Product:
    """One product's notice layout.

    `headers`: (header name, pattern) pairs; any hit picks the product.
    `markers`: patterns of the notice body; any hit picks the product too.
    `recipient`: finds each failed address (group "rcpt"); the explanation
    is group "diag" when the pattern has one, else the text up to the next
    recipient. `diagnostic`, when set, is searched after the recipients for
    text that explains all of them ("because: ...").
    `filters`: a filtering appliance or list server: what it refuses after
    accepting the address is the content, so user-unknown wording means
    filtered unless the status says X.1.1.
    """

    name: str
    title: str
    headers: tuple[tuple[str, re.Pattern[str]], ...] = ()
    markers: tuple[re.Pattern[str], ...] = ()
    recipient: re.Pattern[str] | None = None
    diagnostic: re.Pattern[str] | None = None
    filters: bool = False


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE | re.MULTILINE)


PRODUCTS: tuple[Product, ...] = (
    Product(
        name="lotus-domino",
        title="Lotus Domino",
        headers=(("Subject", _re(r"^DELIVERY[ _]FAILURE:")),),
        markers=(_re(r"^\s*was not delivered to:\s*$"),),
        recipient=_re(
            rf"was not delivered to:\s*\n\s*(?P<rcpt>{_ADDR})\s*\n"
            r"(?:\s*\n)*\s*because:\s*\n(?:\s*\n)*(?P<diag>[^\n]+(?:\n[^\n]+)*)"
        ),
    ),
    Product(
        name="exchange-2003",
        title="Microsoft Exchange 2000/2003",
        headers=(
            ("X-MimeOLE", _re(r"Produced By Microsoft Exchange V6")),
            ("X-Mailer", _re(r"Internet Mail Service \(5\.")),
        ),
        markers=(_re(r"did not reach the following recipient\(s\):"),),
        recipient=_re(
            rf"^\s*(?P<rcpt>{_ADDR}) on [^\n]+\n(?P<diag>(?:[ \t]+[^\n]+\n?)+)"
        ),
    ),
    Product(
        name="imail",
        title="Ipswitch IMail Server",
        headers=(("X-Mailer", _re(r"<SMTP32 v\d")),),
        markers=(_re(r"^Body of message generated response:"),),
        recipient=_re(
            rf"^(?P<diag>[A-Za-z][^\n:]{{2,60}}):\s*<?(?P<rcpt>{_ADDR})>?\s*$"
        ),
    ),
    Product(
        name="qmail",
        title="qmail",
        markers=(_re(r"This is the qmail-send program|qmail-send program at"),),
        recipient=_re(rf"^<(?P<rcpt>{_ADDR})>:\s*\n(?P<diag>(?:[^\n]+\n?)+)"),
    ),
    Product(
        name="surfcontrol",
        title="SurfControl E-mail Filter",
        headers=(("X-Mailer", _re(r"SurfControl")),),
        markers=(_re(r"A transcript of the attempts to send the message follows"),),
        recipient=_re(
            rf"^\s*(?P<rcpt>{_ADDR}):\s*(?:\[[^\]\n]*\],?\s*)?(?P<diag>[^\n]*)$"
        ),
        filters=True,
    ),
)
BY_NAME: Mapping[str, Product] = {p.name: p for p in PRODUCTS}


def by_headers(heads: Mapping[str, str]) -> tuple[Product, str] | None:
    """Return the product whose header test the message passes, and the test."""
    for product in PRODUCTS:
        for name, pattern in product.headers:
            value = indexed(heads, name)
            if value and pattern.search(value):
                return product, f"header {name}: {value[:80]}"
    return None


def by_body(notice: str) -> tuple[Product, str] | None:
    """Return the product whose body marker the notice carries, and the marker."""
    head = notice[:8192]
    for product in PRODUCTS:
        for pattern in product.markers:
            m = pattern.search(head)
            if m is not None:
                return product, f'body says "{" ".join(m.group(0).split())}"'
    return None


def read_recipients(
    product: Product, notice: str, *, excluded: set[str]
) -> list[NoticeRecipient]:
    """Return the failed recipients a product's layout names, with explanations."""
    if product.recipient is None:
        return []
    matches = [
        m
        for m in product.recipient.finditer(notice)
        if m.group("rcpt").lower() not in excluded
    ][:MAX_RECIPIENTS]
    shared = ""
    if product.diagnostic is not None and matches:
        found = product.diagnostic.search(notice, matches[-1].end())
        shared = found.group("diag") if found else ""
    out: list[NoticeRecipient] = []
    seen: set[str] = set()
    for i, m in enumerate(matches):
        address = m.group("rcpt").lower()
        if address in seen:
            continue
        seen.add(address)
        if "diag" in m.groupdict() and m.group("diag"):
            explanation = f"{address}: {m.group('diag')}"
        else:
            end = matches[i + 1].start() if i + 1 < len(matches) else len(notice)
            explanation = notice[m.start() : end]
        if shared:
            explanation = f"{explanation}\n{shared}"
        out.append(NoticeRecipient(address, explanation[:2000]))
    return out
