"""Parse raw message bytes into the cached fields pmail stores; never raises on bad mail."""

from __future__ import annotations

import binascii
import dataclasses
import email
import email.message
import email.utils
import hashlib
import json
import re
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.errors import MessageDefect
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from email.policy import compat32
from html.parser import HTMLParser

from pmail_cli.mail.memo import SMALL
from pmail_cli.mail.mimetree import parse_bytes, stored_payload

MAX_DEPTH = 64
DECODE_CACHE_MIN = 8192  # encoded attachments this long are remembered ...
DECODE_CACHE_MAX = SMALL  # ... up to this long
DECODE_CACHE_SIZE = 16  # ... this many per process, least recently used first out
MAX_TEXT_CHARS = 4_000_000  # a body column larger than this is truncated (flagged)
Message = email.message.Message
_DECODE_CACHE: OrderedDict[
    tuple[str, str], tuple[bytes, bytes, tuple[MessageDefect, ...]]
] = OrderedDict()


@dataclass(frozen=True, slots=True)
class AttachmentPart:
    """One attachment of a message, decoded."""

    part_index: int
    filename: str | None
    mime_type: str
    disposition: str | None
    content_id: str | None
    data: bytes
    sha256: bytes
    encoded: str  # the part's body exactly as it appears in the raw message
    transfer_encoding: str


@dataclass(slots=True)
class ParsedMessage:
    """The cached fields of one message; problems lists what was wrong with it."""

    msg: Message | None
    message_id: str | None = None
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    from_email: str | None = None
    from_name: str | None = None
    to_email: str | None = None
    cc_email: str | None = None
    subject: str | None = None
    sent_at: datetime | None = None
    text: str | None = None
    html: str | None = None
    attachments: list[AttachmentPart] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def clean_text(value: str) -> str:
    """Return text PostgreSQL accepts: no NUL, no lone surrogates."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # a surrogate a decoder made (UTF-7's "+2AA-" is U+D800) is no character;
        # those that stand for undecodable bytes (U+DC80..U+DCFF) are read as UTF-8
        value = _NOT_ESCAPES.sub("\ufffd", value)
        value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return value


_NOT_ESCAPES = re.compile("[\ud800-\udc7f\udd00-\udfff]")


def _header_str(value: object) -> str:
    text = str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # 8-bit header bytes arrive as surrogate escapes; undeclared 8-bit is usually UTF-8
        raw = text.encode("ascii", "surrogateescape")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
    return clean_text(text)


def header_fields(msg: Message | None) -> list[tuple[str, str]]:
    """Every header field in order, repeats kept, as text PostgreSQL and JSON accept."""
    if msg is None:
        return []
    return [(_header_str(k), _header_str(v)) for k, v in msg.items()]


_FOLD = re.compile(r"\r?\n(?=[ \t])|\r?\n|\r")


def headers_document(pairs: list[tuple[str, str]]) -> str:
    """The `email_content.headers` JSON of header fields (docs/schema.md): names
    lower-cased; a field that occurs once is a string, one that repeats an array of its
    values in order; values unfolded and their RFC 2047 words decoded."""
    fields: dict[str, str | list[str]] = {}
    for name, value in pairs:
        key = name.strip().lower()
        if not key:
            continue
        if "\n" in value or "\r" in value:  # most values are not folded
            value = _FOLD.sub("", value)
        text = decode_words(value.strip())
        had = fields.get(key)
        if had is None:
            fields[key] = text
        elif isinstance(had, list):
            had.append(text)
        else:
            fields[key] = [had, text]
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def header_value(msg: Message | None, name: str) -> str | None:
    """The first value of a header, as text, or None."""
    value = msg.get(name) if msg is not None else None
    return _header_str(value) if value is not None else None


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words, keeping the text as is when they are broken."""
    if "=?" not in value:
        return value
    try:
        return clean_text(str(make_header(decode_header(value))))
    except (LookupError, UnicodeError, ValueError, AssertionError):
        return value


def message_ids(value: str | None) -> list[str]:
    """Every `<...>` id in a Message-ID-list header, in order."""
    if not value:
        return []
    found: list[str] = []
    for token in value.replace("\n", " ").replace("\r", " ").split():
        start = token.find("<")
        end = token.rfind(">")
        if start != -1 and end > start:
            found.append(token[start : end + 1])
    return found


def first_id(value: str | None) -> str | None:
    """The first `<...>` id of a header, else its trimmed text, else None."""
    if not value:
        return None
    ids = message_ids(value)
    if ids:
        return ids[0]
    stripped = " ".join(value.split())
    return stripped or None


