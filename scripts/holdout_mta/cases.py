"""The cases of the MTA-written holdout notices, with neutral names.

Never imported by the test suite. Every recipient, domain, subject and body here is an
ordinary name that says nothing about the failure it provokes, so that a classifier can
only learn the answer from what the MTA and the remote server wrote (the earlier
generation named the case in its addresses and subjects and was discarded).

Each case: (name, recipients, subject, body).  ROUTES maps each domain to where the
MTA sends it; REPLIES maps a recipient to the stand-in server's reply; LABELS holds the
draft label (reason, hard_soft, provocation, deciding words), checked by hand against
each notice before pmail runs on it.
"""

from __future__ import annotations

LOCAL_DOMAIN = "hartwell-trading.test"
HOSTNAME = "mail.hartwell-trading.test"
SENDER_USER = "kdoyle"
SENDER = f"{SENDER_USER}@{LOCAL_DOMAIN}"
LDA_USER = "smoreau"  # a system user whose local delivery is dovecot-lda over quota
PORT = 2526
LMTP_PORT = 2424

# loopback address -> (behaviour of the stand-in server, its host name)
SERVERS = {
    "127.0.0.10": ("main", "mx1.northfield-supply.test"),
    "127.0.0.11": ("sender", "mx.oakridge-hvac.test"),
    "127.0.0.12": ("block", "mail.cobalt-ridge.test"),
    "127.0.0.13": ("busy", "smtp.wrenfield-labs.test"),
    "127.0.0.15": ("size", "mx2.bluewater-marine.test"),
    "127.0.0.17": ("silent", "mx.stonegate-logistics.test"),
}
REFUSED_IP = "127.0.0.14"  # nothing listens there

