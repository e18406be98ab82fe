"""Tests of the start-up benchmark: it runs the real commands and reports each one."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks import startup
from benchmarks.reports import pmail_path, timed_run


def test_measure_runs_every_command_with_every_pmail(
    dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """One round over a real database: a row per command and pmail, ratios to the
    first pmail, verdicts only for the commands the issues set a target for (16:
    --help and classify; 27: list, search, show, report volume)."""
    pmail = pmail_path()
    rows = startup.measure([pmail, pmail], dsn, startup.sample_message(), runs=1)
    names = [row["command"] for row in rows]
    assert names == [
        "python -c pass",
        startup.FLOOR,
        *[
            name
            for name in startup.commands(dsn, startup.sample_message())
            for _ in (1, 2)
        ],
    ]
    assert {"list", "search WORD", "show KEY", "report volume"} <= set(names)
    assert all(row["median_s"] > 0 and row["min_s"] <= row["median_s"] for row in rows)
    assert all(row["cpu_median_s"] > 0 for row in rows)
    firsts = rows[2::2]  # each command's first pmail
    assert all(row["vs_first"] == 1.0 for row in firsts)
    targets = {row["command"]: row["target_s"] for row in rows}
    assert {c for c, t in targets.items() if t == 0.3} == {"--help", "classify FILE"}
    assert {c for c, t in targets.items() if t == 0.15} == set(startup.READS)
    startup.print_table(rows)
    table = capsys.readouterr().out
    assert table.count("(< 0.3 s: ") == 4  # two commands, two pmails
    assert table.count("(< 0.15 s: ") == 8  # four commands, two pmails


def test_a_failing_command_stops_the_benchmark() -> None:
    """A command that fails is an error, not a fast time."""
    with pytest.raises(SystemExit, match="exit 2"):
        timed_run([pmail_path(), "no-such-command"])


def test_the_reads_run_through_the_resident_server_too(
    dsn: str, tmp_path: Path
) -> None:
    """With a resident server, each everyday read gets a second row, run through
    it, with its ratio to the direct run of the same command and the same target."""
    pmail = pmail_path()
    served = startup.with_socket_dir(None, tmp_path / "r")
    startup.timed_run_env([pmail, "resident", "start"], served)
    try:
        rows = startup.measure(
            [pmail], dsn, startup.sample_message(), runs=1, resident=served
        )
    finally:
        startup.timed_run_env([pmail, "resident", "stop"], served)
    by_name = {row["command"]: row for row in rows}
    for read in startup.READS:
        row = by_name[read + startup.RESIDENT]
        direct = by_name[read]["median_s"]
        # (the ratio of the unrounded medians; these are rounded to 1 ms)
        assert row["vs_first"] == pytest.approx(row["median_s"] / direct, abs=0.01)
        assert row["target_s"] == startup.READ_TARGET_SECONDS
    assert "tenant list" + startup.RESIDENT not in by_name