_ATOMS = r"[A-Za-z0-9_%+'-]+(?:\.[A-Za-z0-9_%+'-]+)*"
_PLAIN_ADDRESS = re.compile(
    rf"[ \t\r\n]*(?:([A-Za-z0-9_'. \t-]*?)[ \t\r\n]*<({_ATOMS}@{_ATOMS})>|({_ATOMS}@{_ATOMS}))"
    r"[ \t\r\n]*"
)


def getaddresses(values: list[str]) -> list[tuple[str, str]]:
    """`email.utils.getaddresses`, answered directly for plain address lists.

    `Name <local@domain>` and `local@domain` items made of atoms only (no quotes,
    comments, routes or encoded words) are split here; anything else goes to the
    stdlib parser, whose answer this always equals (tests/unit/test_addresses.py).
    """
    pairs: list[tuple[str, str]] = []
    for item in ", ".join(values).split(","):
        found = _PLAIN_ADDRESS.fullmatch(item)
        if found is None:
            return email.utils.getaddresses(values)
        name, routed, bare = found.groups()
        pairs.append((" ".join(name.split()), routed) if routed else ("", bare))
    return pairs


_ONE_ANGLE_ADDRESS = re.compile(r"\s*(.*?)\s*<([^<>@\s]+@[^<>\s]+)>\s*", re.S)


# RFC 5321 4.5.3.1.3: a path is at most 256 octets, its angle brackets included. A
# longer "address" is no mailbox anyone can be sent to, and it would not fit the
# indexes that hold addresses (a btree entry is at most 2,704 bytes): it is left out
# of the address columns and recipients, and said in the parse problems.
MAX_ADDRESS = 254
MAX_MIME_TYPE = 255  # type "/" subtype, each at most 127 characters (RFC 6838)


def addresses(
    values: list[str], problems: list[str] | None = None, *, header: str = "address"
) -> tuple[str | None, str | None]:
    """Lower-cased addresses of address headers, comma-joined, and the first name;
    an address longer than MAX_ADDRESS is left out (noted in `problems`)."""
    decoded = [decode_words(v) for v in values]
    pairs = getaddresses(decoded)
    if len(decoded) == 1 and any(not addr or "@" not in addr for _, addr in pairs):
        # one `name <address>` whose name the RFC 5322 parser took apart (an unquoted
        # `[`, as in a terminal escape sequence): the name is what precedes the `<`
        one = _ONE_ANGLE_ADDRESS.fullmatch(decoded[0])
        if one is not None:
            pairs = [(one.group(1).strip('"').strip(), one.group(2))]
    found = [(name, addr.strip()) for name, addr in pairs if addr and "@" in addr]
    kept = [(name, addr) for name, addr in found if len(addr) <= MAX_ADDRESS]
    if len(kept) < len(found) and problems is not None:
        problems.append(
            f"address longer than {MAX_ADDRESS} characters left out: "
            f"{len(found) - len(kept)} of {header}"
        )
    emails = [addr.lower() for _, addr in kept]
    names = [name for name, _ in kept]
    if not emails:
        return None, None
    return ", ".join(emails), (names[0] or None) if names else None


MAX_ZONE_OFFSET = timedelta(hours=15)


def parse_date(value: str | None, problems: list[str]) -> datetime | None:
    """A Date header as an aware datetime; an unreadable one is a problem, not an error."""
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        problems.append("unparseable Date header")
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if not 1970 <= parsed.year <= 9999:
        problems.append("Date header out of range")
        return None
    offset = parsed.utcoffset()
    if offset is not None and abs(offset) >= MAX_ZONE_OFFSET:
        # "+2013" read as a zone: real zones are within -12..+14 h, and PostgreSQL
        # refuses offsets of 16 h and more
        problems.append("Date header time zone out of range")
        return None
    return parsed


def _walk(msg: Message) -> Iterator[tuple[int, Message]]:
    """Yield (depth, part) depth-first without recursion, bounded in depth."""
    stack: list[tuple[int, Message]] = [(0, msg)]
    while stack:
        depth, part = stack.pop()
        yield depth, part
        if depth >= MAX_DEPTH:
            continue
        payload = vars(part).get("_payload")  # get_payload() would copy a leaf
        if isinstance(payload, list):
            children = [p for p in payload if isinstance(p, Message)]
            stack.extend((depth + 1, child) for child in reversed(children))


def _decode_text(part: Message, data: bytes, problems: list[str]) -> str:
    charset = part.get_content_charset() or "us-ascii"
    try:
        return data.decode(charset, "replace")
    except LookupError:
        problems.append(f"unknown charset {charset[:40]}")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("latin-1")


