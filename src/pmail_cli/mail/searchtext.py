"""The words of a message that its text body does not hold, for its search document
(docs/search.md, "What is indexed"): pure, no database.

Two texts, each None when there is nothing to add (most mail), each at most
MAX_CHARS characters (the input is whatever a sender wrote):

* `extra`, searched as the body is: the words of the HTML alternative that the text
  alternative lacks (only those: two alternatives saying the same add nothing), the
  parts of each address inside the body text (`bob.stone@globex.com` is one word to
  PostgreSQL's parser; `globex` is found through its parts), and what a calendar part
  says (SUMMARY, DESCRIPTION, LOCATION, attendees' and organizers' names and
  addresses).
* `enclosed`, searched at the lowest weight: the Subject, From/To names and addresses
  and text of an enclosed message (message/rfc822: the mail a bounce returns, a
  forwarded message), and the Subject, From and To of returned headers
  (text/rfc822-headers).
"""

from __future__ import annotations

import email.parser
import email.policy
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html import unescape

from pmail_cli.mail.parse import (
    Message,
    ParsedMessage,
    clean_text,
    decode_words,
    getaddresses,
    html_text,
)

MAX_CHARS = 8_000  # of each text
MAX_PARTS = 4  # enclosed messages, returned headers, calendar parts read
MAX_PART_BYTES = 256 * 1024  # of a part decoded for them
MAX_PART_ENCODED = (
    1 << 20
)  # a part longer than this is not read (prepare.LARGE_PAYLOAD)
MAX_SCAN_CHARS = 100_000  # of a body read here (what pmail_search_text reads of it)
MAX_HTML_CHARS = 400_000  # of an HTML alternative read for its words
_MAX_DEPTH = 32

_WORD = re.compile(r"[^\W_]+")
_ADDRESS = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_ADDRESS_SPLIT = re.compile(r"[@._%+-]+")
_ENCLOSED = ("message/rfc822", "message/global")
_HEADERS = ("text/rfc822-headers", "message/rfc822-headers", "message/global-headers")
_CALENDAR = ("text/calendar", "application/ics")


@dataclass(frozen=True, slots=True)
class SearchText:
    """email_content.search_extra and search_enclosed of one message."""

    extra: str | None = None
    enclosed: str | None = None


def search_text(parsed: ParsedMessage, body: str | None) -> SearchText:
    """The extra and enclosed search text of a parsed message whose document body
    (content_text) is `body`. Broken parts give what was read before them: the
    message itself is stored and searched as before whatever these parts hold."""
    if parsed.msg is None:
        return SearchText()
    extra = _Bounded()
    enclosed = _Bounded()
    try:
        if parsed.text is not None and parsed.html is not None:
            extra.add(_missing_words(parsed.html, parsed.text))
        extra.add(address_parts(body or ""))
        for ctype, part in _parts(parsed.msg):
            if ctype in _CALENDAR:
                extra.add(calendar_words(_decoded_text(part)))
            elif ctype in _HEADERS:
                enclosed.add(_header_words(_returned_headers(_decoded_text(part))))
            else:
                enclosed.add(_enclosed_words(part))
    except (LookupError, ValueError, TypeError, AttributeError, RecursionError):
        pass  # the same answer on every path: ingest and the backfill call this
    return SearchText(extra.text(), enclosed.text())


class _Bounded:
    """Text gathered up to MAX_CHARS characters, cut at a word."""

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.size = 0

    def add(self, words: Iterable[str]) -> None:
        for word in words:
            word = " ".join(word.split())
            if not word:
                continue
            if self.size + len(word) + 1 > MAX_CHARS:
                return
            self.pieces.append(word)
            self.size += len(word) + 1

    def text(self) -> str | None:
        return clean_text(" ".join(self.pieces)) if self.pieces else None


def _missing_words(html: str, text: str) -> list[str]:
    """The words of the HTML part's visible text that the text part does not have,
    each once, in order (compared case-folded)."""
    known = {w.casefold() for w in _WORD.findall(text[:MAX_SCAN_CHARS])}
    missing: dict[str, str] = {}
    for word in _WORD.findall(visible_text(html)):
        folded = word.casefold()
        if folded not in known and folded not in missing:
            missing[folded] = word
    return list(missing.values())


_HIDDEN = re.compile(r"<(script|style|head)\b|<!--")
_TAG = re.compile(r"<[^<>]*>")


def visible_text(html: str) -> str:
    """The words an HTML text shows, roughly: scripts, styles, the head and comments
    dropped, tags made spaces, entities decoded (parse.html_text's answer for search,
    in linear time and about a tenth of its: no HTML parser)."""
    html = html[:MAX_HTML_CHARS]
    lower = html.lower()
    shown: list[str] = []
    at = 0
    while True:
        hidden = _HIDDEN.search(lower, at)
        if hidden is None:
            shown.append(html[at:])
            break
        shown.append(html[at : hidden.start()])
        close = "-->" if hidden.group(1) is None else f"</{hidden.group(1)}"
        end = lower.find(close, hidden.end())
        if end == -1:
            break
        at = end + len(close)
        if hidden.group(1) is not None:  # past the closing tag's `>`
            at = lower.find(">", at) + 1 or len(html)
    return unescape(_TAG.sub(" ", " ".join(shown)))


