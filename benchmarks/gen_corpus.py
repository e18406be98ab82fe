"""Seeded generator of realistic cold-email traffic for pmail's benchmarks.

The corpus imitates one tenant's mailboxes: templated, personalised campaign mail
sent by a handful of SDRs (some with a shared PDF or PNG attached), replies that
quote it, out-of-office auto-replies, DSN bounces that return the original, and a
tenth of unrelated one-off mail. Everything derives from ``random.Random`` seeded
with the caller's seed and a fixed epoch, so a seed always gives the same bytes.

Usable as a module (:func:`generate`) or a script::

    python benchmarks/gen_corpus.py OUT_DIR --messages 20000 --seed 1
"""

from __future__ import annotations

import argparse
import base64
import binascii
import html
import random
import struct
import sys
import time
import unicodedata
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

EPOCH = datetime(2024, 3, 4, 8, 0, tzinfo=UTC)
MESSAGES_PER_DIR = 1000
SECONDS_PER_MESSAGE = 90
KIND_SHARES = {"reply": 0.15, "auto_reply": 0.07, "bounce": 0.08, "plain": 0.10}
ATTACHMENT_SHARE = 0.15  # of outbound messages
LF_ONLY_SHARE = 0.03
KINDS = ("outbound", "reply", "auto_reply", "bounce", "plain")


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_LONG_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct")
_LONG_MONTHS = ("January", "February", "March", "April", "May", "June", "July")

FIRST_NAMES = _words(
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William "
    "Barbara Richard Susan Joseph Jessica Thomas Sarah Chris Karen Daniel Lisa "
    "Matthew Nancy Anthony Priya Wei Aisha Carlos Sofia Lukas Emma Noah Olivia Liam "
    "Ava Mateo Chloé José Zoë Björn Søren Ana Hiroshi Fatima Omar Elena Ivan Grace "
    "Kevin Rachel Ben Hannah Raj Mei Diego Ingrid Tariq Nora"
)
LAST_NAMES = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez "
    "Hernandez Lopez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Thompson "
    "White Harris Clark Lewis Walker Hall Young King Wright Scott Green Baker Adams "
    "Nelson Müller Schmidt Nguyen Kim Patel Shah O'Brien Kowalski Rossi Dubois "
    "Jansen Novak Sato Tanaka Haddad Costa Silva Eriksson Lindqvist Murphy Kelly"
)
COMPANY_HEADS = _words(
    "North Blue Bright Iron Summit Cedar Harbor Pioneer Vertex Granite Silver Atlas "
    "Nimbus Quantum Redwood Lumen Keystone Evergreen Beacon Crescent"
)
COMPANY_TAILS = _words(
    "Logistics Analytics Health Foods Robotics Capital Software Freight Labs Energy "
    "Retail Security Media Dental Solar Systems"
)
TLDS = (".com", ".com", ".com", ".io", ".co", ".net", ".de", ".co.uk")
INDUSTRIES = (
    "logistics",
    "e-commerce",
    "healthcare",
    "manufacturing",
    "fintech",
    "SaaS",
    "retail",
    "construction",
)
CITIES = (
    "Austin",
    "Chicago",
    "Denver",
    "Toronto",
    "London",
    "Berlin",
    "Amsterdam",
    "Atlanta",
    "Seattle",
    "Dublin",
)
ROLES = (
    "VP of Operations",
    "Head of Sales",
    "RevOps Manager",
    "CTO",
    "Director of Marketing",
    "COO",
    "Head of Growth",
    "Founder & CEO",
)
SDRS = (
    ("Dana Whitfield", "dana", "Account Executive"),
    ("Marcus Lee", "marcus.lee", "Sales Development Rep"),
    ("Priya Raman", "priya", "Senior SDR"),
    ("Tom Okafor", "tom.okafor", "Sales Development Rep"),
    ("Julia Berg", "julia.berg", "Partnerships Lead"),
)
# Campaigns: (name, [(subject, [paragraph, ...]), ...]). Placeholders are filled
# per lead; {personal} is one or two personalised sentences.
CAMPAIGNS: tuple[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], ...] = (
    (
        "Q2 logistics visibility",
        (
            (
                "{company} + {tenant}: quick question",
                (
                    "{personal}",
                    "We help {industry} teams like {company} cut late shipments by "
                    "giving dispatchers one live view of every load, carrier and dock. "
                    "Teams similar to yours trimmed detention fees by 18% in their "
                    "first quarter.",
                    "Would a 15-minute call next {weekday} be worth it to see whether "
                    "the same applies to {company}? Two-minute overview: {link1}",
                ),
            ),
            (
                "Detention fees at {company}?",
                (
                    "{personal}",
                    "Most {role}s I speak with in {city} tell me detention and "
                    "re-delivery fees quietly eat 3-5% of freight spend. {tenant} "
                    "flags at-risk loads hours before they miss a window.",
                    "Open to a short look? You can grab a slot here: {link1}",
                ),
            ),
        ),
    ),
    (
        "RevOps pipeline hygiene",
        (
            (
                "Idea for {company}'s sales team",
                (
                    "{personal}",
                    "Quick idea: most RevOps teams lose a day a week cleaning CRM data "
                    "by hand. {tenant} de-duplicates accounts, enriches contacts and "
                    "routes leads automatically, so reps spend time selling.",
                    "Here is a short case study from a {industry} company about your "
                    "size: {link1}",
                    "Worth a conversation, {first}?",
                ),
            ),
            (
                "{first}, CRM clean-up",
                (
                    "{personal}",
                    "Teams at companies like {company} usually find 20-30% duplicate "
                    "accounts the first time they run our audit. It takes ten minutes "
                    "and the report is yours to keep: {link1}",
                    "Happy to walk you through the results: {link2}",
                ),
            ),
            (
                "Pipeline reviews at {company}",
                (
                    "{personal}",
                    "If pipeline reviews at {company} still start with twenty minutes "
                    "of 'which number is right', we can help. {tenant} keeps one "
                    "source of truth across CRM, billing and product usage.",
                    "Could I show you how in 20 minutes? {link1}",
                ),
            ),
        ),
    ),
    (
        "Security compliance SOC 2",
        (
            (
                "SOC 2 in 90 days for {company}",
                (
                    "{personal}",
                    "Enterprise buyers keep asking {industry} vendors for SOC 2 before "
                    "they sign. {tenant} automates evidence collection and policy work "
                    "so a small team can get audit-ready in about 90 days.",
                    "I attached a one-page overview. Is this on your roadmap this "
                    "year? More here: {link1}",
                ),
            ),
        ),
    ),
    (
        "Dental practice growth",
        (
            (
                "More booked appointments for {company}",
                (
                    "{personal}",
                    "We help practices fill last-minute cancellations with automated "
                    "waitlist texts. Clinics in {city} recovered 11 appointments a "
                    "week on average.",
                    "Would you like to see how it would look for {company}? {link1}",
                ),
            ),
            (
                "{first} - empty chairs on Mondays?",
                (
                    "{personal}",
                    "Mondays are the worst day for no-shows in most practices. "
                    "{tenant} texts your waitlist the moment a slot opens.",
                    "Here is a 90-second demo: {link1}",
                    "If it is not a fit, just let me know and I will not follow up.",
                ),
            ),
        ),
    ),
    (
        "Solar for warehouses",
        (
            (
                "{company}'s roof could pay for itself",
                (
                    "{personal}",
                    "Warehouses in {city} with flat roofs are seeing payback in under "
                    "six years with today's incentives. We handle design, permits and "
                    "financing end to end.",
                    "I ran a rough estimate for your site; want me to send it over? "
                    "{link1}",
                ),
            ),
        ),
    ),
    (
        "Hiring platform launch",
        (
            (
                "Hiring {role}s in {city}?",
                (
                    "{personal}",
                    "{tenant} shortlists pre-vetted candidates within 48 hours, and "
                    "you only pay when someone starts.",
                    "Here is what we did for a {industry} team last month: {link1}",
                ),
            ),
            (
                "Re: open roles at {company}",
                (
                    "{personal}",
                    "Saw the open roles on your careers page. We placed four engineers "
                    "at similar {industry} companies this quarter, median time to "
                    "offer 19 days.",
                    "Worth a quick chat? {link1}",
                ),
            ),
        ),
    ),
)
PERSONAL = (
    "Congrats on the new office in {city}, {first}.",
    "Saw {company} is hiring in {city}. Usually that means growth is on the agenda.",
    "I enjoyed your recent post about scaling {industry} operations.",
    "Noticed {company} was mentioned in the {city} Business Journal last week.",
    "I came across {company} while researching {industry} leaders in {city}.",
    "Your talk on team structure at the {industry} summit was spot on.",
    "Looks like {company} just expanded into a second region. Exciting times.",
    "As a {role}, you are probably juggling a lot this quarter.",
    "{company}'s recent funding announcement caught my eye. Congratulations!",
)
FOLLOW_UPS = (
    "Hi {first}, just bumping this to the top of your inbox in case it got buried.",
    "{first}, following up on my note below. Any thoughts?",
    "Hi {first}, I know things get busy. Is this worth a quick conversation?",
    "Last note from me on this one, {first}. Should I close the loop?",
)
REPLIES = (
    "Thanks for reaching out. We are actually looking at this right now. Could you "
    "send over pricing and a couple of references?",
    "Not interested, please remove me from your list.",
    "Hi {sender_first}, timing is not great this quarter. Can you circle back in "
    "{month}?",
    "I'm not the right person for this. You should talk to my colleague {other} "
    "({other_email}), she runs that team.",
    "Sure, let's talk. Does {weekday} at 10am {tz} work? Send an invite.",
    "We already use a competitor and are under contract until next year.",
    "Interesting. How is this different from what we can do with our current CRM?",
    "Please send more information by email first; I don't take cold calls.",
    "Unsubscribe.",
    "Happy to chat, {sender_first}. I'm free most afternoons next week. "
    "Looping in {other} who owns the budget.",
)
OOO_BODIES = (
    "Thank you for your email. I am out of the office{until} with limited access to "
    "email. For urgent matters please contact {other} at {other_email}.",
    "I'm currently travelling{until} and will respond as soon as possible after my "
    "return.",
    "Hi, I'm on parental leave{until}. Your message will not be forwarded. Please "
    "reach out to {other_email} if it is urgent.",
    "I am attending a conference this week and will reply when I am back{until}.",
)
WORDS = _words(
    "the a to of and in for on with platform growth revenue team customers data "
    "pipeline market strategy report quarter launch product update trends sales "
    "leaders playbook insights teams operations cost analysis budget forecast "
    "hiring benchmark conversion pricing retention churn outbound inbound demand "
    "partner webinar feature release roadmap survey results companies tools"
)


