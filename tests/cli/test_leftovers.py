"""The leftovers check (tests/support/leftovers.py) finds what a run leaves behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil  # type: ignore[import-untyped]

from tests.support.leftovers import processes_naming

REPO = Path(__file__).resolve().parents[2]
SLEEPER = "import sys, time; time.sleep(600)"


def test_a_process_naming_a_run_directory_is_found(tmp_path: Path) -> None:
    """Found while it runs, by its path only (not a longer sibling path), and not
    once it has ended."""
    proc = subprocess.Popen([sys.executable, "-c", SLEEPER, str(tmp_path / "pgdata")])
    try:
        found = processes_naming([tmp_path])
        assert len(found) == 1 and f"process {proc.pid} " in found[0], found
        assert processes_naming([Path(str(tmp_path)[:-1])]) == []
    finally:
        proc.kill()
        proc.wait()
    assert processes_naming([tmp_path]) == []


LEAKY_TEST = f"""
import subprocess, sys

def test_leaves_a_process(tmp_path):
    subprocess.Popen([sys.executable, "-c", {SLEEPER!r}, str(tmp_path / "x")])
"""


def test_a_run_that_leaves_a_process_fails(tmp_path: Path) -> None:
    """A session whose test leaves a process naming its temp root exits 1 and
    names the process, though the test itself passed."""
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "test_leaky.py").write_text(LEAKY_TEST)
    basetemp = tmp_path / "basetemp"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "-p",
                "tests.support.leftovers",
                f"--basetemp={basetemp}",
                "--rootdir",
                str(tmp_path / "suite"),
                str(tmp_path / "suite"),
            ],
            env=env,
            cwd=tmp_path / "suite",
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 1, run.stdout + run.stderr
        assert "1 passed" in run.stdout
        assert "left behind by the test run" in run.stdout
        assert str(basetemp) in run.stdout
    finally:
        for found in processes_naming([basetemp]):
            pid = int(found.split()[1])
            psutil.Process(pid).kill()
