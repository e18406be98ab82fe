"""Unsubscribe requests: ordinary mail that asks the sender to stop mailing.

Three rules, first match wins (docs/classification.md, "Suppressions"):

* **mailbox**: the message is addressed to an unsubscribe mailbox, the kind a
  `List-Unsubscribe: <mailto:…>` header names (`unsubscribe@`, `unsub-<token>@`,
  `optout@`, `leave-<token>@`, …);
* **subject**: its subject, without reply prefixes and punctuation, is a request to
  unsubscribe (what a mail client puts there from the mailto's `?subject=`, or what a
  person types: "Unsubscribe", "Remove me", "Abmelden", "退订");
* **body**: the part of the body the sender wrote (before the first quoted line or
  the header of the quoted message) asks to be removed, in one of the languages the
  auto-reply detector knows (a phrase after a negation does not count); a bare
  request word ("Unsubscribe", "Stop", "Abmelden") only as one of the first two lines
  the sender wrote.

Pure: strings in, the rule that matched (or None) out.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

import ahocorasick

# Local parts of the mailboxes List-Unsubscribe mailto URIs point at; an optional
# token follows (unsub-1a2b@, unsubscribe+c3d4@, leave-e5f6@).
_MAILBOX_RE = re.compile(
    r"(?<![\w.+=-])(?:unsubscribe|unsub|optout|opt-out|opt_out|leave|removeme"
    r"|remove-me|abmelden|desabonner|desinscription|baja)(?:[-+._=][^@\s<>,;:\"]*)?@",
    re.IGNORECASE,
)

# What a whole subject (or a whole short body) says when it is only a request to
# stop, per language. Lower case, without punctuation.
REQUEST_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("unsubscribe", "unsubscribe me", "remove me", "remove", "opt out", "stop"),
    "de": ("abmelden", "abbestellen", "austragen", "bitte austragen"),
    "fr": ("désabonner", "se désabonner", "désinscription", "désabonnement"),
    "es": ("darse de baja", "dar de baja", "baja", "cancelar suscripción"),
    "it": ("disiscriviti", "cancellami", "disiscrizione", "cancella iscrizione"),
    "nl": ("afmelden", "uitschrijven"),
    "pt": ("descadastrar", "cancelar inscrição", "descadastre me"),
    "sv": ("avregistrera", "avsluta prenumeration", "avanmäl"),
    "da/no": ("afmeld", "avmeld", "afmelding", "avmelding"),
    "fi": ("peruuta tilaus", "poista minut"),
    "pl": ("wypisz", "wypisz mnie", "rezygnuję"),
    "cs": ("odhlásit", "odhlásit odběr"),
    "hu": ("leiratkozás", "leiratkozom"),
    "ro": ("dezabonare", "dezabonează mă"),
    "tr": ("abonelikten çık", "abonelikten çıkar"),
    "id": ("berhenti berlangganan",),
    "vi": ("hủy đăng ký",),
    "et": ("loobu tellimusest",),
    "lv": ("atteikties", "atrakstīties"),
    "lt": ("atsisakyti prenumeratos",),
    "sl/hr": ("odjava", "odjavi me"),
    "ru": ("отписаться", "отпишите меня", "отписка"),
    "uk": ("відписатися", "відпишіть мене"),
    "el": ("διαγραφή", "απεγγραφή"),
    "ko": ("구독 취소", "수신 거부", "수신거부"),
    "zh": ("退订", "取消订阅", "退訂", "取消訂閱"),
    "ja": ("配信停止", "購読解除"),
}

# Phrases that ask to be removed wherever they stand in what the sender wrote.
REQUEST_PHRASES: dict[str, tuple[str, ...]] = {
    "en": (
        "unsubscribe me",
        "please unsubscribe",
        "remove me from",
        "take me off",
        "remove my email",
        "remove my address",
        "remove this email address",
        "stop emailing me",
        "stop sending me",
        "stop contacting me",
        "do not contact me",
        "don't contact me",
        "do not email me",
        "don't email me",
        "opt me out",
        "no more emails",
    ),
    "de": (
        "bitte austragen",
        "tragen sie mich aus",
        "nehmen sie mich aus",
        "aus ihrem verteiler",
        "aus dem verteiler",
        "keine weiteren e-mails",
        "keine e-mails mehr",
        "bitte abmelden",
        "melden sie mich ab",
    ),
    "fr": (
        "me désabonner",
        "désabonnez-moi",
        "désinscrivez-moi",
        "retirez-moi",
        "supprimez-moi de",
        "ne plus recevoir",
        "ne me contactez plus",
    ),
    "es": (
        "darme de baja",
        "denme de baja",
        "dadme de baja",
        "quitarme de",
        "elimínenme",
        "no quiero recibir",
        "no me contacten",
    ),
    "it": (
        "cancellatemi",
        "rimuovetemi",
        "rimuovermi",
        "non voglio più ricevere",
        "non contattatemi",
    ),
    "nl": (
        "uitschrijven",
        "schrijf mij uit",
        "haal mij van",
        "verwijder mij",
        "geen e-mails meer",
    ),
    "pt": (
        "me descadastrar",
        "descadastre-me",
        "remova-me",
        "me remova",
        "não quero receber",
        "não me contate",
    ),
    "sv": ("avregistrera mig", "ta bort mig", "sluta maila mig"),
    "da/no": ("afmeld mig", "avmeld meg", "fjern mig", "fjern meg"),
    "fi": ("poista minut", "en halua vastaanottaa"),
    "pl": ("wypisz mnie", "usuńcie mnie", "proszę mnie usunąć"),
    "cs": ("odhlaste mě", "odstraňte mě", "vyřaďte mě"),
    "hu": ("töröljenek", "leiratkozni szeretnék"),
    "ro": ("dezabonați-mă", "ștergeți-mă", "nu mai doresc"),
    "tr": ("beni listeden çıkar", "listeden çıkarın", "abonelikten çıkar"),
    "id": ("berhenti berlangganan", "hapus saya dari"),
    "vi": ("hủy đăng ký", "xóa tôi khỏi"),
    "et": ("eemaldage mind",),
    "lv": ("izņemiet mani", "atrakstiet mani"),
    "lt": ("pašalinkite mane",),
    "sl/hr": ("odjavite me", "izbrišite me", "maknite me"),
    "ru": ("отпишите меня", "удалите меня", "не пишите мне", "отписаться от"),
    "uk": ("відпишіть мене", "видаліть мене", "не пишіть мені"),
    "el": ("διαγράψτε με", "αφαιρέστε με"),
    "ko": ("수신 거부", "수신거부", "구독 취소"),
    "zh": ("退订", "取消订阅", "退訂", "取消訂閱", "不要再发"),
    "ja": ("配信停止", "購読解除", "送らないで"),
}

FRESH_LIMIT = 4000  # characters of the sender's own text that are read
# A phrase right after one of these words is negated ("please don't remove me").
_NEGATED_RE = re.compile(r"(?:\bnot|n't|\bnever|\bnicht|\bne|\bno|\bnon|\bnão)\s*$")

_REPLY_PREFIX_RE = re.compile(
    r"^(?:\s*(?:\[[^\]]{0,60}\]|(?:re|aw|sv|vs|antw|fwd?|wg|tr|rif|res|odp|ynt)"
    r"\s*(?:\[\d+\]|\(\d+\))?\s*[:：]))+",
    re.IGNORECASE,
)
# Punctuation that separates words (apostrophes and hyphens stay: "don't", "-moi").
_PUNCTUATION = str.maketrans(
    {
        c: " "
        for c in ',.;:!?()[]{}<>"*/|\\~=+#&%$^`“”„«»‹›¡¿…、。，；：！？（）「」『』'
    }
    | {"’": "'"}
)
# Where the quoted message starts, line by line: a quoted line, a separator, a
# quoted header line, or an attribution line ("On … wrote:" and its kin).
_SEPARATOR_RE = re.compile(
    r"-{2,}\s*(?:original|ursprüngliche|message d'origine|mensaje original"
    r"|messaggio originale|oorspronkelijk|mensagem original|forwarded)"
    r"|_{10,}",
    re.IGNORECASE,
)
_HEADER_LINE_RE = re.compile(
    r"(?:from|von|de|da|van|od|från|fra|lähettäjä|от|від|发件人|寄件者|差出人"
    r"|보낸 사람)\s*:\s.*@",
    re.IGNORECASE,
)
_ATTRIBUTION_RE = re.compile(
    r"(?:wrote|schrieb|a écrit|escribió|ha scritto|schreef|escreveu|skrev"
    r"|kirjoitti|napisał|napsal|írta|a scris|yazdı|menulis|đã viết|kirjutas|rakstīja"
    r"|rašė|je napisal|je napisao|написал|написав|написала|έγραψε|작성|写道|寫道"
    r"|のメッセージ|書きました)\s*[:：]$",
    re.IGNORECASE,
)


def _normal(text: str) -> str:
    """Lower case, NFC, punctuation gone, one space between words."""
    return " ".join(
        unicodedata.normalize("NFC", text).lower().translate(_PUNCTUATION).split()
    )


_NO_SPACE_SCRIPTS_RE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]")


def _compile(groups: dict[str, tuple[str, ...]]) -> re.Pattern[str]:
    """One pattern for all phrases: whole words, except in scripts without spaces."""
    alternatives = sorted(
        {_normal(p) for phrases in groups.values() for p in phrases},
        key=len,
        reverse=True,
    )
    return re.compile(
        "|".join(
            re.escape(a)
            if _NO_SPACE_SCRIPTS_RE.search(a)
            else r"(?<!\w)" + re.escape(a) + r"(?!\w)"
            for a in alternatives
        )
    )


class _Phrases:
    """Every request phrase in one Aho-Corasick automaton: one pass over a text
    (a regex alternation of ~200 phrases cost ~1.5 ms a reply; this a few µs)."""

    def __init__(self, groups: dict[str, tuple[str, ...]]) -> None:
        self.automaton = ahocorasick.Automaton()
        for phrases in groups.values():
            for phrase in map(_normal, phrases):
                whole_words = not _NO_SPACE_SCRIPTS_RE.search(phrase)
                self.automaton.add_word(phrase, (phrase, whole_words))
        self.automaton.make_automaton()

    def first(self, text: str) -> str | None:
        """The first phrase in `text` (the longest where several start there) that
        stands as whole words and follows no negation."""
        hits: list[tuple[int, int, str]] = []
        for end, (phrase, whole_words) in self.automaton.iter(text):
            start = end - len(phrase) + 1
            if whole_words and (
                (start > 0 and _is_word(text[start - 1]))
                or (end + 1 < len(text) and _is_word(text[end + 1]))
            ):
                continue
            hits.append((start, -len(phrase), phrase))
        for start, _, phrase in sorted(hits):
            if not _NEGATED_RE.search(text[max(0, start - 12) : start]):
                return phrase
        return None


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


_WORDS = frozenset(_normal(w) for words in REQUEST_WORDS.values() for w in words)
_PHRASES = _Phrases(REQUEST_PHRASES)
_WORD_RE = _compile(REQUEST_WORDS)


def fresh_text(body: str) -> str:
    """The part of a reply's body its sender wrote: up to the first quoted line or
    the header of the message it quotes."""
    kept = 0
    for line in body[: FRESH_LIMIT * 2].splitlines(keepends=True):
        bare = line.strip()
        if bare and (
            bare[0] == ">"
            or _SEPARATOR_RE.match(bare)
            or (bare[-1] in ":：" and _ATTRIBUTION_RE.search(bare))
            or (":" in bare and "@" in bare and _HEADER_LINE_RE.match(bare))
        ):
            break
        kept += len(line)
        if kept >= FRESH_LIMIT:
            break
    return body[: min(kept, FRESH_LIMIT)]


def is_unsubscribe_mailbox(addresses: str) -> bool:
    """True when an address (or a header value listing some) is a mailbox that takes
    unsubscribe requests."""
    return bool(_MAILBOX_RE.search(addresses))


def _is_request_line(line: str) -> bool:
    """A line that is only a request word (CJK: that holds one)."""
    if line in _WORDS or line.startswith("unsubscribe"):
        return True
    return bool(_NO_SPACE_SCRIPTS_RE.search(line)) and bool(_WORD_RE.search(line))


def subject_request(subject: str) -> bool:
    """True when the subject is nothing but a request to unsubscribe."""
    return _is_request_line(_normal(_REPLY_PREFIX_RE.sub("", subject)))


def body_request(body: str) -> str | None:
    """The phrase by which the sender's own text asks to be removed, or None.

    A phrase counts wherever it stands (unless a negation precedes it); a bare
    request word only as one of the first two lines the sender wrote.
    """
    fresh = fresh_text(body)
    found = _PHRASES.first(_normal(fresh))
    if found is not None:
        return found
    lines = [ln for ln in fresh[:400].splitlines() if ln.strip()][:2]
    return next((ln for ln in map(_normal, lines) if _is_request_line(ln)), None)


def request(
    *, subject: str, recipients: Iterable[str], body: Callable[[], str]
) -> str | None:
    """Why a message is an unsubscribe request ("mailbox", "subject" or
    "body: <phrase>"), or None when it is not one. `recipients` are addresses or
    header values listing them; `body()` is called only when the addresses and the
    subject do not decide."""
    if any(is_unsubscribe_mailbox(r) for r in recipients if r):
        return "mailbox"
    if subject_request(subject):
        return "subject"
    found = body_request(body())
    return f"body: {found}" if found else None