@dataclass(frozen=True, slots=True)
class GeneratedCorpus:
    """What :func:`generate` wrote: file paths in order, counts and byte totals."""

    out_dir: Path
    paths: tuple[Path, ...]
    sizes: tuple[int, ...]
    counts: dict[str, int]
    with_attachments: int
    lf_only: int
    total_bytes: int


@dataclass(frozen=True, slots=True)
class _Lead:
    id: str
    first: str
    last: str
    email: str
    company: str
    domain: str
    industry: str
    city: str
    role: str


@dataclass(frozen=True, slots=True)
class _Asset:
    filename: str
    mime: str
    b64: str  # base64 body, 76-column lines, LF line ends


@dataclass(frozen=True, slots=True)
class _Sent:
    """What inbound messages need to know about an outbound message."""

    index: int
    message_id: str
    subject: str
    lead: int
    sdr: int
    date: datetime
    attached: bool


@dataclass(frozen=True, slots=True)
class _Rendered:
    text: str  # headers and body with LF line ends
    body_text: str
    body_html: str
    sent: _Sent


class _World:
    """The fixed cast of a corpus: tenant, SDRs, campaigns, leads and assets."""

    def __init__(self, seed: int, tenant_domain: str, leads: int) -> None:
        rng = random.Random(f"pmail-corpus/{seed}/world")
        self.seed = seed
        self.domain = tenant_domain
        self.tenant = tenant_domain.split(".")[0].capitalize()
        self.tracking = f"trk.{tenant_domain}"
        self.campaign_ids = [_uuid(rng) for _ in CAMPAIGNS]
        self.campaign_assets = [rng.randrange(4) for _ in CAMPAIGNS]
        self.leads = [_make_lead(rng) for _ in range(leads)]
        self.sent: list[_Sent] = []
        self.assets = _make_assets(rng, self.tenant)

    def render_outbound(self, index: int, *, attach: bool) -> _Rendered:
        """Render outbound message `index`; calling it again gives the same text."""
        return _outbound(self, random.Random(f"{self.seed}/{index}/out"), index, attach)


