"""`pmail list` and `pmail search`: one command under two names (list: newest first;
search: full text, by relevance)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer
from typer.core import TyperCommand

from pmail_cli import output, vocab
from pmail_cli.cli import (
    FormatOption,
    TenantOption,
    app,
    connected,
    get_settings,
    registers,
    reported_errors,
    say,
)
from pmail_cli.output import OutputFormat

if TYPE_CHECKING:
    from pmail_cli.services.search import Found, SearchResult

_BOLD, _PLAIN = "\x1b[1m", "\x1b[22m"

LIST_HELP = """List messages, newest first, narrowed by filters.

The options are the fields of `pmail search` (--from is from:, --type is type:, …);
every one given must hold. Keys in the table are shortened: `pmail show` takes them.

Example: pmail list --tenant acme --since 2026-11-01 --type bounce --limit 50
"""
SEARCH_HELP = """Search the full text (subject, attachment names, body) and the fields.

QUERY: words, "a phrase", OR, -word (websearch syntax), and fields: from: to: cc:
subject: filename: has:attachment type: direction: status: after: before: campaign:
lead: account: mime: reason: class: rcpt: thread:  (docs/search.md). Ranked by
relevance (subject words weigh most), ties newest first; --sort newest for date order.
QUERY may be several arguments; a word starting with '-' is a negation, not an option
(`pmail search pricing -discount`; short options take their value apart: -n 20).