def _decoded(part: Message) -> tuple[bytes, bytes]:
    """The part's decoded bytes and their sha256, remembered for repeated attachments.

    Cold email attaches the same deck to thousands of messages: decoding and hashing
    it once per worker is enough. The answer depends only on the payload as stored
    (the exact raw text, not get_payload()'s charset-decoded form, where different
    bytes can read the same) and the Content-Transfer-Encoding value; defects the
    decoding reports are replayed. Large parts are not kept (memory stays bounded).
    """
    stored = stored_payload(part)
    if not DECODE_CACHE_MIN <= len(stored) <= DECODE_CACHE_MAX:
        return _decode(part)
    key = (stored, str(part.get("content-transfer-encoding", "")))
    hit = _DECODE_CACHE.get(key)
    if hit is not None:
        _DECODE_CACHE.move_to_end(key)
        data, digest, defects = hit
        part.defects.extend(defects)
        return data, digest
    before = len(part.defects)
    data, digest = _decode(part)
    _DECODE_CACHE[key] = (data, digest, tuple(part.defects[before:]))
    if len(_DECODE_CACHE) > DECODE_CACHE_SIZE:
        _DECODE_CACHE.popitem(last=False)
    return data, digest


def _decode(part: Message) -> tuple[bytes, bytes]:
    plain = _plain_base64(part)
    data = plain if plain is not None else part.get_payload(decode=True)
    if not isinstance(data, bytes):
        data = b""
    return data, hashlib.sha256(data).digest()


_BASE64_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_CHECK_BLOCK = 1 << 20


def _plain_base64(part: Message) -> bytes | None:
    """`get_payload(decode=True)` of a well-formed base64 part, decoded straight from
    the payload text; None for anything else (the standard library decides).

    The standard library encodes the payload, splits it into lines, joins them and
    decodes: four copies of a 70 MB attachment at once. Well-formed base64 (only
    alphabet letters and line breaks, padding only at the end, a multiple of four
    letters) decodes to the same bytes with no copy (tests/unit/test_memory.py)."""
    payload = vars(part).get("_payload")
    if not isinstance(payload, str) or not payload.isascii():
        return None
    if str(part.get("content-transfer-encoding", "")).lower() != "base64":
        return None
    letters = len(payload) - payload.count("\n") - payload.count("\r")
    padding = payload.find("=")
    if letters % 4 or (padding != -1 and len(payload) - padding > 64):
        return None
    for start in range(0, len(payload), _CHECK_BLOCK):  # block by block: no copy
        block = payload[start : start + _CHECK_BLOCK].encode("ascii")
        if block.translate(None, _BASE64_LETTERS + b"=\r\n"):
            return None
    if (padding != -1 and payload[padding:].strip("=\r\n")) or payload.count("=") > 2:
        return None
    return binascii.a2b_base64(payload)


def _filename(part: Message) -> str | None:
    """The part's file name; undeclared 8-bit (UTF-8) in it decoded, not U+FFFD."""
    name = part.get_filename()
    if name is None or "\ufffd" not in str(name):
        return name
    probe = Message()
    for header in ("Content-Disposition", "Content-Type"):
        for value in _raw_values(part, header):
            probe[header] = value
    return probe.get_filename() or name


def _attachment(index: int, part: Message) -> AttachmentPart:
    data, digest = _decoded(part)
    raw_name = _filename(part)
    filename = clean_text(decode_words(str(raw_name))) if raw_name else None
    disposition = part.get_content_disposition()
    cid = part.get("Content-ID")
    return AttachmentPart(
        part_index=index,
        filename=filename,
        mime_type=clean_text(part.get_content_type()),
        disposition=disposition,
        content_id=_header_str(cid).strip() if cid else None,
        data=data,
        sha256=digest,
        encoded=stored_payload(part),
        transfer_encoding=str(part.get("Content-Transfer-Encoding", "7bit"))
        .strip()
        .lower(),
    )


def _is_body(part: Message, ctype: str) -> bool:
    if ctype not in ("text/plain", "text/html"):
        return False
    disposition = part.get("Content-Disposition")
    if disposition is None and "name" not in str(part.get("Content-Type", "")).lower():
        return True  # no disposition and no name= / filename*=: no file name to find
    return part.get_content_disposition() != "attachment" and not part.get_filename()


def _bodies_and_attachments(parsed: ParsedMessage, msg: Message) -> None:
    index = 0
    deepest = 0
    for depth, part in _walk(msg):
        deepest = max(deepest, depth)
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        if ctype == "message/rfc822" or ctype.startswith("multipart/"):
            continue
        if _is_body(part, ctype):
            data = part.get_payload(decode=True)
            text = _decode_text(
                part, data if isinstance(data, bytes) else b"", parsed.problems
            )
            if ctype == "text/plain" and parsed.text is None:
                parsed.text = text
            elif ctype == "text/html" and parsed.html is None:
                parsed.html = text
            continue
        if depth == 0 and ctype.startswith("text/"):
            continue
        found = _attachment(index, part)
        if len(found.mime_type) > MAX_MIME_TYPE:
            # RFC 6838 allows 127 + 1 + 127 characters; a longer one (a message
            # that would otherwise stop every ingest at an index's size limit) is
            # cut, and the whole value stays in the raw message
            parsed.problems.append(
                f"part {index}: content type of {len(found.mime_type):,} characters "
                f"cut to {MAX_MIME_TYPE}"
            )
            found = dataclasses.replace(
                found, mime_type=found.mime_type[:MAX_MIME_TYPE]
            )
        parsed.attachments.append(found)
        index += 1
    if deepest >= MAX_DEPTH:
        parsed.problems.append(f"MIME nested deeper than {MAX_DEPTH} levels")