def generate(
    out_dir: Path, *, messages: int, seed: int = 1, tenant_domain: str = "acme.test"
) -> GeneratedCorpus:
    """Write `messages` .eml files under `out_dir`; one seed always gives one corpus."""
    if messages < 1:
        raise ValueError("messages must be at least 1")
    plan = random.Random(f"pmail-corpus/{seed}/plan")
    kinds = _plan_kinds(plan, messages)
    outbound_total = kinds.count("outbound")
    attached = set(
        plan.sample(range(outbound_total), round(outbound_total * ATTACHMENT_SHARE))
    )
    world = _World(seed, tenant_domain, max(20, int(outbound_total * 0.7)))
    paths: list[Path] = []
    sizes: list[int] = []
    lf_only = 0
    for index, kind in enumerate(kinds):
        text = _render(world, plan, index, kind, attach=len(world.sent) in attached)
        if plan.random() < LF_ONLY_SHARE:
            data = text.encode("utf-8")
            lf_only += 1
        else:
            data = text.replace("\n", "\r\n").encode("utf-8")
        path = out_dir / f"{index // MESSAGES_PER_DIR:04d}" / f"{index:07d}.eml"
        if index % MESSAGES_PER_DIR == 0:
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        paths.append(path)
        sizes.append(len(data))
    return GeneratedCorpus(
        out_dir=out_dir,
        paths=tuple(paths),
        sizes=tuple(sizes),
        counts={kind: kinds.count(kind) for kind in KINDS},
        with_attachments=len(attached),
        lf_only=lf_only,
        total_bytes=sum(sizes),
    )


def _plan_kinds(rng: random.Random, messages: int) -> list[str]:
    """Exact shares of each kind in a shuffled order that starts with outbound."""
    kinds: list[str] = []
    for kind, share in KIND_SHARES.items():
        kinds += [kind] * round(messages * share)
    kinds = kinds[: max(0, messages - 1)]
    kinds += ["outbound"] * (messages - len(kinds))
    rng.shuffle(kinds)
    first = kinds.index("outbound")
    kinds[0], kinds[first] = kinds[first], kinds[0]
    return kinds


def _render(
    world: _World, plan: random.Random, index: int, kind: str, *, attach: bool
) -> str:
    """Render message `index` of `kind` as text with LF line ends."""
    rng = random.Random(f"{world.seed}/{index}/{kind}")
    if kind == "outbound":
        rendered = world.render_outbound(index, attach=attach)
        world.sent.append(rendered.sent)
        return rendered.text
    if kind == "plain":
        return _plain(world, rng, index)
    parent = world.sent[plan.randrange(len(world.sent))]
    if kind == "reply":
        return _reply(world, rng, parent)
    if kind == "auto_reply":
        return _auto_reply(world, rng, parent)
    return _bounce(world, rng, parent)


# --- outbound campaign mail -------------------------------------------------