CASES: list[tuple[str, list[str], str, str]] = [
    (
        "local-unknown",
        [f"p.andersen@{LOCAL_DOMAIN}"],
        "Minutes of Tuesday's planning meeting",
        "Hi Per,\n\nattached below are the minutes from Tuesday. Please add anything I missed.\n",
    ),
    (
        "rcpt-nouser",
        ["m.okafor@northfield-supply.test"],
        "Purchase order 4471 for pallets",
        "Dear Michael,\n\nplease find our purchase order 4471 for 60 pallets below.\n",
    ),
    (
        "rcpt-nomailbox",
        ["lena.brandt@kestrel-media.test"],
        "Photos from the spring campaign shoot",
        "Hello Lena,\n\nthe selection from last week's shoot is ready for your review.\n",
    ),
    (
        "rcpt-full",
        ["d.whitaker@copperline-freight.test"],
        "Shipment schedule for January",
        "Hi Dan,\n\nhere is the proposed schedule for the January shipments.\n",
    ),
    (
        "rcpt-disabled",
        ["a.ferreira@lindenbaum-consulting.test"],
        "Follow-up on the workshop dates",
        "Dear Ana,\n\ncould we move the second workshop to the 14th?\n",
    ),
    (
        "rcpt-access",
        ["j.oyelaran@saltmarsh-ceramics.test"],
        "Glaze samples and price list",
        "Hello Jide,\n\nthank you for the samples; our price list for next year is below.\n",
    ),
    (
        "rcpt-relay",
        ["t.halvorsen@ashgrove-legal.test"],
        "Signed engagement letter",
        "Dear Tove,\n\nthe signed engagement letter is on its way by post as well.\n",
    ),
    (
        "rcpt-syntax",
        ["c.delacroix@meridian-optics.test"],
        "Lens order confirmation",
        "Hi Claire,\n\ncan you confirm the quantities on order 2208?\n",
    ),
    (
        "rcpt-hostunk",
        ["r.iyer@brackenfield-farms.test"],
        "Delivery window for Thursday",
        "Hello Ravi,\n\nour driver can be there between 9 and 11 on Thursday.\n",
    ),
    (
        "rcpt-moved",
        ["s.kowalczyk@tidewater-press.test"],
        "Proofs for chapter three",
        "Dear Sylwia,\n\nthe corrected proofs for chapter three are ready.\n",
    ),
    (
        "rcpt-inactive",
        ["h.mbeki@quillon-architects.test"],
        "Site visit next week",
        "Hi Hamza,\n\nwould Wednesday morning suit you for the site visit?\n",
    ),
    (
        "rcpt-noaccept",
        ["e.sorensen@fernhill-dental.test"],
        "Appointment reminder for the team",
        "Hello Erik,\n\na reminder of the check-ups booked for your team next month.\n",
    ),
    (
        "rcpt-grey",
        ["k.yamamoto@harrow-instruments.test"],
        "Calibration certificates",
        "Dear Kenji,\n\nthe calibration certificates for the three gauges are attached below.\n",
    ),
    (
        "rcpt-tempfail",
        ["b.oconnell@westbrook-textiles.test"],
        "Fabric swatches for the autumn range",
        "Hi Brendan,\n\nwe received the swatches, thank you; comments below.\n",
    ),
    (
        "rcpt-toomany",
        ["n.petrov@larkspur-studio.test"],
        "Invoice 2026-118",
        "Dear Nikolai,\n\nplease find invoice 2026-118 for the October work below.\n",
    ),
    (
        "data-spam",
        ["f.moreno@granite-bay-realty.test"],
        "Viewing arranged for Saturday",
        "Hello Fernanda,\n\nthe viewing of the Harbour Street flat is set for Saturday at 10.\n",
    ),
    (
        "data-virus",
        ["g.lindqvist@silverbirch-health.test"],
        "Rota for the holiday period",
        "Hi Greta,\n\nthe draft rota for the holidays is below; tell me about any clashes.\n",
    ),
    (
        "data-toobig",
        ["i.novak@calder-engineering.test"],
        "Drawings for the bracket revision",
        "Dear Ivan,\n\nthe revised drawings for the mounting bracket are included.\n",
    ),
    (
        "data-policy",
        ["o.adeyemi@sunvale-foods.test"],
        "Menu tasting on Friday",
        "Hello Ola,\n\nwe would be glad to host the menu tasting on Friday afternoon.\n",
    ),
    (
        "data-dataunk",
        ["v.rossi@pembrook-insurance.test"],
        "Renewal quote for the fleet policy",
        "Dear Valentina,\n\nour renewal quote for the fleet policy is set out below.\n",
    ),
    (
        "data-storage",
        ["l.chen@marlowe-books.test"],
        "Reading list for the book club",
        "Hi Li,\n\nhere is the reading list for the next three meetings.\n",
    ),
    (
        "data-dmarc",
        ["p.gallagher@elmstead-joinery.test"],
        "Kitchen fitting quote",
        "Dear Patrick,\n\nthank you for the visit; we accept your quote for the kitchen fitting.\n",
    ),
    (
        "data-content",
        ["t.varga@ravenscroft-audio.test"],
        "Mixing notes for track four",
        "Hi Tamas,\n\nmy notes on the mix of track four: less reverb on the vocals, please.\n",
    ),
    (
        "mailfrom-rejected",
        ["w.grant@oakridge-hvac.test"],
        "Service contract renewal",
        "Dear William,\n\nour service contract comes up for renewal in February.\n",
    ),
    (
        "greeting-554-blocklist",
        ["y.tanaka@cobalt-ridge.test"],
        "Conference travel plans",
        "Hello Yuki,\n\nI have booked the train for the 3rd; details below.\n",
    ),
    (
        "greeting-421-busy",
        ["z.haddad@wrenfield-labs.test"],
        "Sample results batch 17",
        "Hi Zaid,\n\nthe results for batch 17 are summarised below.\n",
    ),
    (
        "connection-refused",
        ["u.fischer@millbrook-advisors.test"],
        "Quarterly review agenda",
        "Dear Ulrike,\n\nthe agenda for the quarterly review is below.\n",
    ),
    (
        "greeting-silent",
        ["q.mensah@stonegate-logistics.test"],
        "Warehouse inventory count",
        "Hello Kwame,\n\nthe inventory count is planned for the last Saturday of the month.\n",
    ),
    (
        "size-over-advertised-limit",
        ["x.alvarez@bluewater-marine.test"],
        "Annual maintenance log",
        "Hi Xavier,\n\nthe maintenance log for the year is copied below.\n",
    ),
    (
        "nxdomain-test",
        ["m.keller@thornbury-print.test"],
        "Brochure print run",
        "Dear Martin,\n\nwe would like 2,000 copies of the brochure on matt paper.\n",
    ),
    (
        "nxdomain-example",
        ["j.abara@sales.corbel-hardware.example.net"],
        "Catalogue request",
        "Hello Joy,\n\ncould you send us your current catalogue and trade prices?\n",
    ),
    (
        "lmtp-quota",
        ["t.nakamura@alderbrook-clinic.test"],
        "Staff training on the new booking system",
        "Hi Takeshi,\n\nthe training sessions are on Monday and Wednesday at 2 pm.\n",
    ),
    (
        "lmtp-quota-2rcpt",
        ["a.baptiste@pinecrest-outdoors.test", "e.novotny@pinecrest-outdoors.test"],
        "Stock transfer between stores",
        "Hello both,\n\nwe will move twenty tents from the north store to the city store.\n",
    ),
    (
        "lmtp-unknown",
        ["r.castillo@hollins-creative.test"],
        "Brief for the new logo",
        "Dear Rosa,\n\nthe brief for the new logo is below; we can talk it through on Friday.\n",
    ),
    (
        "lda-quota",
        [f"{LDA_USER}@{LOCAL_DOMAIN}"],
        "Lunch on Thursday?",
        "Hi Sophie,\n\nare you free for lunch on Thursday? The usual place at 12:30.\n",
    ),
    (
        "multi-rcpt",
        [
            "i.walsh@harbor-lane-bakery.test",
            "c.obi@harbor-lane-bakery.test",
            "m.santos@harbor-lane-bakery.test",
        ],
        "Order for the weekend market",
        "Hello all,\n\nour order for the weekend market: 40 loaves and 6 trays of rolls.\n",
    ),
]

