"""Tests of the ingest benchmark's pure helpers; nothing here times anything."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from benchmarks import ingest

CAMPAIGN = "6e197929-4071-430b-aa2d-3bb4f8bb3f1a"
LEAD = "1f0b7c4e-2a6d-4d0e-9b1a-5c3e8f7a6b21"


def test_median_ignores_missing_values() -> None:
    """The median is taken over measured values only, odd and even counts alike."""
    assert ingest.median([3.0, None, 1.0, 2.0]) == 2.0
    assert ingest.median([4.0, 1.0]) == 2.5
    assert ingest.median([None, None]) is None
    assert ingest.median([]) is None


def test_ratio_and_rate_handle_missing_and_zero() -> None:
    """A ratio with a missing or zero denominator is None rather than an error."""
    assert ingest.ratio(6.0, 2.0) == 3.0
    assert ingest.ratio(None, 2.0) is None
    assert ingest.ratio(1.0, None) is None
    assert ingest.ratio(1.0, 0.0) is None
    assert ingest.rate(500, 2.0) == 250.0
    assert ingest.rate(None, 2.0) is None


@pytest.mark.parametrize(
    ("metric", "value", "verdict"),
    [
        ("pmail_vs_baseline", 3.0, "PASS"),
        ("pmail_vs_baseline", 2.99, "FAIL"),
        ("pmail_vs_parse", 1.0, "PASS"),
        ("storage_vs_baseline", 0.25, "PASS"),
        ("storage_vs_baseline", 0.26, "FAIL"),
        ("memory_growth", 1.6, "FAIL"),
        ("reingest_speedup", 5.5, "PASS"),
        ("reingest_speedup", None, "n/a"),
    ],
)
def test_targets_compare_against_their_thresholds(
    metric: str, value: float | None, verdict: str
) -> None:
    """Each DESIGN.md target passes on its boundary and fails just beyond it."""
    target = next(t for t in ingest.TARGETS if t.metric == metric)
    assert target.evaluate(value) == verdict


def test_target_label_shows_direction_and_threshold() -> None:
    """The label printed beside a figure states the comparison and the bound."""
    labels = {t.metric: t.label() for t in ingest.TARGETS}
    assert labels["pmail_vs_baseline"] == ">= 3.00x"
    assert labels["storage_vs_baseline"] == "<= 0.25x"


def test_run_metrics_derive_rates_and_ratios() -> None:
    """Rates, ratios and bytes per message follow from one run's raw measurements."""
    record = ingest.RunRecord(
        run=1,
        messages=1000,
        raw_bytes=10_000_000,
        parse_seconds=4.0,
        pmail_seconds=2.0,
        pmail_peak_rss=200 * 2**20,
        pmail_stored=1000,
        pmail_bytes=2_000_000,
        reingest_seconds=0.25,
        baseline_messages=100,
        baseline_seconds=1.0,
        baseline_bytes=1_000_000,
    )
    metrics = ingest.run_metrics(record)
    assert metrics["pmail_rate"] == 500.0
    assert metrics["parse_rate"] == 250.0
    assert metrics["baseline_rate"] == 100.0
    assert metrics["pmail_vs_baseline"] == 5.0
    assert metrics["pmail_vs_parse"] == 2.0
    assert metrics["reingest_speedup"] == 8.0
    assert metrics["pmail_bytes_per_message"] == 2000.0
    assert metrics["baseline_bytes_per_message"] == 10_000.0
    assert metrics["storage_vs_baseline"] == 0.2
    assert metrics["storage_vs_raw"] == 0.2
    assert metrics["peak_rss_mb"] == 200.0


def test_run_metrics_of_a_failed_run_are_missing() -> None:
    """When pmail failed, its figures and every ratio using them are None."""
    metrics = ingest.run_metrics(ingest.RunRecord(1, 1000, 10_000, parse_seconds=2.0))
    assert metrics["parse_rate"] == 500.0
    assert metrics["pmail_rate"] is None
    assert metrics["pmail_vs_parse"] is None
    assert metrics["storage_vs_baseline"] is None


