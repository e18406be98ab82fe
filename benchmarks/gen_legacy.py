"""Seeded generator of a legacy content database (../shared/LEGACY.md), dirt included.

The old queue handler's three tables, filled the way production filled them:
templated outbound campaign mail (text and HTML, the same deck attached to many
messages), replies and auto-replies pointing at it through parent_message_id, bounces,
and every kind of dirt LEGACY.md lists - message rows without content, content
without message rows, attachments pointing nowhere, sizes that disagree, direction,
status and type spellings, both header layouts, NULL sizes in old rows, duplicate
Message-IDs, keys with `<`, `>`, `@`, `%` and spaces, file names with path
separators. A seed always gives the same rows; `Built` says how many of each kind
were made (the tests' known answers).

    python benchmarks/gen_legacy.py --dsn "host=127.0.0.1 dbname=legacy" --messages 200000
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql

EPOCH = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)

LEGACY_DDL = """
CREATE TABLE {schema}.content_objects (
    storage_key     varchar(500) PRIMARY KEY,
    tenant_id       uuid NOT NULL,
    content_text    text,
    content_html    text,
    headers         jsonb,
    raw_size_bytes  integer,
    created         timestamptz,
    expires         timestamptz,
    retention_days  integer DEFAULT 2555
);
CREATE TABLE {schema}.content_inbox_message_refs (
    storage_key       varchar(500) PRIMARY KEY,
    tenant_id         uuid NOT NULL,
    email_account_id  uuid,
    campaign_id       uuid,
    lead_id           uuid,
    parent_message_id text,
    direction         varchar(20),
    message_type      varchar(20),
    from_email        varchar,
    subject           varchar,
    to_email          text,
    status            varchar(50),
    processed         timestamptz,
    created           timestamptz,
    updated           timestamptz
);
CREATE TABLE {schema}.attachments (
    id                  bigserial PRIMARY KEY,
    parent_storage_key  varchar(500),
    filename            text,
    mime_type           text,
    size_bytes          integer,
    content             bytea,
    storage_disposition text
);
"""

FIRST = [
    "Ann",
    "Bob",
    "Carla",
    "Dev",
    "Eva",
    "Farid",
    "Gina",
    "Hugo",
    "Ines",
    "Jon",
    "Kira",
    "Liam",
    "Mona",
    "Nils",
    "Oona",
]
LAST = [
    "Stone",
    "Park",
    "Rossi",
    "Khan",
    "Novak",
    "Berg",
    "Silva",
    "Moreau",
    "Tanaka",
    "Weber",
    "Costa",
    "Ruiz",
]
COMPANIES = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vehement",
    "Stark",
    "Wayne",
    "Wonka",
    "Tyrell",
]
TOPICS = (
    "pipeline reviews",
    "outbound hiring",
    "deliverability",
    "renewal forecasts",
    "SDR ramp time",
)


@dataclass(slots=True)
class Built:
    """How many rows of each kind were made (before any migration)."""

    refs: int = 0
    content: int = 0
    attachments: int = 0
    attachment_bytes: int = 0
    tenants: int = 0
    dirt: Counter[str] = field(default_factory=Counter)


@dataclass(slots=True)
class _Tenant:
    tenant_id: uuid.UUID
    accounts: list[tuple[uuid.UUID, str]]
    campaigns: list[uuid.UUID]
    decks: list[bytes]
    sent: list[tuple[str, str, uuid.UUID | None, uuid.UUID | None]] = field(
        default_factory=list
    )


def _deck(rng: random.Random, size: int) -> bytes:
    head = b"%PDF-1.4\n% pmail legacy deck\n"
    return head + bytes(rng.getrandbits(8) for _ in range(size - len(head)))


def _message_id(rng: random.Random, n: int, domain: str) -> str:
    return f"<{n:08d}.{rng.getrandbits(40):010x}@{domain}>"


def _key(rng: random.Random, message_id: str, at: datetime, dirty: bool) -> str:
    mid = message_id if rng.random() < 0.7 else message_id.strip("<>")
    if dirty:
        mid = mid.replace("@", " @%20", 1)  # spaces and % in the Message-ID part
    return f"email_{mid}_{int(at.timestamp() * 1000)}"


def _bodies(
    rng: random.Random, lead: str, company: str, sender: str, topic: str
) -> tuple[str, str]:
    text = (
        f"Hi {lead},\n\nI noticed {company} is growing its team around {topic}. "
        "We help revenue teams book more meetings with less manual work: automated "
        "follow-ups, inbox rotation and deliverability monitoring in one place.\n\n"
        "Would a 15 minute call next week make sense?\n\n"
        f"Best,\n{sender}\nAcme Outreach\n"
        f"Unsubscribe: https://acme.example/u/{rng.getrandbits(48):012x}\n"
    )
    html = (
        "<html><body><p>"
        + text.replace("\n\n", "</p><p>").replace("\n", "<br>")
        + '</p><img src="https://t.acme.example/o/'
        + f'{rng.getrandbits(48):012x}.png" width="1" height="1"></body></html>'
    )
    return text, html


def _headers(pairs: list[tuple[str, str]], rng: random.Random, old: bool) -> object:
    if old:  # rows written by an older handler: an array of pairs
        return [[k, v] for k, v in pairs]
    return {k: v for k, v in pairs}


def build(
    conn: psycopg.Connection,
    *,
    schema: str = "public",
    messages: int = 2000,
    tenants: int = 3,
    seed: int = 1,
    dirt: bool = True,
) -> Built:
    """Create the legacy tables in `schema` and fill them; return what was made."""
    rng = random.Random(seed)
    built = Built(tenants=tenants)
    conn.execute(sql.SQL(LEGACY_DDL).format(schema=sql.Identifier(schema)))
    world = [_tenant(rng, t) for t in range(tenants)]
    refs: list[tuple[object, ...]] = []
    content: list[tuple[object, ...]] = []
    files: list[tuple[object, ...]] = []
    for n in range(messages):
        tenant = world[n % tenants]
        at = EPOCH + timedelta(minutes=7 * n + rng.randint(0, 5))
        kind = _kind(rng, tenant)
        _one(rng, n, kind, tenant, at, dirt, refs, content, files, built)
    if dirt:
        _extra_dirt(rng, world, refs, content, files, built)
    with conn.cursor() as cur:
        for table, rows, columns in (
            ("content_inbox_message_refs", refs, REF_COLUMNS),
            ("content_objects", content, CONTENT_COLUMNS),
            ("attachments", files, FILE_COLUMNS),
        ):
            statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(schema, table),
                sql.SQL(", ").join(map(sql.Identifier, columns)),
            )
            with cur.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
    conn.commit()
    built.refs, built.content, built.attachments = len(refs), len(content), len(files)
    built.attachment_bytes = sum(
        len(bytes(f[3])) for f in files if isinstance(f[3], bytes)
    )
    return built


REF_COLUMNS = (
    "storage_key", "tenant_id", "email_account_id", "campaign_id", "lead_id",
    "parent_message_id", "direction", "message_type", "from_email", "subject",
    "to_email", "status", "processed", "created", "updated",
)  # fmt: skip
CONTENT_COLUMNS = (
    "storage_key", "tenant_id", "content_text", "content_html", "headers",
    "raw_size_bytes", "created", "expires", "retention_days",
)  # fmt: skip
FILE_COLUMNS = (
    "parent_storage_key", "filename", "mime_type", "content", "size_bytes",
    "storage_disposition",
)  # fmt: skip


def _tenant(rng: random.Random, index: int) -> _Tenant:
    accounts = [
        (uuid.UUID(int=rng.getrandbits(128)), f"sdr{a}@t{index}.acme.example")
        for a in range(3)
    ]
    campaigns = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(4)]
    decks = [_deck(rng, 30_000 + 5_000 * d) for d in range(2)]
    return _Tenant(uuid.UUID(int=rng.getrandbits(128)), accounts, campaigns, decks)


def _kind(rng: random.Random, tenant: _Tenant) -> str:
    roll = rng.random()
    if not tenant.sent or roll < 0.6:
        return "outbound"
    if roll < 0.8:
        return "reply"
    if roll < 0.9:
        return "bounce"
    return "auto_reply"


def _one(
    rng: random.Random,
    n: int,
    kind: str,
    tenant: _Tenant,
    at: datetime,
    dirt: bool,
    refs: list[tuple[object, ...]],
    content: list[tuple[object, ...]],
    files: list[tuple[object, ...]],
    built: Built,
) -> None:
    lead = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    company = rng.choice(COMPANIES)
    lead_email = f"{lead.split()[0].lower()}.{n}@{company.lower()}.example"
    account, sender = rng.choice(tenant.accounts)
    domain = sender.split("@")[1]
    old = rng.random() < 0.2  # an older handler's row
    message_id = _message_id(rng, n, domain if kind == "outbound" else "mx.example")
    key_dirty = dirt and rng.random() < 0.03
    key = _key(rng, message_id, at, key_dirty)
    if key_dirty:
        built.dirt["odd_key"] += 1
    direction, status, mtype = "outbound", "sent", "email"
    parent: str | None = None
    campaign: uuid.UUID | None = rng.choice(tenant.campaigns)
    lead_id: uuid.UUID | None = uuid.UUID(int=rng.getrandbits(128))
    if kind == "outbound":
        subject = f"Quick question about {rng.choice(TOPICS)}, {lead.split()[0]}"
        text, html = _bodies(rng, lead.split()[0], company, sender, rng.choice(TOPICS))
        frm, to = sender, f"{lead} <{lead_email}>"
        status = rng.choice(["sent", "delivered", "delivered", "opened"])
        tenant.sent.append((message_id, lead_email, campaign, lead_id))
    else:
        parent_id, parent_to, campaign, lead_id = rng.choice(tenant.sent)
        direction, frm, to = "inbound", parent_to, sender
        parent = parent_id if rng.random() < 0.6 else parent_id.strip("<>")
        status = "received"
        if kind == "reply":
            subject = "Re: quick question"
            text = f"Thanks - happy to talk Tuesday.\n\n> original message\n{parent_to}"
            html = None
        elif kind == "bounce":
            mtype, frm = "bounce", "MAILER-DAEMON@mx.example"
            subject = "Undelivered Mail Returned to Sender"
            text = (
                "This is the mail system at host mx.example.\n\nI'm sorry to have to "
                "inform you that your message could not be delivered to one or more "
                f"recipients.\n\n<{parent_to}>: host mx.example said: 550 5.1.1 "
                f"<{parent_to}>: Recipient address rejected: User unknown\n"
            )
            html = None
        else:
            mtype, subject = "auto_reply", "Out of Office: quick question"
            text = "I am out of the office until Monday with limited access to email."
            html = None
        campaign = campaign if rng.random() < 0.5 else None  # linking fills it in
        lead_id = None
    spelled = _dirty_values(rng, direction, status, mtype, dirt, built)
    pairs = [
        ("from", frm),
        ("to", to),
        ("subject", subject),
        ("date", at.strftime("%a, %d %b %Y %H:%M:%S +0000")),
        ("message-id", message_id),
        ("mime-version", "1.0"),
        ("x-mailer", "queue-handler/2.3"),
    ]
    if parent:
        pairs.append(
            ("in-reply-to", parent if parent.startswith("<") else f"<{parent}>")
        )
    if kind == "auto_reply":
        pairs.append(("auto-submitted", "auto-replied"))
    if html and rng.random() < 0.1:
        text = html  # HTML-only mail: the old handler put the HTML in content_text too
    size = len(text) + len(html or "") + 600
    ref_missing_content = dirt and rng.random() < 0.02
    account_id = account if direction == "outbound" else rng.choice([account, None])
    refs.append(
        (
            key, tenant.tenant_id, account_id, campaign, lead_id, parent, spelled[0],
            spelled[2], frm, subject, to, spelled[1], at, at,
            at + timedelta(hours=rng.randint(0, 48)),
        )
    )  # fmt: skip
    if ref_missing_content:
        built.dirt["ref_without_content"] += 1
        if rng.random() < 0.5:
            files.append(
                (
                    key,
                    "stray.txt",
                    "text/plain",
                    b"a file of a message without content",
                    34,
                    "attachment",
                )
            )
            built.dirt["orphan_attachment"] += 1
        return
    content.append(
        (
            key, tenant.tenant_id, text, html, json.dumps(_headers(pairs, rng, old)),
            None if old else size, at, None, None if rng.random() < 0.5 else 2555,
        )
    )  # fmt: skip
    if kind == "outbound" and rng.random() < 0.25:
        deck = rng.choice(tenant.decks)
        name = rng.choice(
            ["Acme deck.pdf", "decks/Acme deck.pdf", None, "../Acme deck.pdf"]
        )
        size_bytes = len(deck) if not (dirt and rng.random() < 0.05) else len(deck) + 17
        if size_bytes != len(deck):
            built.dirt["attachment_size_mismatch"] += 1
        files.append((key, name, "application/pdf", deck, size_bytes, "attachment"))
    if kind == "outbound" and rng.random() < 0.03:
        unique = bytes(rng.getrandbits(8) for _ in range(2_000))
        files.append((key, "notes.bin", None, unique, len(unique), "inline"))


def _dirty_values(
    rng: random.Random,
    direction: str,
    status: str,
    mtype: str,
    dirt: bool,
    built: Built,
) -> tuple[str | None, str | None, str | None]:
    """The spellings production rows have: INBOUND, in, out, NULL, unknown words."""
    if not dirt:
        return direction, status, mtype
    spellings = {
        "upper": direction.upper(),
        "short": "in" if direction == "inbound" else "out",
        "null": None,
        "unknown": "sideways",
    }
    roll = rng.random()
    pick = (
        "upper" if roll < 0.05 else "short" if roll < 0.08 else
        "null" if roll < 0.09 else "unknown" if roll < 0.095 else None
    )  # fmt: skip
    if pick in ("null", "unknown"):
        built.dirt["unknown_direction"] += 1
    out_dir = spellings[pick] if pick else direction
    roll = rng.random()
    out_status: str | None = status
    if roll < 0.02:
        out_status = None
        built.dirt["missing_status"] += 1
    elif roll < 0.05:
        out_status = status.capitalize() + " "
    roll = rng.random()
    out_type: str | None = mtype
    if roll < 0.05:
        out_type = None
    elif roll < 0.07:
        out_type = mtype.upper()
    elif roll < 0.075:
        out_type = "newsletter"
        built.dirt["unknown_message_type"] += 1
    return out_dir, out_status, out_type


def _extra_dirt(
    rng: random.Random,
    world: list[_Tenant],
    refs: list[tuple[object, ...]],
    content: list[tuple[object, ...]],
    files: list[tuple[object, ...]],
    built: Built,
) -> None:
    """Content without message rows, files pointing nowhere, a duplicate Message-ID."""
    tenant = world[0]
    for i in range(max(3, len(refs) // 200)):
        at = EPOCH - timedelta(days=1, minutes=i)
        mid = _message_id(rng, 10_000_000 + i, "lost.example")
        key = f"email_{mid}_{int(at.timestamp() * 1000)}"
        pairs = {"from": "someone@lost.example", "to": tenant.accounts[0][1],
                 "subject": f"lost {i}", "message-id": mid}  # fmt: skip
        content.append(
            (
                key,
                tenant.tenant_id,
                f"orphan body {i}",
                None,
                json.dumps(pairs),
                200,
                at,
                None,
                2555,
            )
        )
        built.dirt["content_without_ref"] += 1
    for i in range(max(2, len(refs) // 500)):
        files.append(
            (
                f"email_<nowhere-{i}@x>_1",
                f"gone-{i}.pdf",
                "application/pdf",
                b"%PDF-1.4 gone " + bytes([i % 256]),
                16,
                "attachment",
            )
        )
        built.dirt["orphan_attachment"] += 1
    for i, row in enumerate(content):  # one content row filed under another tenant
        if (
            len(world) > 1
            and row[1] == world[0].tenant_id
            and row[0] in {r[0] for r in refs[:50]}
        ):
            content[i] = (row[0], world[1].tenant_id, *row[2:])
            built.dirt["tenant_mismatch"] += 1
            break
    first = refs[0]
    twin_key = f"email_<twin-{first[0]}>_2"
    refs.append((twin_key, *first[1:]))  # same values: a duplicate Message-ID later
    content.append(
        (
            twin_key,
            first[1],
            "twin body",
            None,
            json.dumps({"message-id": "<dup@twin.example>"}),
            100,
            EPOCH,
            None,
            2555,
        )
    )
    content.append(
        (
            f"{twin_key}-2",
            first[1],
            "twin body 2",
            None,
            json.dumps({"message-id": "<dup@twin.example>"}),
            100,
            EPOCH,
            None,
            2555,
        )
    )
    built.dirt["content_without_ref"] += 1
    built.dirt["duplicate_message_id"] += 2


def main(argv: list[str] | None = None) -> int:
    """Build a legacy database from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--schema", default="public")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--tenants", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--clean", action="store_true", help="no dirt")
    args = parser.parse_args(argv)
    with psycopg.connect(args.dsn) as conn:
        built = build(
            conn,
            schema=args.schema,
            messages=args.messages,
            tenants=args.tenants,
            seed=args.seed,
            dirt=not args.clean,
        )
    print(json.dumps({"refs": built.refs, "content": built.content,
                      "attachments": built.attachments, "dirt": built.dirt}))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
