"""Accuracy on the held-out set: real mail the rules were never tuned against.

`tests/data/holdout-dev/` holds real bounces, auto-replies and reports from
public test suites other than `../shared/corpus` (sources and licences in its
MANIFEST.tsv and README.md). No phrase, product layout or rule of
`pmail_cli.classify` was written or changed by looking at these messages or
at the misses below; the figures are what the rules do on mail they have not
seen. When a change moves them, write the new figures into
docs/classification.md, never the rules into these files' shape.

    pytest tests/unit/test_classify_holdout.py -q -s    # prints the table
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest

from pmail_cli.classify import Classification, classify_bytes
from tests.support.scoring import Score

HOLDOUT = Path(__file__).resolve().parents[1] / "data" / "holdout-dev"
FAILURES = frozenset({"bounce", "delay"})
# The figures of docs/classification.md: a change that makes pmail worse on
# unseen mail fails here. New held-out files may lower a figure; then record
# the new one (and why) rather than change a rule to win the file back.
# 2026-12-06: the set grew from 36 to 101 files (issue 28); these are the grown
# set's figures, measured once, after its labels were committed. The fall in kind
# (97.2 -> 90.1 %) is mostly notifications marked Auto-Submitted: auto-generated
# that pmail calls auto-replies; see docs/classification.md for every miss.
# 2026-12-06, second round: 129 files (28 more, 7 new sources), measured once after
# their labels were committed. recipient (98.6 -> 98.0 %), status (98.4 -> 95.2 %) and
# hard/soft (90.7 -> 90.4 %) fell because of the new files alone (the 101 old ones
# score as before; docs/classification.md gives the causes); kind and reason rose.
# Then issue 28's evidence work (rules written on ../shared/corpus and notices written
# for tests/unit/test_classify_evidence.py; this set only measured, before and after)
# raised kind 92.2 -> 96.1 % and reason 81.6 -> 83.5 % on the 129 files.
# 2026-12-06, third round: 134 files (5 more failure notices), measured once after
# their labels were committed. recipient (98.0 -> 97.1 %) and status (95.2 -> 94.4 %)
# fell because of one new file each (a DSN whose Final-Recipient is masked with
# asterisks; a generic Status 5.0.0 against the remote's 5.7.1, the convention
# docs/classification.md notes); the 129 older files score as before.
# 2026-12-06, fourth round: 260 files (126 failure notices that Postfix 3.7.11, Exim
# 4.96 and OpenSMTPD 6.8.0p2 wrote on this machine, tests/data/holdout-dev/mta/),
# measured once after their labels were committed. status fell 94.4 -> 69.8 %: Exim and
# OpenSMTPD write a generic Status 5.0.0 / 4.0.0 in every DSN while the remote's reply
# quotes its own code, which pmail reports (the convention docs/classification.md
# notes; 58 of the 60 new status misses). reason fell 84.1 -> 84.0 %; kind, recipient and
# hard/soft rose. The 134 older files score as before.
# 2026-12-06, the MTA notices regenerated: the first generation's addresses, domains
# and subjects named each provoked failure (full@remote.test, ghost@quota.test), words
# the classifier could read, so all 126 were discarded and 131 were written again with
# neutral names (scripts/holdout_mta/), labelled and committed before this test ran on
# them. 265 files: kind 98.1 %, recipient 98.7 %, status 69.1 %, hard/soft 93.3 %,
# reason 85.6 %. status fell (69.8 -> 69.1 %): 66 of its 68 misses are a generic DSN
# Status 5.0.0 / 4.0.0 against the remote's quoted code (61 of them Exim's and
# OpenSMTPD's), the other 2 Postfix's 4.7.1 for a deferred 5xx greeting; hard/soft and
# reason rose. The 134 older files score as before.
# The two kinds of file are floored apart, so that neither hides the other: `public`
# is the notices from other projects' test suites (the floors above, unchanged since the
# third round), `mta` the notices written here by real MTAs (`mta/`, scripts/holdout_mta/),
# whose status figure is low for a labelling convention, not a classifier change (the
# generic Status 5.0.0 / 4.0.0 that Exim and OpenSMTPD write against the remote's own
# quoted code: docs/classification.md). The whole set is printed too.
# 2026-12-06, rules from documentation (greylisting is blocked, RFC 6647; X.1.3 names
# a bad address, RFC 3463; RFC 5321's 553 text and Exchange's not-found report
# sentences are userunknown), each written with a notice of its own in
# tests/unit/test_classify_evidence.py and measured here after: the MTA files' hard/soft
# 125 -> 128 / 131 and reason 112 -> 120 / 129 (the stand-in server's greylisting and
# 5.1.3 replies were written after the same documented texts, so this gain says the
# rules read those texts, not that unseen wordings are covered); the public files and
# the corpus score as before.
# 2026-12-07: 107 more MTA notices (sendmail 8.17.1.9: 43, Courier 1.0.16: 40, dma 0.13:
# 24; scripts/holdout_mta/), measured once after their labels were committed; the 131
# older MTA files and the 134 public ones score as before. The mta floors are the new
# figures: hard/soft 128/131 -> 229/238 (96.2 %), reason 120/129 -> 207/234 (88.5 %),
# status 68/131 -> 126/236 (53.4 %). By cause (docs/classification.md): Courier's six
# delay warnings that state a cause (a 4xx reply, "Connection refused") read as expired;
# the "Access denied"
# refusal (securityerror) and the 5.6.0 content refusal once more per MTA; dma's "DNS
# lookup failure: host ... not found" read as networkerror (2, hard -> soft); Courier's
# "550 User <...> unknown" for a local user unread (1, hard -> soft); sendmail's
# connection refused and 421 greeting read as expired (3); the status misses are again
# the MTA's own Status (Courier's 5.0.0 / 4.0.0, sendmail's 5.2.0, 4.4.7, ...) against the
# remote's quoted code.
# 2026-12-07: a second status row, "status as reported" (`status_reported`): the
# DSN's own Status field (RecipientFact.reported_status, migration 0026) when the
# notice has one, else pmail's status: the labelling rule of holdout-dev/README. The
# `status` row keeps measuring the corpus convention (the remote's quoted code). No
# label and no rule changed; both rows came out as printed in docs/classification.md
# ("The reporter's status"): status as reported 89/89 public, 236/236 mta.
# 2026-12-07, evening: 33 more MTA notices, Haraka 3.3.4 from npm (the first MTA here
# not from Debian; scripts/holdout_mta/run.sh haraka), measured once after their labels
# were committed; the 238 older MTA files and the 134 public ones score as before. The
# mta floors are the new figures: hard/soft 229/238 -> 259/271 (95.6 %), reason 207/234
# -> 234/265 (88.3 %), status 126/236 -> 152/267 (56.9 %). Haraka alone: hard/soft
# 30/33, reason 27/31, status 26/31. Its misses: "Too many failures (Tried all MXs)"
# with Haraka's Status 5.1.2 after a refused or silent server read as hostunknown,
# hard (2, a false hard bounce); "Access denied" read as userunknown (1, hard) and
# the 5.6.0 content refusal read as spamdetected (1), as for every other MTA; status,
# Haraka's 5.x.y after retries against the remote's 4.x.y (5).
THRESHOLDS = {
    "public": {
        "kind": 0.962,
        "recipient": 0.971,
        "status": 0.943,
        "status_reported": 1.0,
        "hard_soft": 0.908,
        "reason": 0.841,
    },
    "mta": {
        "kind": 1.0,
        "recipient": 1.0,
        "status": 0.569,
        "status_reported": 1.0,
        "hard_soft": 0.955,
        "reason": 0.883,
    },
}
MEASURES = tuple(THRESHOLDS["public"])
LABELS = {"status_reported": "status as reported"}


def _group(path: str) -> str:
    return "mta" if path.startswith("mta/") else "public"


def _rows() -> Iterator[dict[str, str]]:
    with (HOLDOUT / "labels.tsv").open(encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle, delimiter="\t")


def _score(row: dict[str, str], got: Classification, scores: dict[str, Score]) -> None:
    path = row["path"]
    scores["kind"].add(
        got.kind == row["kind"], expected=row["kind"], got=got.kind, path=path
    )
    if row["kind"] not in FAILURES:
        return
    wanted = [r for r in row["recipients"].split(",") if r]
    found = {f.recipient for f in got.recipients}
    if wanted:
        scores["recipient"].add(
            wanted[0] in found,
            expected=wanted[0],
            got=",".join(map(str, found)),
            path=path,
        )
    fact = next(
        (f for f in got.recipients if wanted and f.recipient == wanted[0]),
        got.recipients[0] if got.recipients else None,
    )
    values = {
        "status": fact.status if fact else None,
        # the labelling rule of holdout-dev/README: the DSN's Status field, else the
        # code the notice quotes (pmail's `status` without a DSN status)
        "status_reported": (fact.reported_status or fact.status) if fact else None,
        "reason": fact.reason if fact else None,
        "hard_soft": ("hard" if fact.hard else "soft") if fact else None,
    }
    for measure, value in values.items():
        want = row[measure.removesuffix("_reported")]
        if want:
            scores[measure].add(value == want, expected=want, got=str(value), path=path)


@pytest.fixture(scope="module")
def scores() -> dict[str, dict[str, Score]]:
    """Classify every held-out file once and print the accuracy table per group."""
    result = {
        group: {name: Score() for name in MEASURES} for group in (*THRESHOLDS, "all")
    }
    for row in _rows():
        got = classify_bytes((HOLDOUT / row["path"]).read_bytes())
        _score(row, got, result[_group(row["path"])])
        _score(row, got, result["all"])
    for group, measures in result.items():
        print(f"\nheld-out accuracy (tests/data/holdout-dev), {group}")
        print(
            f"{'measure':<18} {'right':>6} {'total':>6} {'share':>7}"
            f" {'95 % interval':>15} {'threshold':>9}"
        )
        for name, score in measures.items():
            low, high = score.interval
            floor = THRESHOLDS.get(group, {}).get(name)
            shown = f"{floor:>9.1%}" if floor is not None else f"{'-':>9}"
            print(
                f"{LABELS.get(name, name):<18} {score.right:>6} {score.total:>6} {score.rate:>7.1%}"
                f" {low:>7.1%}-{high:<7.1%} {shown}"
            )
    return result


def test_holdout_files_match_their_manifest() -> None:
    """Every labelled file exists, is listed with its source, and nothing is unlisted."""
    with (HOLDOUT / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        listed = {row["path"] for row in csv.DictReader(handle, delimiter="\t")}
    labelled = {row["path"] for row in _rows()}
    on_disk = {
        str(p.relative_to(HOLDOUT))
        for p in HOLDOUT.rglob("*")
        if p.is_file() and p.parent != HOLDOUT
    }
    assert labelled <= listed == on_disk
    assert len(labelled) >= 405


@pytest.mark.parametrize(
    ("group", "measure"),
    [(group, measure) for group in THRESHOLDS for measure in MEASURES],
)
def test_holdout_accuracy(
    scores: dict[str, dict[str, Score]], group: str, measure: str
) -> None:
    """Each measure on unseen mail stays at or above the recorded figure, per group."""
    score = scores[group][measure]
    assert score.total > 0, f"no held-out rows for {group} {measure}"
    assert score.rate >= THRESHOLDS[group][measure], score.report(measure)
