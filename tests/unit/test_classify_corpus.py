"""Accuracy of pmail_cli.classify against the labelled real-mail corpus.

Labels come from ../shared/corpus/labels.tsv (see its README). Kinds are mapped
feedback -> complaint, reply -> email, mdn -> read_receipt. sisimai, flufl and
CwsMailBounceHandler have no "delay" class and file every delivery warning as
"bounce", so for rows from those sources whose label itself says the failure was
temporary (perm_temp), a "delay" answer also counts as right — the corpus README
defines delay as exactly such a warning; the strict figure is checked too. Status codes of the form X.0.9NN are
sisimai's own inferences, not facts of the message, and are not scored.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from pmail_cli.classify import Classification, RecipientFact, classify_bytes
from tests.support.scoring import Score

pytestmark = pytest.mark.corpus

KIND_MAP = {"feedback": "complaint", "reply": "email", "mdn": "read_receipt"}
# Label sources whose taxonomy has no delay class (see module docstring).
NO_DELAY_SOURCES = (
    "go-sisimai@",
    "flufl.bounce",
    "CwsMailBounceHandler",
    "collection-level",
)
THRESHOLDS = {"kind": 0.97, "status": 0.95, "hard_soft": 0.98, "reason": 0.94}


def corpus_dir() -> Path:
    """Return the corpus: $PMAIL_CORPUS, else shared/corpus beside the repo."""
    env = os.environ.get("PMAIL_CORPUS")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[2]
    return repo.parent / "shared" / "corpus"


def _rows(root: Path) -> Iterator[dict[str, str]]:
    with (root / "labels.tsv").open(encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle, delimiter="\t")


def _scored_status(status: str) -> bool:
    parts = status.split(".")
    return len(parts) == 3 and not (parts[1] == "0" and len(parts[2]) == 3)


def _hard_soft(fact: RecipientFact | None) -> str:
    if fact is None:
        return "-"
    return "hard" if fact.hard else "soft"


def _value(fact: RecipientFact | None, measure: str) -> str:
    if measure == "hard_soft":
        return _hard_soft(fact)
    if fact is None:
        return "-"
    return str(getattr(fact, measure) or "-")


_DETAIL_INDEX = {"status": 0, "reason": 2, "hard_soft": 3}


def _all_recipients_match(
    row: dict[str, str], got: Classification, measure: str
) -> bool:
    """Return True when every labelled recipient matches, in any order.

    sisimai's `detail` lists all recipients; its order need not be the order
    of the report, so multi-recipient rows may be compared as multisets.
    """
    if not row["basis"].startswith("go-sisimai@") or not row["detail"]:
        return False
    detail = [d.split("/") for d in row["detail"].split(";")]
    if len(detail) < 2 or len(detail) != len(got.recipients):
        return False
    index = _DETAIL_INDEX[measure]
    want = sorted(d[index] if len(d) > index else "-" for d in detail)
    return want == sorted(_value(f, measure) for f in got.recipients)


def _score_row(
    row: dict[str, str], got: Classification, scores: dict[str, Score]
) -> None:
    path = row["path"]
    expected = KIND_MAP.get(row["kind"], row["kind"])
    strict = got.kind == expected
    lenient = expected == "bounce" and got.kind == "delay"
    ok = strict or (
        lenient
        and row["perm_temp"] == "temporary"
        and row["basis"].startswith(NO_DELAY_SOURCES)
    )
    scores["kind"].add(ok, expected=expected, got=got.kind, path=path)
    scores["kind_strict"].add(strict, expected=expected, got=got.kind, path=path)
    first = got.recipients[0] if got.recipients else None
    labelled = {
        "status": row["status"] if _scored_status(row["status"]) else "",
        "hard_soft": row["hard_soft"],
        "reason": row["reason"],
    }
    for measure, want in labelled.items():
        if not want:
            continue
        value = _value(first, measure)
        ok = value == want or _all_recipients_match(row, got, measure)
        scores[measure].add(ok, expected=want, got=value, path=path)


@pytest.fixture(scope="module")
def scores() -> dict[str, Score]:
    """Classify every labelled corpus file once and score all measures."""
    root = corpus_dir()
    if not (root / "labels.tsv").is_file():
        pytest.fail(
            f"labelled corpus not found at {root}: set PMAIL_CORPUS or put the "
            "shared corpus beside the repository (../shared/corpus)"
        )
    result = {name: Score() for name in ("kind", "kind_strict", *THRESHOLDS)}
    for row in _rows(root):
        got = classify_bytes((root / row["path"]).read_bytes())
        _score_row(row, got, result)
    print(
        "\n"
        + "\n".join(
            f"{n}: {s.right}/{s.total} = {s.rate:.1%}" for n, s in result.items()
        )
    )
    return result


@pytest.mark.parametrize("measure", sorted(THRESHOLDS))
def test_corpus_accuracy(scores: dict[str, Score], measure: str) -> None:
    """Each measure reaches its accuracy threshold over all labelled files."""
    score = scores[measure]
    assert score.total > 0, f"no labelled rows for {measure}"
    assert score.rate >= THRESHOLDS[measure], score.report(measure)


def test_corpus_strict_kind_is_reported(scores: dict[str, Score]) -> None:
    """Even without the delay/bounce allowance, kinds stay mostly right."""
    score = scores["kind_strict"]
    assert score.rate >= 0.93, score.report("kind (strict)")


def test_every_corpus_file_classifies(scores: dict[str, Score]) -> None:
    """No corpus file, labelled or not (mbox, torture, endless nesting), fails."""
    root = corpus_dir()
    skip = {"labels.tsv", "MANIFEST.tsv", "README.md"}
    kinds: Counter[str] = Counter()
    for path in sorted(
        p for p in root.rglob("*") if p.is_file() and p.name not in skip
    ):
        kinds[classify_bytes(path.read_bytes()).kind] += 1
    assert sum(kinds.values()) > 900
    assert kinds["email"] > 250