def _outbound(world: _World, rng: random.Random, index: int, attach: bool) -> _Rendered:
    campaign = rng.randrange(len(CAMPAIGNS))
    name, variants = CAMPAIGNS[campaign]
    subject_t, paragraphs = variants[rng.randrange(len(variants))]
    # Each campaign works its own slice of the lead list.
    lead_no = rng.randrange(campaign, len(world.leads), len(CAMPAIGNS))
    lead = world.leads[lead_no]
    sdr_no = (campaign + rng.randrange(2)) % len(SDRS)
    sdr_name, sdr_local, sdr_title = SDRS[sdr_no]
    sdr_email = f"{sdr_local}@{world.domain}"
    step = rng.choices((1, 2, 3), (60, 25, 15))[0]
    date = EPOCH + timedelta(seconds=index * SECONDS_PER_MESSAGE + rng.randrange(90))
    token = _token(rng, 18)
    message_id = (
        f"<pm.{_hex(rng, 12)}.{index}@{world.domain}>"
        if rng.random() < 0.7
        else f"<CA{_token(rng, 36)}@mail.gmail.com>"
    )
    links = {f"link{n}": f"https://{world.tracking}/c/{token}/{n}" for n in (1, 2)}
    unsub = f"https://{world.tracking}/u/{token}"
    values = _lead_values(world, rng, lead, sdr_name)
    values["personal"] = " ".join(
        rng.sample(PERSONAL, rng.choice((1, 1, 2)))
    ).format_map(values)
    subject = subject_t.format_map(values)
    body = [p.format_map(values | links) for p in paragraphs]
    if step > 1:
        subject = "Re: " + subject
        body.insert(0, rng.choice(FOLLOW_UPS).format_map(values))
    signature = [
        sdr_name,
        f"{sdr_title}, {world.tenant}",
        f"+1 (415) 555-{rng.randrange(100, 10000):04d}",
        f"https://www.{world.domain}",
    ]
    footer = (
        f"{world.tenant} Inc., 548 Market St #{rng.randrange(100, 99999)}, San "
        f"Francisco, CA 94104. Not interested? Unsubscribe: {unsub}"
    )
    text = "\n\n".join([f"Hi {lead.first},", *body, "Best,\n" + "\n".join(signature)])
    text += "\n\n--\n" + footer + "\n"
    inner = _outbound_html(lead.first, body, signature, footer, links, unsub)
    page = (
        '<!DOCTYPE html><html><head><meta http-equiv="Content-Type" '
        'content="text/html; charset=UTF-8"></head><body>\n'
        f'{inner}\n<img src="https://{world.tracking}/o/{token}.gif" width="1" '
        'height="1" alt="" style="display:none">\n</body></html>\n'
    )
    entity = _alternative(rng, text, page)
    if attach:
        asset = world.assets[world.campaign_assets[campaign]]
        entity = _multipart(rng, "mixed", [entity, _attachment(asset)])
    headers = [
        *_received_outbound(rng, date, world.domain, lead.email),
        _dkim(rng, world.domain, date),
        ("MIME-Version", "1.0"),
        ("Date", _rfc2822(date, -480)),
        ("From", _address(sdr_name, sdr_email)),
        ("To", _address(f"{lead.first} {lead.last}", lead.email)),
        ("Message-ID", message_id),
        ("Subject", _encode_header(subject)),
        ("List-Unsubscribe", f"<{unsub}>, <mailto:unsubscribe+{token}@{world.domain}>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ("X-PM-Campaign-Id", world.campaign_ids[campaign]),
        ("X-PM-Lead-Id", lead.id),
        ("X-PM-Sequence-Step", str(step)),
        ("X-Campaign-Name", name),
        ("X-Mailer", "PenguinMails/3.4 (+https://penguinmails.test)"),
    ]
    sent = _Sent(index, message_id, subject, lead_no, sdr_no, date, attach)
    return _Rendered(_headers(headers) + entity, text, inner, sent)


def _outbound_html(
    first: str,
    body: list[str],
    signature: list[str],
    footer: str,
    links: dict[str, str],
    unsub: str,
) -> str:
    paragraphs = [f"<p>Hi {html.escape(first)},</p>"]
    for paragraph in body:
        escaped = html.escape(paragraph)
        for url in links.values():
            anchor = f'<a href="{url}" style="color:#1a73e8">{url}</a>'
            escaped = escaped.replace(url, anchor)
        paragraphs.append(f"<p>{escaped}</p>")
    sig = "<br>".join(html.escape(line) for line in signature)
    foot = html.escape(footer).replace(unsub, f'<a href="{unsub}">{unsub}</a>')
    return (
        '<div style="font-family:Arial,Helvetica,sans-serif;font-size:14px;'
        'color:#222222;line-height:1.5">\n'
        + "\n".join(paragraphs)
        + f'\n<p>Best,<br>\n<span class="sig">{sig}</span></p>\n'
        + f'<p style="font-size:11px;color:#888888">{foot}</p>\n</div>'
    )


def _lead_values(
    world: _World, rng: random.Random, lead: _Lead, sdr_name: str
) -> dict[str, str]:
    return {
        "first": lead.first,
        "last": lead.last,
        "company": lead.company,
        "industry": lead.industry,
        "city": lead.city,
        "role": lead.role,
        "tenant": world.tenant,
        "sender_first": sdr_name.split()[0],
        "weekday": rng.choice(_LONG_DAYS),
        "month": rng.choice(_LONG_MONTHS[3:]),
        "tz": rng.choice(("ET", "PT", "CET", "GMT")),
    }


# --- inbound: replies, auto-replies, bounces --------------------------------


def _reply(world: _World, rng: random.Random, parent: _Sent) -> str:
    lead = world.leads[parent.lead]
    sdr_name, sdr_local, _ = SDRS[parent.sdr]
    sdr_email = f"{sdr_local}@{world.domain}"
    original = world.render_outbound(parent.index, attach=False)
    values = _lead_values(world, rng, lead, sdr_name)
    other = rng.choice(FIRST_NAMES)
    values |= {"other": other, "other_email": f"{_ascii(other)}@{lead.domain}"}
    reply = rng.choice(REPLIES).format_map(values)
    greeting = rng.choice((f"Hi {sdr_name.split()[0]},\n\n", "", "Hello,\n\n"))
    closing = f"\n\n{rng.choice(('Thanks', 'Best', 'Regards', 'Cheers'))},\n"
    own = f"{greeting}{reply}{closing}{lead.first}"
    date = parent.date + timedelta(minutes=rng.randrange(5, 4 * 24 * 60))
    style = rng.choice(("gmail", "outlook", "apple"))
    sender = _address(f"{lead.first} {lead.last}", lead.email)
    when = _rfc2822(parent.date, -480)
    quoted = "\n".join(
        ">" + (" " + ln if ln else "") for ln in original.body_text.split("\n")
    )
    extra: list[tuple[str, str]] = []
    if style == "gmail":
        attr = f"On {when[:16]} at {parent.date:%H:%M}, {sdr_name} <{sdr_email}> wrote:"
        text = f"{own}\n\n{attr}\n\n{quoted}\n"
        page = (
            f'<div dir="ltr">{_paras(own)}</div><br><div class="gmail_quote">'
            f'<div dir="ltr" class="gmail_attr">{html.escape(attr)}<br></div>'
            '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;'
            'border-left:1px solid rgb(204,204,204);padding-left:1ex">\n'
            f"{original.body_html}\n</blockquote></div>\n"
        )
        entity = _alternative(rng, text, page)
        message_id = f"<CA{_token(rng, 40)}@mail.gmail.com>"
    elif style == "outlook":
        block = (
            f"From: {sdr_name} <{sdr_email}>\nSent: {when}\n"
            f"To: {lead.first} {lead.last} <{lead.email}>\nSubject: {parent.subject}"
        )
        rule = "_" * 32
        text = f"{own}\n\n{rule}\n{block}\n\n{original.body_text}"
        page = (
            f'<html><head><meta http-equiv="Content-Type" content="text/html; '
            f'charset=utf-8"></head><body><div style="font-family:Calibri,Arial;'
            f'font-size:11pt">{_paras(own)}</div><div id="appendonsend"></div>'
            '<hr style="display:inline-block;width:98%" tabindex="-1">'
            f'<div id="divRplyFwdMsg" dir="ltr">{_paras(block)}</div>\n'
            f"{original.body_html}\n</body></html>\n"
        )
        entity = _alternative(rng, text, page)
        message_id = (
            f"<{_token(rng, 24).upper()}@{_token(rng, 6).upper()}PR0{rng.randrange(9)}"
            "MB1234.namprd04.prod.outlook.com>"
        )
        extra.append(("Thread-Index", base64.b64encode(rng.randbytes(22)).decode()))
    else:
        text = f"{own}\n\nSent from my iPhone\n\n> On {when[:16]}, {sdr_name} wrote:\n"
        text += f">\n{quoted}\n"
        entity = _leaf("text/plain; charset=utf-8", text, cte="8bit")
        message_id = f"<{_uuid(rng).upper()}@{lead.domain}>"
        extra.append(("X-Mailer", "iPhone Mail (21D61)"))
    headers = [
        *_inbound_trace(rng, date, lead.domain, world.domain, sdr_email),
        ("MIME-Version", "1.0"),
        ("From", sender),
        ("To", _address(sdr_name, sdr_email)),
        ("Subject", _encode_header(_re(parent.subject))),
        ("Date", _rfc2822(date, rng.choice((-300, 0, 60, 120)))),
        ("Message-ID", message_id),
        ("In-Reply-To", parent.message_id),
        ("References", parent.message_id),
        *extra,
    ]
    return _headers(headers) + entity


def _auto_reply(world: _World, rng: random.Random, parent: _Sent) -> str:
    lead = world.leads[parent.lead]
    sdr_name, sdr_local, _ = SDRS[parent.sdr]
    sdr_email = f"{sdr_local}@{world.domain}"
    date = parent.date + timedelta(seconds=rng.randrange(2, 600))
    back = date + timedelta(days=rng.randrange(2, 21))
    until = ""
    if rng.random() < 0.6:
        until = f" until {_LONG_DAYS[back.weekday() % 5]}, {back:%B} {back.day}"
    other = rng.choice(FIRST_NAMES)
    body = rng.choice(OOO_BODIES).format(
        until=until, other=other, other_email=f"{_ascii(other)}@{lead.domain}"
    )
    name = f"{lead.first} {lead.last}"
    text = f"{body}\n\nKind regards,\n{name}\n{lead.role}, {lead.company}\n"
    outlook = rng.random() < 0.55
    if outlook:
        subject = f"Automatic reply: {parent.subject}"
        entity = _alternative(rng, text, f"<html><body>{_paras(text)}</body></html>\n")
        extra = [
            ("X-Auto-Response-Suppress", "All"),
            ("X-MS-Exchange-Inbox-Rules-Loop", lead.email),
        ]
    else:
        subject = rng.choice(("Out of Office", f"Out of office Re: {parent.subject}"))
        entity = _leaf('text/plain; charset="UTF-8"', text, cte="7bit")
        extra = [("Precedence", "bulk"), ("X-Autoreply", "yes")]
    headers = [
        *_inbound_trace(rng, date, lead.domain, world.domain, sdr_email),
        ("MIME-Version", "1.0"),
        ("From", _address(f"{lead.first} {lead.last}", lead.email)),
        ("To", _address(sdr_name, sdr_email)),
        ("Subject", _encode_header(subject)),
        ("Date", _rfc2822(date, 0)),
        ("Message-ID", f"<{_hex(rng, 16)}@{lead.domain}>"),
        ("In-Reply-To", parent.message_id),
        ("References", parent.message_id),
        ("Auto-Submitted", "auto-replied"),
        *extra,
    ]
    return _headers(headers) + entity


_BOUNCE_REASONS = (
    ("5.1.1", "failed", "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown"),
    ("5.7.1", "failed", "550 5.7.1 Message rejected due to local policy (blocked)"),
    ("4.2.2", "delayed", "452 4.2.2 <{rcpt}>: Mailbox full, quota exceeded"),
)


def _bounce(world: _World, rng: random.Random, parent: _Sent) -> str:
    lead = world.leads[parent.lead]
    sdr_name, sdr_local, _ = SDRS[parent.sdr]
    sdr_email = f"{sdr_local}@{world.domain}"
    status, action, diagnostic = rng.choices(_BOUNCE_REASONS, (45, 30, 25))[0]
    if status == "4.2.2" and rng.random() < 0.5:
        action = "failed"
    diagnostic = diagnostic.format(rcpt=lead.email)
    date = parent.date + timedelta(seconds=rng.randrange(3, 7200))
    style = rng.choice(("postfix", "exchange", "gmail"))
    mx = f"mx{rng.randrange(1, 4)}.{lead.domain}"
    original = world.render_outbound(parent.index, attach=parent.attached).text
    if style == "postfix":
        reporter = f"mail.{world.domain}"
        sender = f"MAILER-DAEMON@{reporter} (Mail Delivery System)"
        subject = (
            "Undelivered Mail Returned to Sender"
            if action == "failed"
            else "Delayed Mail (still being retried)"
        )
        human = (
            f"This is the mail system at host {reporter}.\n\nI'm sorry to have to "
            "inform you that your message could not\nbe delivered to one or more "
            "recipients. It's attached below.\n\nFor further assistance, please send "
            "mail to postmaster.\n\n                   The mail system\n\n"
            f"<{lead.email}>: host {mx}[{_ip(rng)}] said: {diagnostic} (in reply\n"
            "    to RCPT TO command)\n"
        )
        first = _leaf(
            "text/plain; charset=us-ascii",
            human,
            extra="Content-Description: Notification",
        )
    else:
        reporter = (
            f"BN{rng.randrange(1, 9)}PR0{rng.randrange(9)}MB{rng.randrange(1000, 9999)}"
            ".namprd04.prod.outlook.com"
            if style == "exchange"
            else "mx.google.com"
        )
        if style == "exchange":
            sender = "Microsoft Outlook <postmaster@outlook.com>"
            subject = f"Undeliverable: {parent.subject}"
            human = (
                f"Your message to {lead.email} couldn't be delivered.\n\n{lead.email}"
                f" wasn't found at {lead.domain}.\n\n{sdr_local}  Office 365  "
                f"{lead.email.split('@')[0]}\nAction Required                 "
                f"Recipient\n\nDiagnostic information for administrators:\n"
                f"Generating server: {reporter}\n{lead.email}\nRemote server "
                f"returned '{diagnostic}'\n"
            )
        else:
            sender = "Mail Delivery Subsystem <mailer-daemon@googlemail.com>"
            subject = "Delivery Status Notification (Failure)"
            human = (
                f"** Address not found **\n\nYour message wasn't delivered to "
                f"{lead.email} because the address couldn't be found, or is unable "
                f"to receive mail.\n\nThe response from the remote server was:\n"
                f"{diagnostic}\n"
            )
        first = _alternative(rng, human, f"<html><body>{_paras(human)}</body></html>\n")
    status_block = (
        f"Reporting-MTA: dns; {reporter}\nArrival-Date: {_rfc2822(parent.date, 0)}\n\n"
        f"Final-Recipient: rfc822; {lead.email}\nOriginal-Recipient: rfc822;"
        f"{lead.email}\nAction: {action}\nStatus: {status}\nRemote-MTA: dns; {mx}\n"
        f"Diagnostic-Code: smtp; {diagnostic}\n"
    )
    if action == "delayed":
        status_block += f"Will-Retry-Until: {_rfc2822(date + timedelta(days=5), 0)}\n"
    report = _leaf("message/delivery-status", status_block)
    if style != "gmail" and rng.random() < 0.35:
        returned = _leaf("text/rfc822-headers", original.split("\n\n", 1)[0] + "\n")
    else:
        returned = _leaf("message/rfc822", original)
    entity = _multipart(
        rng, "report", [first, report, returned], params="; report-type=delivery-status"
    )
    if style == "postfix":  # generated by the tenant's own relay
        stamp = f"id {_hex(rng, 6).upper()}; {_rfc2822(date, 0)}"
        received = [("Received", f"by {reporter} (Postfix)\n        {stamp}")]
    else:
        received = _received_inbound(rng, date, reporter, world.domain, sdr_email)
    headers = [
        *received,
        ("Date", _rfc2822(date, 0)),
        ("From", sender),
        ("To", _address(sdr_name, sdr_email)),
        ("Subject", _encode_header(subject)),
        ("Message-ID", f"<{_hex(rng, 16)}.{rng.randrange(10**6)}@{reporter}>"),
        ("Auto-Submitted", "auto-replied"),
        ("MIME-Version", "1.0"),
    ]
    return _headers(headers) + entity


# --- one-off mail ------------------------------------------------------------


def _plain(world: _World, rng: random.Random, index: int) -> str:
    sdr_name, sdr_local, _ = SDRS[rng.randrange(len(SDRS))]
    sdr_email = f"{sdr_local}@{world.domain}"
    date = EPOCH + timedelta(seconds=index * SECONDS_PER_MESSAGE + rng.randrange(90))
    kinds = ("newsletter", "note", "calendar", "legacy")
    kind = rng.choices(kinds, (40, 35, 15, 10))[0]
    extra: list[tuple[str, str]] = []
    message_id: str | None = f"<{_hex(rng, 20)}@{world.domain}>"
    if kind in ("newsletter", "legacy"):
        if kind == "newsletter":
            sender = rng.choice(("SaaS Weekly", "Growth Digest", "RevOps Insider"))
            origin = sender.lower().replace(" ", "") + ".example"
            subject, entity = _newsletter(rng, sender)
            sender_addr = _address(sender, f"news@{origin}")
            extra = [
                ("List-Unsubscribe", f"<https://{origin}/unsub/{_token(rng, 16)}>"),
                ("List-Id", f"{sender} <news.{origin}>"),
                ("Precedence", "bulk"),
            ]
        else:
            origin = "partenaire-conseil.fr"
            sender_addr = f"=?windows-1252?Q?Ren=E9_Lef=E8vre?= <rene@{origin}>"
            subject, entity = _legacy_charset(rng, sdr_name)
        message_id = f"<{_hex(rng, 20)}@mail.{origin}>"
        received = _inbound_trace(rng, date, origin, world.domain, sdr_email)
    else:
        other_name, other_local, _ = SDRS[rng.randrange(len(SDRS))]
        sender_addr = _address(other_name, f"{other_local}@{world.domain}")
        received = _received_outbound(rng, date, world.domain, sdr_email)
        received.append(_dkim(rng, world.domain, date))
        if kind == "note":
            subject, entity = _note(world, rng, sdr_name)
            if rng.random() < 0.03:
                message_id = None  # some internal tools send without one
        else:
            subject, entity = _calendar(world, rng, date, sdr_name, sdr_email)
    headers = [
        *received,
        ("MIME-Version", "1.0"),
        ("Date", _rfc2822(date, 60)),
        ("From", sender_addr),
        ("To", _address(sdr_name, sdr_email)),
        ("Subject", subject if subject.startswith("=?") else _encode_header(subject)),
    ]
    if message_id:
        headers.append(("Message-ID", message_id))
    return _headers(headers + extra) + entity


def _legacy_charset(rng: random.Random, sdr_name: str) -> tuple[str, str]:
    """A French partner's windows-1252 mail quoting an earlier exchange."""
    subject = "=?windows-1252?Q?Re=3A_Tarifs_2024_=96_r=E9sum=E9?="
    earlier = "\n".join(
        "> " + _sentence(rng, rng.randrange(8, 16)) for _ in range(rng.randrange(4, 20))
    )
    body = (
        f"Bonjour {sdr_name.split()[0]},\n\nVoici le résumé des tarifs : 1 200 € par "
        "mois, engagement de 12 mois – remise de 8 % possible si la signature a lieu "
        "avant la fin du trimestre. N'hésitez pas à me contacter pour toute question."
        "\n\nCordialement,\nRené Lefèvre\nDirecteur commercial\n\n"
        f"Le {rng.randrange(1, 28)} mars 2024, {sdr_name} a écrit :\n{earlier}\n"
    )
    qp = binascii.b2a_qp(body.encode("cp1252")).decode("ascii")
    ctype = 'text/plain; charset="windows-1252"'
    return subject, _leaf(ctype, qp, cte="quoted-printable")


def _newsletter(rng: random.Random, sender: str) -> tuple[str, str]:
    blocks = min(220, int(rng.paretovariate(1.1) * 4))
    titles: list[str] = []
    html_blocks: list[str] = []
    for _ in range(blocks):
        title = _sentence(rng, 5).rstrip(".")
        paragraph = " ".join(_sentence(rng, rng.randrange(8, 20)) for _ in range(4))
        url = f"https://{sender.lower().replace(' ', '')}.example/a/{_token(rng, 9)}"
        titles.append(f"* {title}\n  {url}")
        html_blocks.append(
            '<tr><td style="padding:16px 24px;font-family:Georgia,serif;'
            f'font-size:15px;color:#333333"><h2 style="font-size:20px;margin:0 0 8px">'
            f'{title}</h2><p style="margin:0 0 12px">{paragraph}</p><a href="{url}" '
            'style="color:#0b6bcb;font-weight:bold">Read more &rarr;</a></td></tr>'
        )
    text = f"{sender}: this week's top stories\n\n" + "\n\n".join(titles) + "\n"
    page = (
        '<html><body style="margin:0;background:#f4f4f4"><table width="100%" '
        'cellpadding="0" cellspacing="0" role="presentation" style="max-width:640px;'
        'margin:0 auto;background:#ffffff">\n'
        + "\n".join(html_blocks)
        + "\n</table></body></html>\n"
    )
    subject = f"{sender}: {_sentence(rng, 6).rstrip('.')}"
    return subject, _alternative(rng, text, page)


def _note(world: _World, rng: random.Random, sdr_name: str) -> tuple[str, str]:
    lead = world.leads[rng.randrange(len(world.leads))]
    subject = rng.choice(
        (
            f"{lead.company} follow-up",
            "Pipeline review notes",
            f"Call prep: {lead.company}",
            "Updated sequence copy",
        )
    )
    body = (
        f"Hey {sdr_name.split()[0]},\n\n"
        + "\n\n".join(_sentence(rng, rng.randrange(8, 18)) for _ in range(3))
        + f"\n\nLead: {lead.first} {lead.last} ({lead.email}), {lead.role}\n\n"
        "Thanks!\n"
    )
    entity = _leaf("text/plain; charset=utf-8", body, cte="8bit")
    if rng.random() < 0.2:
        png = world.assets[rng.choice((3, 4))]
        entity = _multipart(rng, "mixed", [entity, _attachment(png)])
    return subject, entity


def _calendar(
    world: _World, rng: random.Random, date: datetime, sdr_name: str, sdr_email: str
) -> tuple[str, str]:
    lead = world.leads[rng.randrange(len(world.leads))]
    start = date + timedelta(days=rng.randrange(1, 10), hours=rng.randrange(1, 6))
    stamp = f"{start:%Y%m%dT%H%M00Z}"
    subject = f"Invitation: {world.tenant} <> {lead.company} @ {start:%a %b %d, %Y}"
    text = (
        f"{lead.first} {lead.last} has booked a 30 minute meeting with {sdr_name}.\n\n"
        f"When: {start:%A, %B %d, %Y %H:%M} UTC\nJoin: https://meet.{world.domain}/"
        f"{_token(rng, 9)}\n"
    )
    ics = (
        "BEGIN:VCALENDAR\nPRODID:-//PenguinMails//Scheduler//EN\nVERSION:2.0\n"
        f"METHOD:REQUEST\nBEGIN:VEVENT\nDTSTART:{stamp}\nDURATION:PT30M\n"
        f"UID:{_uuid(rng)}@{world.domain}\nSUMMARY:{world.tenant} <> {lead.company}\n"
        f"ORGANIZER;CN={sdr_name}:mailto:{sdr_email}\n"
        f"ATTENDEE;CN={_ascii(lead.first)};RSVP=TRUE:mailto:{lead.email}\n"
        "END:VEVENT\nEND:VCALENDAR\n"
    )
    parts = [
        _alternative(rng, text, f"<html><body>{_paras(text)}</body></html>\n"),
        _leaf('text/calendar; charset="UTF-8"; method=REQUEST', ics),
    ]
    return subject, _multipart(rng, "mixed", parts)


# --- MIME assembly -----------------------------------------------------------


def _headers(pairs: Sequence[tuple[str, str]]) -> str:
    return "".join(f"{name}: {value}\n" for name, value in pairs)


def _leaf(ctype: str, body: str, *, cte: str = "7bit", extra: str = "") -> str:
    extra_line = f"{extra}\n" if extra else ""
    return (
        f"Content-Type: {ctype}\nContent-Transfer-Encoding: {cte}\n{extra_line}\n{body}"
    )


def _multipart(
    rng: random.Random, subtype: str, parts: Sequence[str], *, params: str = ""
) -> str:
    boundary = f"----=_Part_{rng.randrange(10**6)}_{_hex(rng, 8)}"
    preamble = "This is a multi-part message in MIME format.\n\n"
    body = "".join(f"--{boundary}\n{part}\n" for part in parts)
    return (
        f'Content-Type: multipart/{subtype}; boundary="{boundary}"{params}\n\n'
        f"{preamble if rng.random() < 0.3 else ''}{body}--{boundary}--\n"
    )


def _alternative(rng: random.Random, text: str, page: str) -> str:
    return _multipart(
        rng,
        "alternative",
        [
            _leaf('text/plain; charset="UTF-8"', _qp(text), cte="quoted-printable"),
            _leaf('text/html; charset="UTF-8"', _qp(page), cte="quoted-printable"),
        ],
    )


def _attachment(asset: _Asset) -> str:
    return _leaf(
        f'{asset.mime}; name="{asset.filename}"',
        asset.b64,
        cte="base64",
        extra=f'Content-Disposition: attachment; filename="{asset.filename}"',
    )


def _qp(text: str) -> str:
    return binascii.b2a_qp(text.encode("utf-8")).decode("ascii")


def _paras(text: str) -> str:
    return "".join(
        "<p>" + html.escape(block).replace("\n", "<br>\n") + "</p>\n"
        for block in text.split("\n\n")
    )


def _encode_header(value: str) -> str:
    if value.isascii():
        return value
    data = base64.b64encode(value.encode("utf-8")).decode("ascii")
    return f"=?UTF-8?B?{data}?="


def _address(name: str, email: str) -> str:
    if name.isascii():
        return f'"{name}" <{email}>' if "'" in name else f"{name} <{email}>"
    return f"{_encode_header(name)} <{email}>"


def _re(subject: str) -> str:
    return subject if subject.startswith("Re: ") else "Re: " + subject


def _rfc2822(moment: datetime, offset_minutes: int) -> str:
    local = moment + timedelta(minutes=offset_minutes)
    sign = "-" if offset_minutes < 0 else "+"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return (
        f"{_DAYS[local.weekday()]}, {local.day:02d} {_MONTHS[local.month - 1]} "
        f"{local.year} {local:%H:%M:%S} {sign}{hours:02d}{minutes:02d}"
    )


def _received_outbound(
    rng: random.Random, date: datetime, domain: str, rcpt: str
) -> list[tuple[str, str]]:
    hop = date + timedelta(seconds=1)
    smtp_id = f"{_token(rng, 9).lower()}.{date:%Y.%m.%d.%H.%M.%S}"
    return [
        (
            "Received",
            f"from mail.{domain} (mail.{domain}. [{_ip(rng)}])\n        by "
            f"smtp-relay.{domain} with ESMTPS id {smtp_id}\n        for <{rcpt}>\n"
            "        (version=TLS1_3 cipher=TLS_AES_256_GCM_SHA384 bits=256/256);\n"
            f"        {_rfc2822(hop, -480)}",
        ),
        (
            "Received",
            f"from [10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}]"
            f" (ip-{_ip(rng).replace('.', '-')}.compute.internal)\n        by mail."
            f"{domain} with ESMTPSA id {_hex(rng, 10)}\n        {_rfc2822(date, -480)}",
        ),
    ]


def _received_inbound(
    rng: random.Random, date: datetime, origin: str, domain: str, rcpt: str
) -> list[tuple[str, str]]:
    hops = []
    names = [
        f"mx.{domain}",
        f"filter{rng.randrange(1, 9)}.{domain}",
        f"edge{rng.randrange(1, 30)}.{origin}",
        f"mail.{origin}",
    ]
    for n in range(rng.randrange(2, 4)):
        when = date + timedelta(seconds=3 - n)
        hops.append(
            (
                "Received",
                f"from {names[n + 1]} ({names[n + 1]} [{_ip(rng)}])\n        by "
                f"{names[n]} (Postfix) with ESMTPS id {_hex(rng, 6).upper()}\n"
                f"        for <{rcpt}>; {_rfc2822(when, 0)}",
            )
        )
    return hops


def _dkim(rng: random.Random, domain: str, date: datetime) -> tuple[str, str]:
    signature = base64.b64encode(rng.randbytes(256)).decode("ascii")
    folded = "\n         ".join(signature[i : i + 68] for i in range(0, 344, 68))
    body_hash = base64.b64encode(rng.randbytes(32)).decode("ascii")
    return (
        "DKIM-Signature",
        f"v=1; a=rsa-sha256; c=relaxed/relaxed;\n        d={domain}; s=pm2024; "
        f"t={int(date.timestamp())};\n        h=from:to:subject:date:message-id:"
        "list-unsubscribe:list-unsubscribe-post:mime-version;\n"
        f"        bh={body_hash};\n        b={folded}",
    )


def _inbound_trace(
    rng: random.Random, date: datetime, origin: str, domain: str, rcpt: str
) -> list[tuple[str, str]]:
    """Received hops, Authentication-Results and the sender's DKIM signature."""
    return [
        *_received_inbound(rng, date, origin, domain, rcpt),
        ("Authentication-Results", _auth_results(rng, domain, origin)),
        _dkim(rng, origin, date - timedelta(seconds=5)),
    ]


def _auth_results(rng: random.Random, domain: str, origin: str) -> str:
    return (
        f"mx.{domain};\n       dkim=pass header.i=@{origin} header.s=selector"
        f"{rng.randrange(1, 3)};\n       spf=pass (mx.{domain}: domain of {origin} "
        f"designates {_ip(rng)} as permitted sender) smtp.mailfrom={origin};\n"
        f"       dmarc=pass (p=NONE sp=NONE dis=NONE) header.from={origin}"
    )


# --- small helpers -----------------------------------------------------------


def _token(rng: random.Random, nbytes: int) -> str:
    return base64.urlsafe_b64encode(rng.randbytes(nbytes)).decode("ascii").rstrip("=")


def _hex(rng: random.Random, nbytes: int) -> str:
    return rng.randbytes(nbytes).hex()


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _ip(rng: random.Random) -> str:
    octets = (rng.randrange(11, 223), rng.randrange(256), rng.randrange(256))
    return ".".join(map(str, octets)) + f".{rng.randrange(1, 255)}"


def _ascii(text: str) -> str:
    folded = text.translate({ord("ø"): "o", ord("ß"): "ss"})
    plain = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode()
    return plain.lower().replace("'", "")


def _sentence(rng: random.Random, words: int) -> str:
    chosen = rng.choices(WORDS, k=words)
    return " ".join(chosen).capitalize() + "."


def _make_lead(rng: random.Random) -> _Lead:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    head, tail = rng.choice(COMPANY_HEADS), rng.choice(COMPANY_TAILS)
    domain = f"{head}{tail}".lower() + rng.choice(TLDS)
    local = rng.choice(
        (
            f"{_ascii(first)}.{_ascii(last)}",
            _ascii(first),
            f"{_ascii(first)[0]}{_ascii(last)}",
        )
    )
    return _Lead(
        id=_uuid(rng),
        first=first,
        last=last,
        email=f"{local}@{domain}",
        company=f"{head} {tail}",
        domain=domain,
        industry=rng.choice(INDUSTRIES),
        city=rng.choice(CITIES),
        role=rng.choice(ROLES),
    )


# --- attachments: minimal valid PDFs and PNGs --------------------------------


def _make_assets(rng: random.Random, tenant: str) -> list[_Asset]:
    files = [
        (f"{tenant}-Case-Study.pdf", "application/pdf", _pdf(rng, 40_000)),
        (f"{tenant}-Product-Overview-2024.pdf", "application/pdf", _pdf(rng, 95_000)),
        (f"{tenant}_SOC2_one_pager.pdf", "application/pdf", _pdf(rng, 145_000)),
        ("roi-chart.png", "image/png", _png(rng, 35_000)),
        ("pipeline-dashboard.png", "image/png", _png(rng, 70_000)),
    ]
    return [
        _Asset(name, mime, base64.encodebytes(data).decode("ascii"))
        for name, mime, data in files
    ]


def _pdf(rng: random.Random, target: int) -> bytes:
    """A small valid PDF: text content streams (compressible) and raw image data."""
    pages = max(1, target // 40_000)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids ["
        + b" ".join(b"%d 0 R" % (4 + 3 * p) for p in range(pages))
        + b"] /Count %d >>" % pages,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for page in range(pages):
        lines = [
            _sentence(rng, rng.randrange(6, 14)) for _ in range(target // pages // 170)
        ]
        content = (
            b"BT /F1 10 Tf 14 TL 56 760 Td\n"
            + b"".join(b"(" + line.encode("ascii") + b") Tj T*\n" for line in lines)
            + b"ET\nq 400 0 0 200 56 80 cm /Im1 Do Q\n"
        )
        height = max(1, (target // pages - len(content)) // 256)
        image = rng.randbytes(256 * height)
        number = 4 + 3 * page
        objects += [
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font"
            b" << /F1 3 0 R >> /XObject << /Im1 %d 0 R >> >> /Contents %d 0 R >>"
            % (number + 2, number + 1),
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
            b"<< /Type /XObject /Subtype /Image /Width 256 /Height %d /ColorSpace "
            b"/DeviceGray /BitsPerComponent 8 /Length %d >>\nstream\n%s\nendstream"
            % (height, len(image), image),
        ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _png(rng: random.Random, target: int) -> bytes:
    """A valid RGB PNG whose noisy half keeps it near `target` bytes."""
    width = 320
    height = max(1, target // (width * 3 // 2))
    flat = bytes(rng.randrange(256) for _ in range(3)) * (width // 2)
    rows = b"".join(
        b"\x00" + rng.randbytes(width * 3 // 2) + flat for _ in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(rows, 6))
        + _png_chunk(b"IEND", b"")
    )


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


# --- script entry point ------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Generate a corpus from the command line and print a summary on stderr."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="directory to write .eml files to")
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tenant-domain", default="acme.test")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    corpus = generate(
        args.out_dir,
        messages=args.messages,
        seed=args.seed,
        tenant_domain=args.tenant_domain,
    )
    elapsed = time.perf_counter() - started
    counts = ", ".join(f"{kind} {n}" for kind, n in corpus.counts.items())
    print(
        f"wrote {len(corpus.paths):,} messages ({corpus.total_bytes / 1e6:.1f} MB) to "
        f"{corpus.out_dir} in {elapsed:.1f}s: {counts}; {corpus.with_attachments} "
        f"with attachments, {corpus.lf_only} LF-only",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