def _finish_bodies(parsed: ParsedMessage) -> None:
    for name in ("text", "html"):
        value = getattr(parsed, name)
        if value is None:
            continue
        value = clean_text(value)
        if len(value) > MAX_TEXT_CHARS:
            parsed.problems.append(
                f"{name} body truncated to {MAX_TEXT_CHARS} characters"
            )
            value = value[:MAX_TEXT_CHARS]
        setattr(parsed, name, value)


def _raw_values(msg: Message, name: str) -> list[str]:
    """A header's values as text from their raw bytes: undeclared 8-bit (usually
    UTF-8) is decoded, where `Message.get` would give U+FFFD for each such byte."""
    lower = name.lower()
    return [_header_str(v) for k, v in msg.raw_items() if k.lower() == lower]


def _fill_headers(parsed: ParsedMessage, msg: Message) -> None:
    get = msg.get
    parsed.message_id = first_id(_header_str(get("Message-ID", ""))) or None
    if parsed.message_id is None:
        parsed.problems.append("no Message-ID")
    elif len(msg.get_all("Message-ID") or []) > 1:
        parsed.problems.append("more than one Message-ID header")
    parsed.in_reply_to = first_id(_header_str(get("In-Reply-To", ""))) or None
    parsed.references = message_ids(_header_str(get("References", "")))
    problems = parsed.problems
    parsed.from_email, parsed.from_name = addresses(
        _raw_values(msg, "From"), problems, header="From"
    )
    parsed.to_email, _ = addresses(_raw_values(msg, "To"), problems, header="To")
    parsed.cc_email, _ = addresses(_raw_values(msg, "Cc"), problems, header="Cc")
    subject = _raw_values(msg, "Subject")
    parsed.subject = decode_words(subject[0]) if subject else None
    parsed.sent_at = parse_date(_header_str(get("Date", "")) or None, parsed.problems)


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse raw bytes into cached fields; broken mail yields problems, not exceptions."""
    parsed = ParsedMessage(msg=None)
    if not raw.strip():
        parsed.problems.append("empty message")
        return parsed
    try:
        msg = parse_bytes(raw)
    except (RecursionError, MemoryError, ValueError, TypeError) as exc:
        parsed.problems.append(f"unparseable: {type(exc).__name__}")
        _fill_top_headers(parsed, raw)
        return parsed
    parsed.msg = msg
    try:
        _fill_headers(parsed, msg)
        _bodies_and_attachments(parsed, msg)
    except (RecursionError, LookupError, ValueError, TypeError, AttributeError) as exc:
        parsed.problems.append(f"partly unparseable: {type(exc).__name__}: {exc}"[:200])
    _finish_bodies(parsed)
    parsed.problems.extend(_defects(msg))
    if not msg.keys():
        parsed.problems.append("no headers")
    return parsed


def _fill_top_headers(parsed: ParsedMessage, raw: bytes) -> None:
    """The top-level header fields of a message whose MIME tree could not be built
    (nested past what the parser can walk, say): sender, subject, Message-ID and
    date are kept, so the message can still be found, listed and linked."""
    try:
        top = BytesHeaderParser(policy=compat32).parsebytes(raw)
        _fill_headers(parsed, top)
    except (RecursionError, LookupError, ValueError, TypeError, AttributeError):
        pass  # the problem is noted already; the raw message is kept whole


class _TextOfHtml(HTMLParser):
    """Collect the visible text of an HTML body (scripts and styles dropped)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head"):
            self._skip += 1
        elif tag in ("br", "p", "div", "tr", "li", "h1", "h2", "h3"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_text(html: str | None) -> str | None:
    """Return the visible text of an HTML body, for search when there is no text part."""
    if not html:
        return None
    extractor = _TextOfHtml()
    try:
        extractor.feed(html)
        extractor.close()
    except (AssertionError, ValueError):  # malformed markup: keep what was read
        pass
    lines = (" ".join(line.split()) for line in "".join(extractor.parts).splitlines())
    return "\n".join(line for line in lines if line) or None


def _defects(msg: Message) -> list[str]:
    names: set[str] = set()
    for _, part in _walk(msg):
        for defect in getattr(part, "defects", []):
            names.add(type(defect).__name__)
    return [f"MIME defect: {name}" for name in sorted(names)]