def address_parts(text: str) -> list[str]:
    """The parts of each address in a text (split at @ . - _ + %), each once."""
    seen: dict[str, None] = {}
    for address in _ADDRESS.findall(text[:MAX_SCAN_CHARS]):
        for part in _ADDRESS_SPLIT.split(address.lower()):
            if part:
                seen.setdefault(part, None)
    return list(seen)


def _parts(msg: Message) -> Iterator[tuple[str, Message]]:
    """(type, part) of the enclosed messages, returned headers and calendar parts, at
    most MAX_PARTS; an enclosed message is not looked into (its own text is read by
    _enclosed_words)."""
    found = 0
    stack: list[tuple[int, Message]] = [(0, msg)]
    while stack and found < MAX_PARTS:
        depth, part = stack.pop()
        ctype = part.get_content_type()
        if depth and ctype in _ENCLOSED + _HEADERS + _CALENDAR:
            found += 1
            yield ctype, part
            continue
        payload = vars(part).get("_payload")
        if isinstance(payload, list) and depth < _MAX_DEPTH:
            children = [p for p in payload if isinstance(p, Message)]
            stack.extend((depth + 1, child) for child in reversed(children))


def _decoded_text(part: Message) -> str:
    """A leaf part's text, decoded (its first MAX_PART_BYTES); nothing of a part whose
    encoded text is over MAX_PART_ENCODED (prepare lets go of those before this runs,
    and the backfill, which reads the raw message whole, must give the same answer)."""
    stored = vars(part).get("_payload")
    if not isinstance(stored, str) or len(stored) > MAX_PART_ENCODED:
        return ""
    try:
        data = part.get_payload(decode=True)
    except (LookupError, ValueError, TypeError, AssertionError):
        return ""
    if not isinstance(data, bytes):
        payload = part.get_payload()
        return payload[:MAX_PART_BYTES] if isinstance(payload, str) else ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return data[:MAX_PART_BYTES].decode(charset, "replace")
    except LookupError:
        return data[:MAX_PART_BYTES].decode("utf-8", "replace")


def _returned_headers(text: str) -> Message:
    return email.parser.Parser(policy=email.policy.compat32).parsestr(
        text, headersonly=True
    )


def _header_words(msg: Message) -> Iterator[str]:
    """Subject, and the names and addresses (whole and in parts) of From and To."""
    subject = msg.get_all("Subject") or []
    if subject:
        yield decode_words(str(subject[0]))
    values = [
        decode_words(str(v)) for n in ("From", "To") for v in msg.get_all(n) or []
    ]
    try:
        pairs = getaddresses(values)
    except (ValueError, TypeError, IndexError):
        return
    for name, address in pairs:
        yield name
        if "@" in address:
            yield address.lower()
            yield from address_parts(address)


def _enclosed_words(part: Message) -> Iterator[str]:
    """An enclosed message's header words and its text (plain, else the HTML's)."""
    payload = part.get_payload()
    if not isinstance(payload, list) or not payload:
        return
    inner = payload[0]
    if not isinstance(inner, Message):
        return
    yield from _header_words(inner)
    text = _first_body(inner)
    if text:
        yield from text.split()


def _first_body(msg: Message) -> str | None:
    html: str | None = None
    stack: list[tuple[int, Message]] = [(0, msg)]
    while stack:
        depth, part = stack.pop()
        ctype = part.get_content_type()
        if ctype == "text/plain" and part.get_content_disposition() != "attachment":
            return _decoded_text(part)
        if ctype == "text/html" and html is None:
            html = _decoded_text(part)
        payload = vars(part).get("_payload")
        if isinstance(payload, list) and depth < _MAX_DEPTH and ctype not in _ENCLOSED:
            children = [p for p in payload if isinstance(p, Message)]
            stack.extend((depth + 1, child) for child in reversed(children))
    return html_text(html)


_TEXT_PROPERTIES = ("SUMMARY", "DESCRIPTION", "LOCATION")
_PEOPLE = ("ATTENDEE", "ORGANIZER")
_CN = re.compile(r';CN=("[^"]*"|[^;:]*)', re.I)


def calendar_words(text: str) -> Iterator[str]:
    """What an iCalendar text says: SUMMARY, DESCRIPTION and LOCATION values, and the
    names (CN) and addresses (whole and in parts) of ATTENDEE and ORGANIZER."""
    unfolded = re.sub(r"\r?\n[ \t]", "", text)
    for line in unfolded.splitlines():
        name, params, value = _property(line)
        if name in _TEXT_PROPERTIES:
            yield _unescape(value)
        elif name in _PEOPLE:
            cn = _CN.search(params)
            if cn:
                yield cn.group(1).strip('"')
            if value.lower().startswith("mailto:"):
                address = value[7:].strip().lower()
                yield address
                yield from address_parts(address)


def _property(line: str) -> tuple[str, str, str]:
    """(NAME, ;params, value) of a content line; the value starts at the first colon
    outside double quotes."""
    quoted = False
    for i, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == ":" and not quoted:
            head = line[:i]
            cut = head.find(";")
            name = head if cut == -1 else head[:cut]
            return name.strip().upper(), head[len(name) :], line[i + 1 :]
    return "", "", ""


def _unescape(value: str) -> str:
    return re.sub(
        r"\\(.)",
        lambda m: " " if m.group(1) in "nN" else m.group(1),
        value,
    )
