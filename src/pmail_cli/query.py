"""What `pmail list` and `pmail search` look for: filters, and the query language.

Pure: no database. A query is free text in PostgreSQL's `websearch_to_tsquery` syntax
(words, "phrases", OR, -negation) mixed with notmuch/mu-style fields (`from:`, `to:`,
`subject:`, `has:attachment`, `type:`, `after:` …); the fields become filters, the
rest full-text search. docs/search.md is the reference.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from pmail_cli import vocab
from pmail_cli.errors import UsageError

# Characters written without spaces between words (CJK ideographs, kana, hangul, and
# their punctuation and full-width forms). The database makes each one a word of its
# own (pmail_search_text in sql/migrations/0009_search.sql, the same ranges); a run of
# them in a query is searched as a phrase of those characters.
_CJK_RUN = re.compile(
    "[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]+"
)
_TOKEN = re.compile(r'-?[A-Za-z]+:"[^"]*"?|-?"[^"]*"?|\S+')
_FIELD = re.compile(r"^(-?)([A-Za-z]+):(.*)$", re.DOTALL)
_RELATIVE = re.compile(r"^(\d+)([hdwmy])$")
_UNITS = {"h": 1 / 24, "d": 1, "w": 7, "m": 30, "y": 365}


@dataclass(slots=True)
class Filters:
    """Everything a search narrows by; empty means every message of the tenant."""

    text: str | None = None  # websearch_to_tsquery syntax
    subjects: list[str] = field(default_factory=list)  # phrases in the subject
    filenames: list[str] = field(default_factory=list)  # words of attachment names
    since: datetime | None = None
    until: datetime | None = None  # exclusive
    directions: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)  # 'from:a@b', 'to:@b', …
    campaign: uuid.UUID | None = None
    lead: uuid.UUID | None = None
    account: str | None = None  # id or address of a sending account
    has_attachment: bool = False
    mime_type: str | None = None  # a LIKE pattern on lower(mime_type)
    reason: str | None = None
    bounce_class: str | None = None
    recipient: str | None = None  # a DSN recipient
    thread: str | None = None  # a storage key (or prefix): its whole thread

    @property
    def full_text(self) -> bool:
        """Whether the full-text document decides (and ranks) the matches."""
        return bool(self.text or self.subjects or self.filenames)

    def merged(self, other: Filters) -> Filters:
        """Both sets of conditions at once (options and query fields together)."""
        out = dataclasses.replace(self)
        for f in dataclasses.fields(Filters):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if isinstance(mine, list):
                setattr(out, f.name, [*mine, *theirs])
            elif f.name == "text":
                out.text = " ".join(t for t in (mine, theirs) if t) or None
            elif f.name == "has_attachment":
                out.has_attachment = mine or theirs
            elif theirs is not None:
                if mine is not None and mine != theirs:
                    raise UsageError(f"{f.name} given twice: {mine} and {theirs}")
                setattr(out, f.name, theirs)
        return out


# A field's setter: the filters, the value, now, and how the user wrote the field
# (`--type` or `type:`, for its errors).
_Setter = Callable[[Filters, str, "datetime | None", str], None]
_Convert = Callable[[str], object]


def parse_query(query: str, *, now: datetime | None = None) -> Filters:
    """Split a query into field filters and the free text left for full-text search."""
    filters = Filters()
    words: list[str] = []
    for token in _TOKEN.findall(query):
        match = _FIELD.match(token)
        name = match.group(2).lower() if match else ""
        if match is None or name not in _FIELDS:
            words.append(_cjk_phrases(token))
            continue
        if match.group(1):
            raise UsageError(
                f"{token!r}: a field cannot be negated",
                hint="negate words instead: pricing -discount",
            )
        _apply(filters, name, match.group(3).strip().strip('"'), now, shown=f"{name}:")
    filters.text = " ".join(words).strip() or None
    return filters


def from_fields(
    pairs: list[tuple[str, str, str]], *, now: datetime | None = None
) -> Filters:
    """Filters from (field, value, option) triples, read as the query's
    `field:value` would be (the command-line options of `pmail list` are the query's
    fields; errors name the option as the user wrote it)."""
    filters = Filters()
    for name, value, option in pairs:
        _apply(filters, name, value, now, shown=option)
    return filters


def _apply(
    filters: Filters, name: str, value: str, now: datetime | None, *, shown: str
) -> None:
    """Set field `name` to `value`; an empty value is an error that shows an example."""
    setter, example = _FIELDS[name]
    if not value.strip():
        raise UsageError(f"{shown} has no value", hint=f"e.g. {example}")
    setter(filters, value.strip(), now, shown)


def _cjk_phrases(token: str) -> str:
    """Outside quotes, a run of CJK characters becomes a quoted phrase."""
    if token.lstrip("-").startswith('"'):
        return token
    return _CJK_RUN.sub(lambda m: f' "{m.group()}" ', token)


def address_token(kind: str, value: str) -> str:
    """`from:`/`to:`/`cc:` as an index token: an address (bob@example.com), a domain
    (example.com or @example.com), or a local part (mailer-daemon or bob@)."""
    value = value.strip().strip("<>").lower()
    if "@" not in value:
        value = "@" + value if "." in value else value + "@"
    return f"{kind}:{value}"


def parse_when(value: str, *, now: datetime | None = None) -> datetime:
    """A date (2026-11-01), a date and time (ISO 8601), or an age (30d, 12h, 2w)."""
    now = now or datetime.now(UTC)
    text = value.strip().lower()
    relative = _RELATIVE.match(text)
    try:
        if relative:
            ago = timedelta(days=int(relative.group(1)) * _UNITS[relative.group(2)])
            return now - ago
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise UsageError(
            f"{value!r} is not a date",
            hint="give 2026-11-01, 2026-11-01T09:30, or an age: 12h, 30d, 2w, 6m, 1y",
        ) from None
    except OverflowError:
        raise _out_of_range(value) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _out_of_range(value: str) -> UsageError:
    return UsageError(
        f"{value!r} is outside the dates pmail can count (years 1 to 9999)",
        hint="give a date or an age that ends inside that range",
    )


def until_of(value: str, *, now: datetime | None = None) -> datetime:
    """The exclusive end of `before:`/`--until`: a bare date includes that whole day."""
    when = parse_when(value, now=now)
    is_day = len(value.strip()) == 10 and not _RELATIVE.match(value.strip().lower())
    try:
        return when + timedelta(days=1) if is_day else when
    except OverflowError:
        raise _out_of_range(value) from None


def parse_uuid(what: str, value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        raise UsageError(
            f"{what} {value!r} is not a UUID",
            hint="campaign and lead ids are UUIDs, as in X-PM-Campaign-Id",
        ) from None


def mime_pattern(value: str) -> str:
    """`pdf` → '%/pdf', `image/*` → 'image/%', `application/pdf` as it is."""
    value = value.strip().lower().replace("%", "").replace("_", "\\_")
    if "/" not in value:
        return "%/" + value
    return value.replace("*", "%")


def _set_since(f: Filters, v: str, now: datetime | None, _shown: str) -> None:
    f.since = parse_when(v, now=now)


def _set_until(f: Filters, v: str, now: datetime | None, _shown: str) -> None:
    f.until = until_of(v, now=now)


def _has(f: Filters, v: str, _now: datetime | None, shown: str) -> None:
    vocab.one_of(shown, "attachment" if v.lower() == "attachments" else v, HAS)
    f.has_attachment = True


def _address(kind: str) -> _Setter:
    def add(f: Filters, v: str, _now: datetime | None, _shown: str) -> None:
        f.addresses.append(address_token(kind, v))

    return add


def _scalar(name: str, convert: _Convert) -> _Setter:
    def put(f: Filters, v: str, _now: datetime | None, _shown: str) -> None:
        setattr(f, name, convert(v))

    return put


def _listed(name: str, convert: _Convert) -> _Setter:
    def add(f: Filters, v: str, _now: datetime | None, _shown: str) -> None:
        getattr(f, name).append(convert(v))

    return add


def _word(name: str, allowed: tuple[str, ...], *, many: bool = False) -> _Setter:
    """A field whose values form a closed vocabulary: anything else is an error that
    lists them (vocab.one_of), never a filter that matches nothing."""

    def put(f: Filters, v: str, _now: datetime | None, shown: str) -> None:
        word = vocab.one_of(shown, v, allowed)
        if many:
            getattr(f, name).append(word)
        else:
            setattr(f, name, word)

    return put


HAS = ("attachment",)


# Each field: how it sets the filters, and the example its error hints show.
_FIELDS: dict[str, tuple[_Setter, str]] = {
    "from": (_address("from"), "from:bob@example.com or from:example.com"),
    "to": (_address("to"), "to:bob@example.com"),
    "cc": (_address("cc"), "cc:example.com"),
    "subject": (
        _listed("subjects", str.strip),
        'subject:invoice or subject:"rate card"',
    ),
    "filename": (_listed("filenames", str.strip), "filename:invoice"),
    "has": (_has, "has:attachment"),
    "type": (_word("types", vocab.MESSAGE_TYPES, many=True), "type:bounce"),
    "direction": (
        _word("directions", vocab.DIRECTIONS, many=True),
        "direction:inbound",
    ),
    "status": (_word("statuses", vocab.STATUSES, many=True), "status:replied"),
    "after": (_set_since, "after:2026-11-01 or after:30d"),
    "since": (_set_since, "since:30d"),
    "before": (_set_until, "before:2026-12-01"),
    "until": (_set_until, "until:2026-11-30"),
    "campaign": (
        _scalar("campaign", lambda v: parse_uuid("campaign", v)),
        "campaign:<uuid>",
    ),
    "lead": (_scalar("lead", lambda v: parse_uuid("lead", v)), "lead:<uuid>"),
    "account": (_scalar("account", str.strip), "account:sdr1@acme.com"),
    "mime": (_scalar("mime_type", mime_pattern), "mime:pdf or mime:image/*"),
    "reason": (_word("reason", vocab.REASONS), "reason:mailboxfull"),
    "class": (_word("bounce_class", vocab.BOUNCE_CLASSES), "class:hard"),
    "rcpt": (
        _scalar("recipient", lambda v: v.strip().strip("<>").lower()),
        "rcpt:bob@example.com",
    ),
    "thread": (_scalar("thread", str.strip), "thread:3f2a9c0d"),
}
