"""Build the same `email.message.Message` tree as the standard library, faster.

`email.message_from_bytes(raw, policy=compat32)` reads a message one line at a time
in Python and compiles a new regular expression for every multipart boundary; on
cold-email traffic that is most of the worker's time. `parse_bytes` builds the
identical tree (same headers, payload strings, preamble and epilogue) by finding the
header/body separator and the boundary lines with `str.find`.

It handles only the shapes whose stdlib result it can reproduce exactly: well-formed
headers, single-part bodies, nested multiparts with proper start and close
boundaries, `message/rfc822` and `message/delivery-status` parts. Anything else (a
lone CR, an mbox `From ` line among the headers, a header line without a colon, a
missing boundary, anything the stdlib would record a defect for) is handed to the
stdlib parser, so the result never differs. tests/unit/test_mimetree.py compares the two trees on the real
corpus and on damaged variants of it.
"""

from __future__ import annotations

import email
import email.message
import itertools
import re
from email._policybase import compat32  # not email.policy: it loads headerregistry too
from typing import Any

Message = email.message.Message

# bytes the stdlib splits lines on differently from "\n" (a lone CR), checked on the raw
_AWKWARD = re.compile(rb"\r(?!\n)")
# one header field: RFC 5322 name, colon, value, continuation lines (as the stdlib's
# headerRE sees them; "." also matches CR, and a lone CR never gets this far)
_FIELD = re.compile(r"([\041-\071\073-\176]+):(.*(?:\n|\Z)(?:[ \t].*(?:\n|\Z))*)")
_PLAIN_TRANSFER = ("7bit", "8bit", "binary")
MAX_DEPTH = 100  # deeper nesting goes to the stdlib parser (which may give up on it)


class IndexedMessage(Message):
    """A compat32 Message whose header lookups use an index instead of a scan.

    `Message.get` lowercases every header name on every lookup; pmail and its
    classifier ask ~40 lookups per message. The index is rebuilt whenever the header
    list is replaced or changes length (every stdlib mutation does one or the other,
    or keeps names in place), so answers are always those of `Message`.
    """

    def __init__(self) -> None:
        super().__init__(policy=compat32)
        self._indexed: list[tuple[str, str]] | None = None
        self._indexed_len = 0
        self._positions: dict[str, list[int]] = {}
        self._params: dict[tuple[str, str], object] = {}

    def _index(self) -> dict[str, list[int]]:
        headers: list[tuple[str, str]] = vars(self)["_headers"]
        if self._indexed is not headers or self._indexed_len != len(headers):
            positions: dict[str, list[int]] = {}
            for i, (name, _) in enumerate(headers):
                positions.setdefault(name.lower(), []).append(i)
            self._positions = positions
            self._indexed, self._indexed_len = headers, len(headers)
        return self._positions

    def _fetch(self, i: int) -> Any:
        name, value = vars(self)["_headers"][i]
        # compat32.header_fetch_parse returns ASCII text unchanged
        if isinstance(value, str) and value.isascii():
            return value
        return self.policy.header_fetch_parse(name, value)

    def get(self, name: str, failobj: Any = None) -> Any:
        """Message.get, through the index."""
        found = self._index().get(name.lower())
        return self._fetch(found[0]) if found else failobj

    def get_all(self, name: str, failobj: Any = None) -> Any:
        """Message.get_all, through the index."""
        found = self._index().get(name.lower())
        return [self._fetch(i) for i in found] if found else failobj

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._index()

    def _get_params_preserve(self, failobj: Any, header: str) -> Any:
        # the parsed parameters of a header value never change: parse each once
        value = self.get(header)
        if not isinstance(value, str):
            return super()._get_params_preserve(failobj, header)  # type: ignore[misc]
        key = (header.lower(), value)
        if key not in self._params:
            self._params[key] = super()._get_params_preserve(failobj, header)  # type: ignore[misc]
        found = self._params[key]
        return list(found) if isinstance(found, list) else found  # callers may edit it


class _Unsupported(Exception):
    """The fast path cannot promise the stdlib's result for this message."""


def parse_bytes(raw: bytes) -> Message:
    """Parse raw message bytes exactly as `email.message_from_bytes(raw, compat32)`."""
    tree = fast_tree(raw)
    if tree is not None:
        return tree
    return email.message_from_bytes(raw, policy=compat32)


def fast_tree(raw: bytes) -> Message | None:
    """The stdlib's tree for raw, or None when only the stdlib parser can build it."""
    if _AWKWARD.search(raw):
        return None
    text = raw.decode("ascii", "surrogateescape")
    try:
        tree = _part(text, 0, len(text))[0]
    except (_Unsupported, RecursionError):  # deep nesting: let the stdlib decide
        return None
    _fill_payloads(tree, text)
    return tree


def _fill_payloads(tree: Message, text: str) -> None:
    """Give each leaf its body text, cut once from where it was found (its final
    newline already taken off where a boundary owns it): never a second copy."""
    parts = [tree]
    while parts:
        part = parts.pop()
        span = vars(part).pop("_span", None)
        if span is not None:
            part.set_payload(text[span[0] : span[1]])
        payload = vars(part).get("_payload")
        if isinstance(payload, list):
            parts.extend(payload)


def stored_payload(part: Message) -> str:
    """A leaf part's body exactly as in the raw message (8-bit bytes as surrogates);
    get_payload() would decode 8-bit text with the part's charset."""
    payload = vars(part).get("_payload")
    return payload if isinstance(payload, str) else ""