SIZE_CASE = "size-over-advertised-limit"
# a neutral filler making the size case larger than the 20,000 bytes its server allows
FILLER = (
    "".join(
        f"{d:02d}/11  engine hours {1200 + 7 * d:5d}  oil checked, filters cleaned, no remarks\n"
        for d in range(1, 31)
    )
    * 12
)

# domain -> "smtp:<ip>" | "lmtp" | "dns" (no route: DNS, which this machine cannot answer)
ROUTES = {
    "northfield-supply.test": "smtp:127.0.0.10",
    "kestrel-media.test": "smtp:127.0.0.10",
    "copperline-freight.test": "smtp:127.0.0.10",
    "lindenbaum-consulting.test": "smtp:127.0.0.10",
    "saltmarsh-ceramics.test": "smtp:127.0.0.10",
    "ashgrove-legal.test": "smtp:127.0.0.10",
    "meridian-optics.test": "smtp:127.0.0.10",
    "brackenfield-farms.test": "smtp:127.0.0.10",
    "tidewater-press.test": "smtp:127.0.0.10",
    "quillon-architects.test": "smtp:127.0.0.10",
    "fernhill-dental.test": "smtp:127.0.0.10",
    "harrow-instruments.test": "smtp:127.0.0.10",
    "westbrook-textiles.test": "smtp:127.0.0.10",
    "larkspur-studio.test": "smtp:127.0.0.10",
    "granite-bay-realty.test": "smtp:127.0.0.10",
    "silverbirch-health.test": "smtp:127.0.0.10",
    "calder-engineering.test": "smtp:127.0.0.10",
    "sunvale-foods.test": "smtp:127.0.0.10",
    "pembrook-insurance.test": "smtp:127.0.0.10",
    "marlowe-books.test": "smtp:127.0.0.10",
    "harbor-lane-bakery.test": "smtp:127.0.0.10",
    "elmstead-joinery.test": "smtp:127.0.0.10",
    "ravenscroft-audio.test": "smtp:127.0.0.10",
    "oakridge-hvac.test": "smtp:127.0.0.11",
    "cobalt-ridge.test": "smtp:127.0.0.12",
    "wrenfield-labs.test": "smtp:127.0.0.13",
    "millbrook-advisors.test": "smtp:127.0.0.14",
    "bluewater-marine.test": "smtp:127.0.0.15",
    "stonegate-logistics.test": "smtp:127.0.0.17",
    "alderbrook-clinic.test": "lmtp",
    "pinecrest-outdoors.test": "lmtp",
    "hollins-creative.test": "lmtp",
}