Example: pmail search 'pricing OR "rate card"' --tenant acme --direction inbound --since 30d
"""


def find_cmd(
    ctx: typer.Context,
    query: Annotated[
        list[str] | None,
        typer.Argument(
            help="Words and fields, one argument or several (joined by spaces); "
            "a word may start with '-'.",
            show_default=False,
        ),
    ] = None,
    tenant: TenantOption = None,
    since: Annotated[
        str | None, typer.Option(help="From this date (2026-11-01) or age (30d, 12h).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Up to this date (a date includes that day).")
    ] = None,
    direction: Annotated[
        str | None, typer.Option(help=f"{' or '.join(vocab.DIRECTIONS)}.")
    ] = None,
    msg_type: Annotated[
        list[str] | None,
        typer.Option("--type", help=f"{', '.join(vocab.MESSAGE_TYPES)} (repeatable)."),
    ] = None,
    status: Annotated[
        list[str] | None,
        typer.Option(help=f"{', '.join(vocab.STATUSES)} (repeatable)."),
    ] = None,
    sender: Annotated[
        str | None, typer.Option("--from", help="Sender address or domain.")
    ] = None,
    to: Annotated[str | None, typer.Option(help="To address or domain.")] = None,
    cc: Annotated[str | None, typer.Option(help="Cc address or domain.")] = None,
    campaign: Annotated[str | None, typer.Option(help="Campaign id (UUID).")] = None,
    lead: Annotated[str | None, typer.Option(help="Lead id (UUID).")] = None,
    account: Annotated[
        str | None, typer.Option(help="Sending account: id or address.")
    ] = None,
    has_attachment: Annotated[
        bool, typer.Option("--has-attachment", help="Only messages with attachments.")
    ] = False,
    attachment_type: Annotated[
        str | None,
        typer.Option(help="An attachment of this type: pdf, image/*, text/csv."),
    ] = None,
    filename: Annotated[
        str | None, typer.Option(help="A word of an attachment's file name.")
    ] = None,
    reason: Annotated[
        str | None,
        typer.Option(
            help="Bounce reason of a recipient: mailboxfull, userunknown, … "
            "(docs/classification.md has the list)."
        ),
    ] = None,
    bounce_class: Annotated[
        str | None, typer.Option("--class", help="Bounces: hard or soft.")
    ] = None,
    recipient: Annotated[
        str | None, typer.Option(help="DSNs about this recipient address.")
    ] = None,
    thread: Annotated[
        str | None, typer.Option(help="A message's key: its whole thread.")
    ] = None,
    sort: Annotated[
        str | None,
        typer.Option(help="relevance (search's default) or newest (list's)."),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, max=10000, help="Rows per page.")
    ] = 50,
    after: Annotated[
        str | None,
        typer.Option(help="The next page: the rows after this key (the last shown)."),
    ] = None,
    count: Annotated[
        bool, typer.Option("--count", help="Print only the number of matches.")
    ] = False,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    from pmail_cli import query as q
    from pmail_cli.services import search, tenants

    settings = get_settings(ctx)
    fields = [
        (name, value, option)
        for name, value, option in (
            ("after", since, "--since"),
            ("before", until, "--until"),
            ("direction", direction, "--direction"),
            ("from", sender, "--from"),
            ("to", to, "--to"),
            ("cc", cc, "--cc"),
            ("campaign", campaign, "--campaign"),
            ("lead", lead, "--lead"),
            ("account", account, "--account"),
            ("mime", attachment_type, "--attachment-type"),
            ("filename", filename, "--filename"),
            ("reason", reason, "--reason"),
            ("class", bounce_class, "--class"),
            ("rcpt", recipient, "--recipient"),
            ("thread", thread, "--thread"),
            *(("type", t, "--type") for t in msg_type or []),
            *(("status", s, "--status") for s in status or []),
        )
        if value is not None
    ]
    with reported_errors(settings):
        filters = q.from_fields(fields).merged(q.parse_query(" ".join(query or [])))
        filters.has_attachment = filters.has_attachment or has_attachment
        order = search.Sort(
            vocab.one_of("--sort", sort, vocab.SORT_KEYS)
            if sort
            else ("newest" if ctx.info_name == "list" else "relevance")
        )
    table = fmt is OutputFormat.table and sys.stdout.isatty()
    marks = search.Marks("\ue000", "\ue001") if table else search.Marks()
    with connected(settings) as conn:
        scope = tenants.find_tenant(conn, tenant)
        if count:
            print(search.count_messages(conn, scope, filters))
            return
        result = search.find_messages(
            conn, scope, filters, sort=order, limit=limit, after=after, marks=marks
        )
    _render(result, fmt, snippets=filters.full_text, bold=table)


def _render(
    result: SearchResult, fmt: OutputFormat, *, snippets: bool, bold: bool
) -> None:
    columns = ["key", "date", "direction", "type", "status", "from", "to", "subject"]
    if fmt is OutputFormat.table:
        rows = [_short(r, snippets) for r in result.rows]
        columns = [c for c in columns if c != "to"] + (["snippet"] if snippets else [])
        text = output.rendered(rows, fmt, columns=columns)
        if bold:
            text = text.replace("\ue000", _BOLD).replace("\ue001", _PLAIN)
        sys.stdout.write(text)
    else:
        output.render(
            [_full(r, snippets) for r in result.rows],
            fmt,
            columns=columns + (["rank", "snippet"] if snippets else []),
        )
    if result.ranked_window:
        say(
            f"note: ranked the newest {result.ranked_window:,} matches; there are "
            "more: narrow the query, or --sort newest pages through all of them"
        )
    if result.more and result.rows:
        say(f"more: --after {result.rows[-1].storage_key}")


def _full(r: Found, snippets: bool) -> dict[str, object]:
    row: dict[str, object] = {
        "key": r.storage_key,
        "date": r.date,
        "direction": r.direction,
        "type": r.message_type,
        "status": r.status,
        "from": r.from_email,
        "to": r.to_email,
        "subject": r.subject,
    }
    if snippets:
        row |= {"rank": r.rank, "snippet": r.snippet}
    return row


def _short(r: Found, snippets: bool) -> dict[str, object]:
    row = _full(r, snippets)
    row.pop("to")
    row.pop("rank", None)
    row["key"] = str(row["key"])[:12]
    date = row["date"]
    row["date"] = f"{date:%Y-%m-%d %H:%M}" if date else ""
    row["subject"] = _clip(row["subject"], 50)
    row["from"] = _clip(row["from"], 32)
    if snippets:
        snippet = _clip(row["snippet"], 70)
        if snippet.count("\ue000") > snippet.count("\ue001"):
            snippet += "\ue001"  # a clipped mark is closed
        row["snippet"] = snippet
    return row


def _clip(value: object, width: int) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


class _QueryCommand(TyperCommand):
    """`pmail search -discount`: a word of the query may start with '-' (a negation)."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        takes_value = {
            name: not getattr(p, "is_flag", False) and not getattr(p, "count", False)
            for p in self.get_params(ctx)
            if p.param_type_name == "option"
            for name in (*p.opts, *p.secondary_opts)
        }
        return super().parse_args(ctx, query_words_last(args, takes_value))


def query_words_last(args: list[str], takes_value: dict[str, bool]) -> list[str]:
    """The arguments with the query's words moved after `--`, in their order.

    An argument is an option only when it is one of the command's options exactly
    (`-n 50`, `--limit=50`; `--` ends them); any other argument starting with a
    single '-' (`-discount`, `-"rate card"`) is a word of the query, as after `--`.
    An unknown `--name` stays an option, so a mistyped option is still an error.
    """
    options: list[str] = []
    words: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            words += args[i + 1 :]
            break
        name = arg.split("=", 1)[0] if arg.startswith("--") else arg
        if name in takes_value or arg.startswith("--"):
            options.append(arg)
            if takes_value.get(name) and "=" not in arg and i + 1 < len(args):
                options.append(args[i + 1])
                i += 1
        else:
            words.append(arg)
        i += 1
    return [*options, "--", *words] if words else options


for _name, _help in (("list", LIST_HELP), ("search", SEARCH_HELP)):
    if registers(_name):
        app.command(_name, help=_help, cls=_QueryCommand)(find_cmd)