def _strip_eol(value: str) -> str:
    if value.endswith("\r\n"):
        return value[:-2]
    if value.endswith("\n"):
        return value[:-1]
    return value


def _headers(msg: Message, text: str, start: int, end: int) -> int:
    """Read the header fields from start; return where the body starts."""
    pos = start
    while pos < end:
        if text.startswith(("\n", "\r\n"), pos):
            return text.index("\n", pos) + 1  # the empty line ends the headers
        field = _FIELD.match(text, pos, end)
        if field is None:
            raise _Unsupported  # envelope line, continuation first, body line, ...
        # as compat32.header_source_parse: name, value from the colon on, joined
        msg.set_raw(field[1], field[2].lstrip(" \t").rstrip("\r\n"))
        pos = field.end()
    return pos


def _part(
    text: str, start: int, end: int, *, in_digest: bool = False, depth: int = 0
) -> tuple[Message, Message]:
    """Parse text[start:end] as a message; return it and the message the stdlib
    would treat as "last" (whose final newline belongs to an enclosing boundary)."""
    if depth > MAX_DEPTH:
        raise _Unsupported  # the stdlib may run out of stack here: let it decide
    msg = IndexedMessage()
    if in_digest:
        msg.set_default_type("message/rfc822")
    body = _headers(msg, text, start, end)
    if msg.get_content_type() == "message/delivery-status":
        return msg, _delivery_status(msg, text, body, end)
    maintype = msg.get_content_maintype()
    if maintype == "message":  # rfc822 and the rest: the body is one message
        inner, last = _part(text, body, end, depth=depth + 1)
        msg.attach(inner)
        return msg, last
    if maintype == "multipart":
        _multipart(msg, text, body, end, depth)
        return msg, msg
    msg.set_payload("")
    vars(msg)["_span"] = (body, end)  # the body text is cut once the tree is done
    return msg, msg


def _delivery_status(msg: Message, text: str, start: int, end: int) -> Message:
    """Attach each blank-line-separated block of fields as a message; return the last."""
    pos = start
    while True:
        blank = _blank_line(text, pos, end)
        block = IndexedMessage()
        _headers(block, text, pos, blank)  # reads to `blank`: no empty line before it
        if block.get_content_maintype() in ("message", "multipart"):
            raise _Unsupported
        block.set_payload("")
        msg.attach(block)
        if blank == end:
            return block
        pos = text.index("\n", blank, end) + 1  # past the blank line
        if pos == end:
            return block


def _blank_line(text: str, start: int, end: int) -> int:
    """Where the first empty line in text[start:end] starts, else end."""
    if text.startswith(("\n", "\r\n"), start) and start < end:
        return start
    lf = text.find("\n\n", start, end)
    crlf = text.find("\n\r\n", start, end)
    found = [at + 1 for at in (lf, crlf) if at != -1]
    return min(found) if found else end


def _strip_last(last: Message, text: str) -> None:
    # RFC 2046: the newline before a boundary belongs to the boundary
    span = vars(last).get("_span")
    if last.get_content_maintype() == "multipart":
        epilogue = last.epilogue
        last.epilogue = _strip_eol(epilogue) if epilogue else None
    elif span is not None:
        start, end = span
        if text.endswith("\r\n", start, end):
            end -= 2
        elif text.endswith("\n", start, end):
            end -= 1
        vars(last)["_span"] = (start, end)
    elif isinstance(vars(last)["_payload"], str):
        last.set_payload(_strip_eol(stored_payload(last)))


def _boundaries(
    text: str, start: int, end: int, sep: str
) -> list[tuple[int, int, bool]]:
    """(line start, line end, is close) of each boundary line, up to the close one."""
    found: list[tuple[int, int, bool]] = []
    pos = text.find(sep, start, end)
    while pos != -1:
        if pos == start or text[pos - 1] == "\n":
            eol = text.find("\n", pos, end)
            line_end = end if eol == -1 else eol + 1
            rest = text[pos + len(sep) : line_end]
            close = rest.startswith("--")
            if (rest[2:] if close else rest).lstrip(" \t") in ("", "\n", "\r\n"):
                found.append((pos, line_end, close))
                if close:
                    return found
            pos = line_end
        else:
            pos += 1
        pos = text.find(sep, pos, end) if pos < end else -1
    return found


def _multipart(msg: Message, text: str, start: int, end: int, depth: int) -> None:
    boundary = msg.get_boundary()
    transfer = str(msg.get("content-transfer-encoding", "8bit")).lower()
    if boundary is None or transfer not in _PLAIN_TRANSFER:
        raise _Unsupported  # the stdlib records a defect
    digest = msg.get_content_type() == "multipart/digest"
    lines = _boundaries(text, start, end, "--" + boundary)
    if not lines or lines[0][2] or not lines[-1][2]:
        raise _Unsupported  # no start boundary, or no close boundary
    if lines[0][0] > start:
        msg.preamble = _strip_eol(text[start : lines[0][0]])
    for (_, after, _), (before, _, _) in itertools.pairwise(lines):
        if before == after:
            raise _Unsupported  # two boundary lines in a row
        child, last = _part(text, after, before, in_digest=digest, depth=depth + 1)
        msg.attach(child)
        _strip_last(last, text)
    msg.epilogue = text[lines[-1][1] : end]