# replies of the 127.0.0.10 server, by recipient: ("rcpt" | "data", reply)
REPLIES = {
    "m.okafor@northfield-supply.test": (
        "rcpt",
        "550 5.1.1 <{a}>: Recipient address rejected: User unknown in virtual mailbox table",
    ),
    "lena.brandt@kestrel-media.test": ("rcpt", "550 5.1.1 {a}... User unknown"),
    "d.whitaker@copperline-freight.test": (
        "rcpt",
        "552 5.2.2 <{a}>: Mailbox full, quota exceeded",
    ),
    "a.ferreira@lindenbaum-consulting.test": (
        "rcpt",
        "550 5.2.1 <{a}>: Account disabled",
    ),
    "j.oyelaran@saltmarsh-ceramics.test": (
        "rcpt",
        "554 5.7.1 <{a}>: Recipient address rejected: Access denied",
    ),
    "t.halvorsen@ashgrove-legal.test": ("rcpt", "554 5.7.1 <{a}>: Relay access denied"),
    "k.yamamoto@harrow-instruments.test": (
        "rcpt",
        "450 4.2.0 <{a}>: Recipient address rejected: Greylisted, please try again later",
    ),
    "b.oconnell@westbrook-textiles.test": (
        "rcpt",
        "451 4.3.0 <{a}>: Temporary local problem - please try later",
    ),
    "c.delacroix@meridian-optics.test": (
        "rcpt",
        "553 5.1.3 <{a}>: Recipient address rejected: bad address syntax",
    ),
    "r.iyer@brackenfield-farms.test": (
        "rcpt",
        "550 5.1.2 <{a}>: Recipient address rejected: Host unknown",
    ),
    "s.kowalczyk@tidewater-press.test": (
        "rcpt",
        "551 5.1.6 User not local; please try <sylwia.kowalczyk@tidewater-books.test>",
    ),
    "n.petrov@larkspur-studio.test": ("rcpt", "452 4.5.3 Too many recipients"),
    "h.mbeki@quillon-architects.test": (
        "rcpt",
        "550 5.2.1 <{a}>: This mailbox is inactive and no longer accepts mail",
    ),
    "e.sorensen@fernhill-dental.test": (
        "rcpt",
        "556 5.1.10 <{a}>: Recipient address has null MX",
    ),
    "i.walsh@harbor-lane-bakery.test": (
        "rcpt",
        "550 5.1.1 <{a}>: Recipient address rejected: User unknown in virtual mailbox table",
    ),
    "c.obi@harbor-lane-bakery.test": (
        "rcpt",
        "552 5.2.2 <{a}>: Mailbox full, quota exceeded",
    ),
    "f.moreno@granite-bay-realty.test": (
        "data",
        "550 5.7.1 Message rejected as spam by content filter",
    ),
    "g.lindqvist@silverbirch-health.test": (
        "data",
        "554 5.7.1 Message rejected: virus found in attachment",
    ),
    "i.novak@calder-engineering.test": (
        "data",
        "552 5.3.4 Message size exceeds fixed maximum message size",
    ),
    "o.adeyemi@sunvale-foods.test": (
        "data",
        "550 5.7.1 Message rejected due to local policy",
    ),
    "v.rossi@pembrook-insurance.test": ("data", "550 5.1.1 <{a}>: user unknown"),
    "l.chen@marlowe-books.test": ("data", "452 4.3.1 Insufficient system storage"),
    "p.gallagher@elmstead-joinery.test": (
        "data",
        "550 5.7.26 Unauthenticated email from hartwell-trading.test is not accepted due to domain's DMARC policy",
    ),
    "t.varga@ravenscroft-audio.test": (
        "data",
        "554 5.6.0 Message content rejected: malformed MIME structure",
    ),
}

# Dovecot users reached over LMTP: address -> quota (bytes); others are unknown to it
LMTP_USERS = {
    "t.nakamura@alderbrook-clinic.test": "1K",
    "a.baptiste@pinecrest-outdoors.test": "1K",
    "e.novotny@pinecrest-outdoors.test": "10M",
}