def test_summarise_takes_medians_and_memory_growth() -> None:
    """The summary reports per-run medians, the scaled run's rate and its peak growth."""
    runs = [
        ingest.RunRecord(
            i, 100, 1000, pmail_seconds=seconds, pmail_peak_rss=100 * 2**20
        )
        for i, seconds in enumerate((1.0, 4.0, 2.0), start=1)
    ]
    memory = ingest.RunRecord(
        0, 1000, 10_000, pmail_seconds=20.0, pmail_peak_rss=130 * 2**20
    )
    summary = ingest.summarise(runs, memory, 10)
    assert summary["median"]["pmail_rate"] == 50.0
    assert summary["memory"]["rate"] == 50.0
    assert summary["median"]["memory_growth"] == pytest.approx(1.3)
    verdicts = {v["metric"]: v["result"] for v in summary["targets"]}
    assert verdicts["memory_growth"] == "PASS"
    assert verdicts["pmail_vs_baseline"] == "n/a"


def test_parse_summary_reads_pmail_ingest_counts() -> None:
    """Added and duplicate counts come from pmail's one-line summary on stderr."""
    line = (
        "ingested 1,234 messages, 5,000 duplicates skipped, 1 with parse problems, "
        "0 empty inputs, 0 unreadable, stored 14% of raw size\n"
    )
    assert ingest.parse_summary("noise\n" + line) == (1234, 5000)
    assert ingest.parse_summary("Traceback ...") is None


def test_header_refs_reads_only_the_top_level_header() -> None:
    """Campaign and lead ids come from the message header, not an embedded message."""
    raw = (
        f"From: a@acme.test\r\nX-PM-Campaign-Id: {CAMPAIGN.upper()}\r\n"
        f"x-pm-lead-id: {LEAD}\r\n\r\nbody\r\nX-PM-Campaign-Id: {LEAD}\r\n"
    ).encode()
    assert ingest.header_refs(raw) == (CAMPAIGN, LEAD)
    assert ingest.header_refs(b"Subject: hi\n\nX-PM-Lead-Id: " + LEAD.encode()) == (
        None,
        None,
    )
    assert ingest.header_refs(b"X-PM-Campaign-Id: not-a-uuid\n\n") == (None, None)


def test_tail_keeps_the_last_non_blank_lines() -> None:
    """An error excerpt is the end of stderr, where the exception is printed."""
    assert ingest.tail("a\n\nb\nc\n  \nd\n", lines=2) == "c\nd"


def test_format_value_marks_missing_figures() -> None:
    """A figure that was not measured shows as a dash."""
    assert ingest.format_value("{:.2f}x", None) == "-"
    assert ingest.format_value("{:.2f}x", 3.14159) == "3.14x"


def test_parse_args_defaults() -> None:
    """Without options the benchmark uses the documented defaults."""
    args = ingest.parse_args([])
    assert (args.messages, args.seed, args.jobs, args.runs) == (20_000, 1, 0, 3)
    assert (args.memory_scale, args.baseline_messages) == (10, 3000)
    assert not (args.json or args.skip_baseline or args.profile or args.platform_rows)
    assert isinstance(args.workdir, Path)


def test_parse_args_reads_the_dsn_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PMAIL_BENCH_DSN replaces the default server unless --dsn is given."""
    monkeypatch.setenv("PMAIL_BENCH_DSN", "host=db")
    assert ingest.parse_args([]).dsn == "host=db"
    assert ingest.parse_args(["--dsn", "host=other"]).dsn == "host=other"


@pytest.mark.parametrize(
    "argv",
    [["--messages", "0"], ["--runs", "-1"], ["--memory-scale", "1"], ["--jobs", "-2"]],
)
def test_parse_args_rejects_bad_values(argv: list[str]) -> None:
    """Impossible sizes exit with a usage error instead of running."""
    with pytest.raises(SystemExit) as exc:
        ingest.parse_args(argv)
    assert exc.value.code == 2


def test_flatten_profile_counts_recursion_once() -> None:
    """A recursive function's cumulative time is counted once, its self time summed."""

    def frame(name: str, time: float, *children: SimpleNamespace) -> SimpleNamespace:
        own = time - sum(c.time for c in children)
        return SimpleNamespace(
            function=name,
            file_path_short="m.py",
            line_no=1 if name == "walk" else 2,
            time=time,
            total_self_time=own,
            is_synthetic=False,
            children=list(children),
        )

    root = frame("main", 10.0, frame("walk", 8.0, frame("walk", 5.0)))
    lines = {p.function: p for p in ingest.flatten_profile(root)}
    assert lines["walk"].total_seconds == 8.0
    assert lines["walk"].self_seconds == 8.0
    assert lines["main"].total_percent == 100.0
    assert lines["main"].self_percent == 20.0
