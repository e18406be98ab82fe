"""Recognisers for the notice layouts of particular mail products.

Many servers never write an RFC 3464 report: Lotus Domino, IMail, Exchange
2003, qmail, the Japanese carriers and filtering appliances state the failed
address and the reason in prose, each in a fixed layout of its own. A
`Product` names such a layout: cheap header tests that pick it (From,
Subject, X-Mailer, Received, Message-ID ...), body markers that confirm it
when the headers are generic, and the pattern of its recipient lines. Its
own reason phrases live in phrases.txt under "[reason @ name]" groups.

A message with DSN fields is read as RFC 3464 (a recognised product's own
phrases still decide its reasons); the layouts read free-text notices. The
generic reader in freetext.py is the fallback when no product claims a notice
or the claimed layout yields no recipient.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace

from pmail_cli.classify.freetext import ADDRESS, MAX_RECIPIENTS, NoticeRecipient
from pmail_cli.classify.parts import decoded, indexed

_ADDR = ADDRESS  # bounded parts: layout patterns never backtrack over long runs


@dataclass(frozen=True, slots=True)
class Product:
    """One product's notice layout.

    `headers`: (header name, pattern) pairs that say the message is this
    product's failure notice; any hit picks the product, as long as every
    pair of `requires` hits too. `hints`: header tests that pick the layout
    but prove nothing (the header is on the product's ordinary mail too),
    so the body must still read as a notice. `markers`: patterns of the
    notice body that pick the product when no header test did.
    `recipients`: patterns that find each failed address (group "rcpt"),
    tried in order until one finds any; the explanation is group "diag"
    when the pattern has one, else the text up to the next recipient.
    `diagnostic`, when set, is searched in the whole notice for text that
    explains every recipient ("because: ...", "Reason: ...").
    """

    name: str
    title: str
    headers: tuple[tuple[str, re.Pattern[str]], ...] = ()
    hints: tuple[tuple[str, re.Pattern[str]], ...] = ()
    requires: tuple[tuple[str, re.Pattern[str]], ...] = ()
    markers: tuple[Layout, ...] = ()
    recipients: tuple[Layout, ...] = ()
    diagnostic: Layout | None = None


class Layout:
    """A body pattern compiled on first use: most runs meet few products, and
    compiling every layout up front cost ~15 ms of every pmail start."""

    __slots__ = ("_compiled", "source")

    def __init__(self, source: str) -> None:
        self.source = source.replace("ADDR", _ADDR)
        self._compiled: re.Pattern[str] | None = None

    @property
    def pattern(self) -> re.Pattern[str]:
        """The compiled pattern (case-insensitive, multi-line)."""
        if self._compiled is None:
            self._compiled = re.compile(self.source, re.IGNORECASE | re.MULTILINE)
        return self._compiled

    def search(self, text: str, pos: int = 0) -> re.Match[str] | None:
        """Search `text` from `pos`."""
        return self.pattern.search(text, pos)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        """Every match in `text`."""
        return self.pattern.finditer(text)


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE | re.MULTILINE)


_ANY = _re(r"\S")
# Lines after the recipient that belong to it: indented, or up to a blank line.
_INDENTED = r"(?P<diag>(?:[ \t]+[^\n]+\n?)+)"
_PARAGRAPH = r"(?P<diag>[^\n]+(?:\n[^\n]+)*)"
_QMAIL_RECIPIENT = Layout(
    r"^<(?P<rcpt>ADDR)>:[ \t]*(?P<diag>[^\n]*(?:\n(?!<[^\n>]*>:)[^\n]+)*)"
)

PRODUCTS: tuple[Product, ...] = (
    Product(
        name="lotus-domino",
        title="Lotus Domino",
        headers=(("Subject", _re(r"^DELIVERY[ _]FAILURE:")),),
        markers=(Layout(r"^[ \t]*was not delivered to:[ \t]*$"),),
        recipients=(
            Layout(
                r"was not delivered to:[ \t]*\n(?:[ \t]*\n)*[ \t]*<?(?P<rcpt>ADDR)>?"
                r"[ \t]*\n(?:[ \t]*\n)*[ \t]*because:[ \t]*\n(?:[ \t]*\n)*" + _PARAGRAPH
            ),
        ),
    ),
    Product(
        name="ibm-notes",
        title="Lotus/IBM Notes",
        headers=(("Subject", _re(r"^Undeliverable message")),),
        markers=(Layout(r"^-+ Failure Reasons"),),
        recipients=(Layout(r"^[ \t]*<?(?P<rcpt>ADDR)>?[ \t]*$"),),
        diagnostic=Layout(r"Failure Reasons[ -]*\n(?:[ \t]*\n)*" + _PARAGRAPH),
    ),
    Product(
        name="exchange-2003",
        title="Microsoft Exchange 2000/2003",
        headers=(("X-MS-Embedded-Report", _ANY),),
        hints=(
            (
                "X-Mailer",
                _re(r"^(?:Internet Mail Service \(|Microsoft Exchange Server)"),
            ),
            ("X-MimeOLE", _re(r"^Produced By Microsoft Exchange")),
            ("Received", _re(r" with Internet Mail Service \(")),
        ),
        markers=(
            Layout(r"did not reach the following recipient\(s\):"),
            # 2000/2003 (and 5.0) word it "could not be reached", with the
            # recipient and the time on the next line; hMailServer shares the
            # sentence but not the "<address> on <time>" line
            Layout(
                r"^The following recipient\(s\) could not be reached:[ \t]*\n"
                r"(?:[ \t]*\n)*[ \t]*<?ADDR>? on "
            ),
        ),
        recipients=(
            Layout(r"^[ \t]*(?:SMTP=)?<?(?P<rcpt>ADDR)>? on [^\n]+\n" + _INDENTED),
            # the knowledge-base articles print the explanation flush left
            Layout(r"^(?:SMTP=)?<?(?P<rcpt>ADDR)>? on [^\n]+\n" + _PARAGRAPH),
        ),
    ),
    Product(
        name="exchange-2007",
        title="Microsoft Exchange 2007 and later",
        markers=(
            Layout(
                r"^Delivery (?:has failed|is delayed) to these recipients or "
                r"(?:groups|distribution)"
            ),
        ),
        recipients=(Layout(r"^[ \t]*(?P<rcpt>ADDR)[ \t]*(?:\([^)\n]*\))?[ \t]*$"),),
        # "Remote Server returned '...'" in a failure; a delay notice names the
        # server: "Remote Server at mx.example.net (192.0.2.1) returned '...'"
        # and 2010 writes the code between "#" and "##"
        diagnostic=Layout(
            r"(?:Server (?:at [^'\n]{1,200} )?returned '|^#)(?P<diag>[245]\d\d[^'\n#]*)"
        ),
    ),
    Product(
        name="groupwise",
        title="Novell/Micro Focus GroupWise (GWIA)",
        headers=(("Subject", _re(r"^Message status - undeliverable$")),),
        markers=(
            Layout(r"^The message that you sent was undeliverable to the following:"),
        ),
        recipients=(
            Layout(r"^[ \t]*<?(?P<rcpt>ADDR)>?[ \t]+\((?P<diag>[^)\n]+)\)[ \t]*$"),
        ),
    ),
    Product(
        name="imail",
        title="Ipswitch IMail Server",
        headers=(("Subject", _re(r"^Undeliverable Mail\b(?!:)")),),
        hints=(("X-Mailer", _re(r"^<SMTP32 v\d")),),
        markers=(Layout(r"^Body of message generated response:"),),
        recipients=(
            Layout(r"^(?P<diag>[A-Za-z][^\n:]{2,60}):[ \t]*<?(?P<rcpt>ADDR)>?[ \t]*$"),
            Layout(r"(?P<diag>undeliverable to)[ \t]+<?(?P<rcpt>ADDR)>?"),
        ),
        diagnostic=Layout(r"generated response:[ \t]*\n(?:[ \t]*\n)*" + _PARAGRAPH),
    ),
    Product(
        name="qmail",
        title="qmail (and its clones)",
        hints=(
            # "invoked from network" is on every message a qmail server
            # receives: only a bounce it generated itself hints at its layout
            ("Received", _re(r"\(qmail \d+ invoked for bounce\)")),
        ),
        markers=(
            Layout(
                r"This is the qmail-send program|^Hi\. This is the qmail"
                r"|unable to deliver your message to the following addresses"
                r"|Su mensaje no pudo ser entregado"
                r"|This is the machine generated message from mail service"
                r"|This is the mail delivery agent at"
                r"|Unfortunately, your mail was not delivered to the following address"
                r"|^Your mail message to the following address"
                r"|^Your message to the following addresses"
            ),
        ),
        recipients=(_QMAIL_RECIPIENT,),
    ),
    Product(
        name="yahoo",
        title="Yahoo! Mail",
        hints=(("X-YMailISG", _ANY),),
        markers=(Layout(r"^Sorry, we were unable to deliver your message"),),
        recipients=(Layout(r"^<?(?P<rcpt>ADDR)>?:[ \t]*\n" + _PARAGRAPH),),
    ),
    Product(
        name="sendmail-v5",
        title="Sendmail V5 (session transcript)",
        markers=(Layout(r"(?<!-)-+ Transcript of session follows -+"),),
        recipients=(
            Layout(r"^[ \t]*\d{3}[ \t]+<?(?P<rcpt>ADDR)>?\.\.\.[ \t]*(?P<diag>[^\n]*)"),
        ),
        diagnostic=Layout(r"Transcript of session follows -+[ \t]*\n" + _PARAGRAPH),
    ),
    Product(
        name="surfcontrol",
        title="SurfControl E-mail Filter",
        hints=(("X-Mailer", _re(r"SurfControl")), ("X-SEF-Processed", _ANY)),
        markers=(Layout(r"A transcript of the attempts to send the message follows"),),
        recipients=(
            Layout(
                r"^[ \t]*(?P<rcpt>ADDR):[ \t]*\[[^\]\n]*\],?[ \t]*(?P<diag>[^\n]*)$"
            ),
            Layout(r"Addressed To:[ \t]*<?(?P<rcpt>ADDR)>?"),
        ),
    ),
    Product(
        name="kddi",
        title="au by KDDI",
        hints=(
            ("Reply-To", _re(r"no-reply@app\.auone-net\.jp")),
            ("From", _re(r"no-reply@[^>\s]*\.dion\.ne\.jp")),
        ),
        markers=(Layout(r"^Your mail (?:sent on|attempted to be delivered on):"),),
        recipients=(
            Layout(
                r"Could not be delivered to:[ \t]*<?(?P<rcpt>ADDR)>?[ \t]*\n"
                + _INDENTED
            ),
        ),
    ),
    Product(
        name="ezweb",
        title="EZweb (au)",
        headers=(("Subject", _re(r"^Mail System Error - Returned Mail$")),),
        hints=(("From", _re(r"Postmaster@(?:ezweb\.ne\.jp|au\.com)")),),
        recipients=(
            Layout(r"^[ \t]*<(?P<rcpt>ADDR)>:?[ \t]*(?P<diag>[^\n]*)"),
            Layout(r"Recipient:[ \t]*<?(?P<rcpt>ADDR)>?"),
        ),
        diagnostic=Layout(
            r"(?P<diag>The user\(s\) [^\n]+|Your message was not delivered within[^\n]+"
            r"|Each of the following recipients [^\n]+)"
        ),
    ),
    Product(
        name="biglobe",
        title="BIGLOBE",
        headers=(
            (
                "From",
                _re(r"postmaster@(?:[\w-]+\.)*(?:biglobe|inacatv|tmtv|ttv)\.ne\.jp"),
            ),
        ),
        requires=(("Subject", _re(r"^Returned mail:")),),
        # every address on a line of its own under the heading (one per line)
        recipients=(Layout(r"^[ \t]*<?(?P<rcpt>ADDR)>?[ \t]*$"),),
        diagnostic=Layout(
            r"(?<!-)-+ Non-delivered information -+[ \t]*\n(?:[ \t]*\n)*" + _PARAGRAPH
        ),
    ),
    Product(
        name="messaging-server",
        title="Sun/Oracle Messaging Server",
        headers=(("Subject", _re(r"^Delivery Notification: ")),),
        hints=(("Content-Type", _re(r"Boundary_\(ID_")),),
        markers=(
            Layout(r"This report relates to a message you sent with the following"),
        ),
        recipients=(
            Layout(
                r"^[ \t]*(?:Recipient|Original) address:[ \t]*<?(?P<rcpt>ADDR)>?[^\n]*"
                r"(?:\n(?P<diag>(?:[ \t]+[^\n]+\n?)+))?"
            ),
        ),
    ),
    Product(
        name="interscan-mss",
        title="Trend Micro InterScan MSS",
        headers=(
            (
                "Subject",
                _re(
                    "^(?:Mail could not be delivered|\u30e1\u30c3\u30bb\u30fc\u30b8\u3092"
                    "\u914d\u4fe1\u3067\u304d\u307e\u305b\u3093|\u30e1\u30fc\u30eb\u914d"
                    "\u4fe1\u306b\u5931\u6557\u3057\u307e\u3057\u305f)"
                ),
            ),
        ),
        hints=(
            ("From", _re(r"^\"?InterScan MSS")),
            ("Received", _re(r"\(InterScanMSS\) with")),
        ),
        recipients=(
            Layout(r"Received >>> (?P<diag>[^\n]*<(?P<rcpt>ADDR)>[^\n]*)"),
            Layout(r"<<< RCPT TO:[ \t]*<?(?P<rcpt>ADDR)>?"),
        ),
        diagnostic=Layout(r"Received >>> (?P<diag>[^\n]+)"),
    ),
    Product(
        name="mcafee",
        title="McAfee Email Appliance",
        headers=(("Subject", _re(r"^Delivery Status$")),),
        requires=(("X-NAI-Header", _re(r"Modified by McAfee")),),
        recipients=(Layout(r"^[ \t]*<?(?P<rcpt>ADDR)>?[ \t]+\((?P<diag>[^)\n]+)\)"),),
    ),
    Product(
        name="mxlogic",
        title="MX Logic",
        # X-MXL-Hash and X-MXL-NoteHash are stamped on all mail MX Logic filters
        hints=(("X-MX-Bounce", _ANY),),
        recipients=(
            Layout(
                r"^[ \t]+<?(?P<rcpt>ADDR)>?:?[ \t]*(?P<diag>[^\n]*(?:\n[ \t]{3,}[^\n]+)*)"
            ),
        ),
    ),
    Product(
        name="mailfoundry",
        title="MailFoundry",
        headers=(("Subject", _re(r"^Message delivery has failed$")),),
        markers=(Layout(r"^Unable to deliver message to: "),),
        recipients=(Layout(r"^Unable to deliver message to:[ \t]*<?(?P<rcpt>ADDR)>?"),),
        diagnostic=Layout(
            r"Delivery failed for the following reason:[ \t]*\n(?:[ \t]*\n)*"
            + _PARAGRAPH
        ),
    ),
    Product(
        name="mailmarshal",
        title="MailMarshal SMTP",
        headers=(("Subject", _re(r"^Undeliverable Mail: \"")),),
        markers=(Layout(r"^Could not be delivered because of[ \t]*$"),),
        # the affected recipients, indented, one per line
        recipients=(Layout(r"^[ \t]{2,}<?(?P<rcpt>ADDR)>?[ \t]*$"),),
        diagnostic=Layout(
            r"Could not be delivered because of[ \t]*\n(?:[ \t]*\n)*" + _PARAGRAPH
        ),
    ),
    Product(
        name="activehunter",
        title="Active!hunter",
        hints=(("X-AHMailID", _ANY),),
        recipients=(Layout(r"^>>>[^\n<]*<(?P<rcpt>ADDR)>[ \t]*$"),),
        diagnostic=Layout(
            r"Transcript of session follows -+[ \t]*\n(?:[ \t]*\n)*(?P<diag>[^\n]+)"
        ),
    ),
    Product(
        name="m-filter",
        title="m-FILTER",
        headers=(("X-Mailer", _re(r"^m-FILTER")),),
        requires=(("Subject", _re(r"^failure notice$")),),
        recipients=(Layout(r"^[ \t]*<?(?P<rcpt>ADDR)>?[ \t]*$"),),
        diagnostic=Layout(r"^-+server message[ \t]*\n(?P<diag>[^\n]+)"),
    ),
    Product(
        name="apache-james",
        title="Apache James",
        headers=(("Subject", _re(r"^\[BOUNCE\]$")),),
        hints=(
            ("Message-ID", _re(r"\.JavaMail\.")),
            ("Received", _re(r"JAMES SMTP Server")),
        ),
        markers=(Layout(r"^Error message below:"),),
        recipients=(Layout(r"^[ \t]*RCPT TO:[ \t]*<?(?P<rcpt>ADDR)>?"),),
        diagnostic=Layout(r"Error message below:[ \t]*\n" + _PARAGRAPH),
    ),
    Product(
        name="verizon",
        title="Verizon Wireless",
        headers=(("From", _re(r"post_master@vtext\.com|sysadmin@[^>\s]*vzwpix\.com")),),
        hints=(("Received", _re(r"\.vtext\.com \(")),),
        recipients=(
            Layout(r"^[ \t]*RCPT TO:[ \t]*<?(?P<rcpt>ADDR)>?"),
            Layout(r"^[ \t]*To:(?:[^\n<@]*<)?[ \t]*(?P<rcpt>ADDR)>?[ \t]*$"),
        ),
        diagnostic=Layout(r"^(?P<diag>Error: [^\n]+|\d{3} - [^\n]+)"),
    ),
    Product(
        name="fml",
        title="FML mailing list server",
        headers=(("From", _re(r"-admin@")),),
        requires=(("X-MLServer", _ANY), ("Message-ID", _re(r"\.FML"))),
        recipients=(Layout(r"^(?P<diag>[^\n]*<(?P<rcpt>ADDR)>[^\n]*)"),),
    ),
    Product(
        name="x1",
        title='an unnamed MTA ("The following addresses had delivery errors")',
        markers=(Layout(r"(?<!-)-+ ?The following addresses had delivery errors ?-+"),),
        recipients=(Layout(r"^[ \t]*<?(?P<rcpt>ADDR)>?[ \t]+\[(?P<diag>[^\]\n]+)\]"),),
    ),
    Product(
        name="x3",
        title='an unnamed MTA ("automatically generated Delivery Status Notification")',
        markers=(
            Layout(
                r"^[ \t]*This is an automatically generated Delivery Status Notification"
            ),
        ),
        recipients=(Layout(r"^[ \t]*\*[ \t]*<?(?P<rcpt>ADDR)>?"),),
        diagnostic=Layout(
            r"^[ \t]*(?P<diag>(?:SMTP:[A-Z]+ host|Routing:|Diagnostic-Code:)[^\n]+)"
        ),
    ),
    Product(
        name="x6",
        title='an unnamed MTA ("There was an error sending your mail")',
        headers=(("Subject", _re(r"^There was an error sending your mail")),),
        markers=(Layout(r"^We had trouble delivering your message"),),
        recipients=(
            Layout(r"rejected recipient <?(?P<rcpt>ADDR)>?(?P<diag>[^\n]*)"),
            Layout(r"returned permanent errors:[ \t]*<?(?P<rcpt>ADDR)>?"),
        ),
    ),
)
BY_NAME: Mapping[str, Product] = {p.name: p for p in PRODUCTS}


_Tests = tuple[tuple[str, str, re.Pattern[str]], ...]  # (name, lower-case, pattern)


def _lowered(tests: tuple[tuple[str, re.Pattern[str]], ...]) -> _Tests:
    return tuple((name, name.lower(), pattern) for name, pattern in tests)


# Each product's header tests with lower-case names, computed once.
_HEADER_TESTS: tuple[tuple[Product, _Tests, _Tests, _Tests], ...] = tuple(
    (p, _lowered(p.headers), _lowered(p.hints), _lowered(p.requires)) for p in PRODUCTS
)
# Every header any product tests, by lower-case name.
_TESTED = frozenset(
    low for _, *groups in _HEADER_TESTS for tests in groups for _, low, _ in tests
)


def _passes(values: Mapping[str, str], tests: _Tests) -> str | None:
    """Return the first header test that passes, described, or None."""
    for name, low, pattern in tests:
        value = values.get(low)
        m = pattern.search(value) if value else None
        if m is not None:
            shown = "" if pattern is _ANY else f": {m.group(0)}"
            return f"header {name}{shown}"
    return None


@dataclass(frozen=True, slots=True)
class Claim:
    """A product a message's headers point to: the test that did, whether that
    test proves a notice (else it is a hint), and the body marker seen, if any."""

    product: Product
    test: str
    decisive: bool
    marker: str | None = None

    @property
    def own_header(self) -> bool:
        """True when a header of the product's own proves the notice (a subject
        line does not: several products share their subjects)."""
        return self.decisive and not self.test.startswith("header Subject")

    def describe(self) -> str:
        """The layout and the evidence, in words."""
        seen = f"; {self.marker}" if self.marker else ""
        return f"{self.product.title}'s layout ({self.test}{seen})"


def by_headers(heads: Mapping[str, str], received: str) -> list[Claim]:
    """Return every product the message's headers point to, in table order.

    `heads` is a parts.header_index() (lower-case names); `received` is every
    Received header of the message, one per line.
    """
    values = {name: decoded(indexed(heads, name)) for name in _TESTED & heads.keys()}
    values["received"] = received
    claims: list[Claim] = []
    for product, headers, hints, requires in _HEADER_TESTS:
        hit = _passes(values, headers) if headers else None
        if hit is not None and all(_passes(values, (t,)) for t in requires):
            claims.append(Claim(product, hit, decisive=True))
            continue
        hint = _passes(values, hints) if hints else None
        if hint is not None:
            claims.append(Claim(product, hint, decisive=False))
    return claims


def choose(claims: list[Claim], body: str) -> Claim | None:
    """Return the claim to believe when several products' headers match.

    A product whose own body marker the notice carries comes first; then a
    product proven by a header of its own (From, X-Mailer, a vendor header);
    then one proven by a subject line (subjects are shared by several
    products); a mere hint last.
    """
    if not claims:
        return None
    marked = [
        replace(c, marker=mark)
        for c in claims
        if body and (mark := body_marker(c.product, body)) is not None
    ]
    if marked:
        return marked[0]
    own = [c for c in claims if c.own_header]
    decisive = [c for c in claims if c.decisive]
    return (own or decisive or claims)[0]


def body_marker(product: Product, notice: str) -> str | None:
    """Return the product's body marker that the notice carries, described."""
    head = notice[:8192]
    for pattern in product.markers:
        m = pattern.search(head)
        if m is not None:
            return f'body says "{" ".join(m.group(0).split())}"'
    return None


def by_body(notice: str) -> tuple[Product, str] | None:
    """Return the product whose body marker the notice carries, and the marker."""
    for product in PRODUCTS:
        mark = body_marker(product, notice)
        if mark is not None:
            return product, mark
    return None


def read_recipients(
    product: Product, notice: str, *, excluded: set[str]
) -> list[NoticeRecipient]:
    """Return the failed recipients a product's layout names, with explanations."""
    matches: list[re.Match[str]] = []
    for pattern in product.recipients:
        matches = [
            m
            for m in pattern.finditer(notice)
            if m.group("rcpt").lower() not in excluded
        ][:MAX_RECIPIENTS]
        if matches:
            break
    shared = ""
    if product.diagnostic is not None and matches:
        found = product.diagnostic.search(notice)
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
            explanation = notice[m.start() : min(end, m.start() + 2000)]
        if shared and shared not in explanation:
            explanation = f"{explanation}\n{shared}"
        out.append(NoticeRecipient(address, explanation[:2000]))
    return out