# draft labels: case -> (reason, hard_soft, provocation, deciding words)
LABELS = {
    "local-unknown": (
        "userunknown",
        "hard",
        "mail to a local user that does not exist",
        "unknown user",
    ),
    "rcpt-nouser": (
        "userunknown",
        "hard",
        "remote 550 5.1.1 at RCPT",
        "550 5.1.1 User unknown in virtual mailbox table, at RCPT",
    ),
    "rcpt-nomailbox": (
        "userunknown",
        "hard",
        "remote 550 5.1.1 at RCPT (sendmail-style text)",
        "550 5.1.1 ... User unknown, at RCPT",
    ),
    "rcpt-full": (
        "mailboxfull",
        "soft",
        "remote 552 5.2.2 at RCPT",
        "552 5.2.2 Mailbox full, quota exceeded",
    ),
    "rcpt-disabled": (
        "suspend",
        "soft",
        "remote 550 5.2.1 at RCPT",
        "550 5.2.1 Account disabled",
    ),
    "rcpt-access": (
        "securityerror",
        "soft",
        "remote 554 5.7.1 at RCPT",
        "554 5.7.1 Recipient address rejected: Access denied; judgement call: securityerror from the words (as kumomta/6), userunknown is the other reading",
    ),
    "rcpt-relay": (
        "norelaying",
        "soft",
        "remote 554 5.7.1 at RCPT",
        "554 5.7.1 Relay access denied",
    ),
    "rcpt-syntax": (
        "userunknown",
        "hard",
        "remote 553 5.1.3 at RCPT",
        "553 5.1.3 Recipient address rejected: bad address syntax; judgement call: the address itself is bad (X.1.3 bad destination mailbox address syntax), syntaxerror is the other reading",
    ),
    "rcpt-hostunk": (
        "hostunknown",
        "hard",
        "remote 550 5.1.2 at RCPT",
        "550 5.1.2 Host unknown",
    ),
    "rcpt-moved": (
        "hasmoved",
        "hard",
        "remote 551 5.1.6 at RCPT",
        "551 5.1.6 User not local; please try <new address>",
    ),
    "rcpt-inactive": (
        "suspend",
        "soft",
        "remote 550 5.2.1 at RCPT",
        "550 5.2.1 mailbox is inactive and no longer accepts mail",
    ),
    "rcpt-noaccept": (
        "notaccept",
        "hard",
        "remote 556 5.1.10 at RCPT",
        "556 5.1.10 Recipient address has null MX",
    ),
    "rcpt-grey": (
        "blocked",
        "soft",
        "remote 450 4.2.0 greylisting at RCPT until the queue lifetime ran out",
        "450 4.2.0 Recipient address rejected: Greylisted; judgement call: a temporary refusal of the sending host (blocked), no vocabulary word for greylisting",
    ),
    "rcpt-tempfail": (
        "systemerror",
        "soft",
        "remote 451 4.3.0 at RCPT until the queue lifetime ran out",
        "451 4.3.0 Temporary local problem",
    ),
    "rcpt-toomany": (
        "toomanyconn",
        "soft",
        "remote 452 4.5.3 at RCPT until the queue lifetime ran out",
        "452 4.5.3 Too many recipients",
    ),
    "data-spam": (
        "spamdetected",
        "soft",
        "remote 550 5.7.1 after DATA",
        "550 5.7.1 Message rejected as spam",
    ),
    "data-virus": (
        "virusdetected",
        "soft",
        "remote 554 5.7.1 after DATA",
        "554 5.7.1 virus found in attachment",
    ),
    "data-toobig": (
        "mesgtoobig",
        "soft",
        "remote 552 5.3.4 after DATA",
        "552 5.3.4 Message size exceeds fixed maximum message size",
    ),
    "data-policy": (
        "policyviolation",
        "soft",
        "remote 550 5.7.1 after DATA",
        "550 5.7.1 Message rejected due to local policy",
    ),
    "data-dataunk": (
        "userunknown",
        "hard",
        "remote 550 5.1.1 after DATA",
        "550 5.1.1 user unknown after DATA: X.1.1, so userunknown under the DATA rule",
    ),
    "data-storage": (
        "systemfull",
        "soft",
        "remote 452 4.3.1 after DATA until the queue lifetime ran out",
        "452 4.3.1 Insufficient system storage",
    ),
    "data-dmarc": (
        "authfailure",
        "soft",
        "remote 550 5.7.26 after DATA",
        "550 5.7.26 ... not accepted due to domain's DMARC policy",
    ),
    "data-content": (
        "contenterror",
        "soft",
        "remote 554 5.6.0 after DATA",
        "554 5.6.0 Message content rejected: malformed MIME structure",
    ),
    "mailfrom-rejected": (
        "rejected",
        "soft",
        "remote 553 5.7.1 at MAIL FROM",
        "553 5.7.1 Sender address rejected",
    ),
    "greeting-554-blocklist": (
        "blocked",
        "soft",
        "remote 554 5.7.1 greeting (block list)",
        "554 5.7.1 Client host blocked using a block list",
    ),
    "greeting-421-busy": (
        "toomanyconn",
        "soft",
        "remote 421 4.7.0 greeting until the queue lifetime ran out",
        "421 4.7.0 Too many concurrent SMTP connections",
    ),
    "connection-refused": (
        "networkerror",
        "soft",
        "TCP connection refused until the queue lifetime ran out",
        "Connection refused",
    ),
    "greeting-silent": (
        "networkerror",
        "soft",
        "a loopback server that accepts the connection and never greets, until the queue lifetime ran out",
        "",
    ),
    "size-over-advertised-limit": (
        "mesgtoobig",
        "soft",
        "message larger than the remote's advertised SIZE",
        "message size exceeds size limit of server",
    ),
    "nxdomain-test": (
        "networkerror",
        "soft",
        "domain with no DNS answer on this machine",
        "",
    ),
    "nxdomain-example": (
        "networkerror",
        "soft",
        "subdomain of example.net, no DNS answer on this machine",
        "",
    ),
    "lmtp-quota": (
        "mailboxfull",
        "soft",
        "Dovecot LMTP, mailbox over its quota",
        "552 5.2.2 Quota exceeded (mailbox for user is full)",
    ),
    "lmtp-quota-2rcpt": (
        "mailboxfull",
        "soft",
        "Dovecot LMTP, one of two recipients over quota",
        "552 5.2.2 Quota exceeded (mailbox for user is full)",
    ),
    "lmtp-unknown": (
        "userunknown",
        "hard",
        "Dovecot LMTP, unknown user",
        "550 5.1.1 User doesn't exist",
    ),
    "lda-quota": (
        "mailboxfull",
        "soft",
        "dovecot-lda -e as the local delivery command, mailbox over quota",
        "Quota exceeded (mailbox for user is full)",
    ),
    "multi-rcpt": (
        "userunknown",
        "hard",
        "three recipients: remote 550 5.1.1 and 552 5.2.2 at RCPT, one accepted",
        "first failed recipient: 550 5.1.1 User unknown in virtual mailbox table",
    ),
}


