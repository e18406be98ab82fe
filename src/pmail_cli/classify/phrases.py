"""Phrase and code tables behind the `reason` of a failed delivery.

Each phrase is matched case-insensitively in the diagnostic text (whitespace
collapsed). Tables are tried in order and the first table with a hit wins, so
unmistakable phrases come first; a reason may appear twice, early with its
telling phrases and late with vaguer ones. Phrases starting with a letter or
digit must start at a word boundary. Phrases are separated by "|".
"""

from __future__ import annotations

TEXT_TABLE: tuple[tuple[str, str], ...] = (
    (
        "virusdetected",
        "virus|malware|infected|trojan",
    ),
    (
        "mailererror",
        (
            "mailer error|command failed|exited with|unknown mailer|procmail|"
            "pipe to|x-unix|local delivery failed"
        ),
    ),
    (
        "failedstarttls",
        "starttls failed|tls negotiation failed|tls handshake failed|"
        "failed to establish tls",
    ),
    (
        "spamdetected",
        (
            "spam classification|classified as spam|detected as spam|"
            "identified as spam|considered spam|considered as spam|"
            "looks like spam|message is spam|spam content|spam message|spam score|"
            "spamassassin"
        ),
    ),
    (
        "requireptr",
        (
            "reverse dns|reverse lookup|reverse hostname|reverse-lookup|"
            "ptr record|no ptr|rdns|cannot find your hostname|"
            "cannot resolve your hostname|can't resolve your hostname|"
            "cannot find your reverse|hostname lookup|client host name|"
            "not have a valid hostname|unresolvable address|ip name lookup failed"
        ),
    ),
    (
        "notcompliantrfc",
        (
            "rfc 5322|rfc5322|rfc 2822|rfc2822|rfc822 compliant|not rfc compliant|"
            "not compliant with rfc|multiple from|multiple addresses in from|"
            "duplicate header"
        ),
    ),
    (
        "authfailure",
        (
            "spf|dkim|dmarc|sender authentication|unauthenticated email|"
            "not authenticate the sender|authentication check"
        ),
    ),
    (
        "badreputation",
        "reputation|poor sending history|sender score|user complaints",
    ),
    (
        "norelaying",
        (
            "relay access denied|relaying denied|relay denied|relay not permitted|"
            "relaying not permitted|relaying not allowed|not permitted to relay|"
            "unable to relay|we do not relay|relay prohibited|"
            "not allowed to relay|no relaying"
        ),
    ),
    (
        "hasmoved",
        "has moved|address has changed|no longer at this address",
    ),
    (
        "rejected",
        (
            "sender address rejected|domain of sender|sender domain|"
            "sender verify failed|sender verification|sender not allowed|"
            "sender is not allowed|invalid sender|sender unknown|unknown sender|"
            "bad sender|envelope sender|sender denied|sender was rejected|"
            "permission to post|not allowed to post|groups.google.com|"
            "send mail as"
        ),
    ),
    (
        "securityerror",
        "unauthenticated sender|authentication required",
    ),
    (
        "mesgtoobig",
        (
            "message too large|message is too large|message too big|"
            "message is too big|message size exceeds|exceeds size limit|"
            "size exceeds|exceeds the maximum size|exceeds maximum message size|"
            "message size limit|size limit exceeded|too big for|"
            "size of the message|line limit|line too long"
        ),
    ),
    (
        "toomanyconn",
        (
            "too many connections|too many concurrent|connection limit|"
            "connection rate|too many sessions|too many simultaneous"
        ),
    ),
    (
        "speeding",
        (
            "receiving mail at a rate|rate limit|ratelimit|too many messages|"
            "too many emails|sending rate|throttl|too fast|this hour|per hour"
        ),
    ),
    (
        "mailboxfull",
        (
            "mailbox full|mailbox is full|mailbox has exceeded|mailbox size|"
            "mailbox quota|full mailbox|account is full|box is full|inbox is full|"
            "over quota|overquota|over the quota|quota|exceeded storage|"
            "storage allocation|insufficient disk space|not enough storage|"
            "out of storage|too much mail|user is over|mailfolder is full|is full|"
            "mailbox lleno"
        ),
    ),
    (
        "suspend",
        (
            "disabled|account suspended|mailbox suspended|has been suspended|"
            "is suspended|user suspended|inactive|deactivated|not active|"
            "no longer active|temporarily locked|temporary locked|"
            "account is locked|account is blocked|account has been blocked|"
            "is frozen|discontinued"
        ),
    ),
    (
        "notaccept",
        (
            "does not accept mail|doesn't accept mail|not accepting mail|"
            "accepts no mail|null mx|receive mail|receive email|no smtp service|"
            "mail exchanger"
        ),
    ),
    (
        "networkerror",
        ("name server reply|host not found, try again|temporary failure in name"),
    ),
    (
        "hostunknown",
        (
            "host unknown|unknown host|host not found|domain not found|"
            "no such domain|unknown domain|domain does not exist|"
            "domain name not found|name service error|"
            "host or domain name not found|unrouteable|unroutable|no mx|nxdomain|"
            "couldn't find any host|could not find any host|"
            "name or service not known|nameserver error"
        ),
    ),
    (
        "userunknown",
        (
            "user unknown|unknown user|unknown recipient|recipient unknown|"
            "no such user|no such recipient|no such mailbox|no such account|"
            "no such address|no such local user|no mailbox|invalid recipient|"
            "invalid mailbox|invalid user|user not found|user invalid|"
            "mailbox not found|recipient not found|address not found|"
            "couldn't be found|could not be found|mailbox unavailable|"
            "mailbox is unavailable|mailbox not available|does not exist|"
            "doesn't exist|do not exist|not exist|doesn't have a|"
            "does not have an account|unknown local part|unknown address|"
            "address unknown|unknown or illegal alias|not a valid mailbox|"
            "not a known user|recipient name is not recognized|"
            "bad destination mailbox|unknown mailbox|no longer valid|"
            "is not a valid user|recipient address rejected|not our customer|"
            "account is unavailable|no existe|desconocido|inexistente|"
            "nicht bekannt|unbekannt|utilisateur inconnu|invalid address|"
            "unknown in virtual|non-existent|nonexistent|address rejected"
        ),
    ),
    (
        "blocked",
        (
            "spamhaus|spamcop|blacklist|black list|blocklist|block list|dnsbl|rbl|"
            "client host|ip address|your ip|adresse ip|listed at|listed on|"
            "listed in|service refused|refused to talk|smtp server of your isp|"
            "dynamic ip|dial-up|dialup|residential"
        ),
    ),
    (
        "spamdetected",
        "spam|junk mail|bulk mail|unsolicited|uce|content rejected",
    ),
    (
        "blocked",
        "blocked|banned|not allowed to send",
    ),
    (
        "exceedlimit",
        "too many recipients|recipient limit|exceeds limit",
    ),
    (
        "policyviolation",
        "policy|violat|prohibited|not permitted",
    ),
    (
        "securityerror",
        (
            "authentication required|must be authenticated|not authenticated|"
            "authentication is required|must issue a starttls|tls required|"
            "encryption required|certificate|unauthorized|security"
        ),
    ),
    (
        "securityerror",
        "access denied",
    ),
    (
        "filtered",
        (
            "filtered|content filter|refused by recipient|recipient refuses|"
            "refuses to accept|delivery not authorized"
        ),
    ),
    (
        "expired",
        (
            "retry timeout exceeded|retry time not reached|"
            "failing for a long time|did not accept our requests to connect|"
            "has expired|expired|too long in queue|not delivered within|"
            "could not be delivered for|queue period|delivery time|"
            "cannot send message for|could not send message for"
        ),
    ),
    (
        "networkerror",
        (
            "timed out|timeout|connection refused|could not connect|"
            "couldn't connect|unable to connect|can't connect|cannot connect|"
            "no route to host|unreachable|lost connection|connection reset|"
            "connection closed|connection dropped|connection was dropped|"
            "too many hops|hop count|mail loop|loops back|routing loop|"
            "not responding|no answer|establish an smtp connection|not reachable|"
            "name resolution|name server|dns error|dns lookup|dns failure|"
            "dns query|network error"
        ),
    ),
    (
        "systemfull",
        "insufficient system storage|disk full|out of disk space",
    ),
    (
        "syntaxerror",
        (
            "syntax error|syntax|command unrecognized|unrecognized command|"
            "bad sequence|malformed|invalid command|not implemented"
        ),
    ),
    (
        "systemerror",
        (
            "system error|internal error|server error|local error|"
            "temporary failure|temporarily unavailable|try again later|"
            "system problem|server busy|transaction failed|resources"
        ),
    ),
    (
        "rejected",
        "rejected|refused|denied|not accepted",
    ),
)