def case_of(address: str) -> str | None:
    """The case a recipient address belongs to."""
    for name, rcpts, _s, _b in CASES:
        if address.lower() in rcpts:
            return name
    return None


# dma (DragonFly Mail Agent) relays every remote message to one smarthost, or, without
# one, to the recipient domain's MX; it retries a temporary failure for five days
# (compiled in) without a delay warning, has no LMTP client, and delivers local mail to
# an mbox only.  So it is given the permanent-failure cases, each with the case's own
# stand-in server as its smarthost (run.sh rewrites dma.conf before each message).
DMA_SKIP = {
    "rcpt-grey": "temporary: retried for five days",
    "rcpt-tempfail": "temporary: retried for five days",
    "rcpt-toomany": "temporary: retried for five days",
    "data-storage": "temporary: retried for five days",
    "greeting-421-busy": "temporary: retried for five days",
    "connection-refused": "temporary: retried for five days",
    "greeting-silent": "temporary: retried for five days",
    "lmtp-quota": "no LMTP client",
    "lmtp-quota-2rcpt": "no LMTP client",
    "lmtp-unknown": "no LMTP client",
    "lda-quota": "local delivery is an mbox only (no delivery command)",
    # seen in the run of 2026-12-07: dma refuses an unknown local user at submission
    # ("invalid recipient", exit 65, no notice), and it does not declare SIZE, so the
    # stand-in server took the large message
    "local-unknown": "refused at submission, no notice",
    "size-over-advertised-limit": "no SIZE declared: delivered",
}


def dma_smarthost(case: str) -> str:
    """The smarthost dma is given for one case: the stand-in server of its domain, or
    none (the domain's MX, which does not resolve here) for the domains without a route."""
    for name, rcpts, _s, _b in CASES:
        if name == case:
            route = ROUTES.get(rcpts[0].split("@", 1)[1], "dns")
            return route.split(":", 1)[1] if route.startswith("smtp:") else ""
    raise KeyError(case)