# Status codes (subject.detail) precise enough to decide when the text is silent.
STATUS_TABLE: dict[str, str] = {
    "1.1": "userunknown",
    "1.2": "hostunknown",
    "1.3": "syntaxerror",
    "1.4": "userunknown",
    "1.6": "hasmoved",
    "1.7": "rejected",
    "1.8": "rejected",
    "1.10": "notaccept",
    "2.1": "suspend",
    "2.2": "mailboxfull",
    "2.3": "exceedlimit",
    "2.4": "systemerror",
    "3.0": "systemerror",
    "3.1": "systemfull",
    "3.2": "systemerror",
    "3.3": "systemerror",
    "3.4": "mesgtoobig",
    "3.5": "systemerror",
    "4.0": "networkerror",
    "4.1": "networkerror",
    "4.2": "networkerror",
    "4.3": "systemerror",
    "4.4": "hostunknown",
    "4.5": "toomanyconn",
    "4.6": "networkerror",
    "4.7": "expired",
    "5.0": "syntaxerror",
    "5.1": "syntaxerror",
    "5.2": "syntaxerror",
    "5.3": "exceedlimit",
    "5.4": "syntaxerror",
    "5.5": "syntaxerror",
    "6.0": "contenterror",
    "6.1": "contenterror",
    "6.2": "contenterror",
    "6.3": "contenterror",
    "6.4": "contenterror",
    "6.5": "contenterror",
    "7.0": "securityerror",
    "7.1": "rejected",
    "7.2": "securityerror",
    "7.3": "securityerror",
    "7.4": "securityerror",
    "7.5": "securityerror",
    "7.6": "securityerror",
    "7.7": "securityerror",
    "7.8": "securityerror",
    "7.9": "securityerror",
    "7.10": "securityerror",
    "7.11": "securityerror",
    "7.13": "suspend",
    "7.23": "authfailure",
    "7.25": "requireptr",
    "7.26": "authfailure",
    "7.27": "authfailure",
    "7.509": "authfailure",
    "7.510": "authfailure",
    "7.606": "blocked",
}

# Typical status (subject.detail) for a reason when a notice gives no code.
DEFAULT_DETAIL: dict[str, str] = {
    "userunknown": "1.1",
    "hostunknown": "1.2",
    "hasmoved": "1.6",
    "rejected": "1.8",
    "suspend": "2.1",
    "mailboxfull": "2.2",
    "exceedlimit": "2.3",
    "mesgtoobig": "3.4",
    "systemfull": "3.1",
    "networkerror": "4.1",
    "expired": "4.7",
    "toomanyconn": "4.5",
    "syntaxerror": "5.2",
    "spamdetected": "7.1",
    "blocked": "7.1",
    "policyviolation": "7.1",
    "securityerror": "7.1",
    "norelaying": "7.1",
    "authfailure": "7.1",
    "requireptr": "7.1",
    "virusdetected": "7.1",
}
