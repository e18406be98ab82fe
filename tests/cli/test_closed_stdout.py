"""A reader that stops reading (`pmail list | head -1`): every command and format
ends the same way, quietly, with exit 141 (docs/commands.md), through a real pipe."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import mailgen

PMAIL = str(Path(sys.executable).with_name("pmail"))  # the installed command
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
FORMATS = ("table", "csv", "json", "markdown")
CLOSED = 141  # 128 + SIGPIPE, as a shell shows it for `git log | head -1`
# what Python or click print when a flush at exit fails, or a traceback
NOISE = ("Traceback", "BrokenPipeError", "Exception ignored", "error:")


def _environ(buffered: bool) -> dict[str, str]:
    """This environment; stdout block-buffered as a user's is, or unbuffered."""
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return environ if buffered else {**environ, "PYTHONUNBUFFERED": "1"}


def _into_closed_pipe(
    args: list[str], environ: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run `args` with stdout a pipe whose reading end is closed before it starts:
    its first write meets a reader that has gone, as `| head -0` makes it."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            args,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=environ,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)


def _stored(dsn: str) -> None:
    done = subprocess.run(
        [PMAIL, "--dsn", dsn, "-q", "ingest", str(SAMPLE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.db
@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
def test_every_command_and_format_ends_quietly_with_141(
    dsn: str, buffered: bool
) -> None:
    """Data commands in every format, buffered or not: exit 141 and nothing but their
    own stderr lines (never a traceback or Python's 'Exception ignored'); csv ended 1
    and the others 0 or 120 before, by how much was buffered."""
    _stored(dsn)
    commands = (
        ["list"],
        ["tenant", "list"],
        ["suppressions"],
        ["report", "volume", "--tenant", "default", "--days", "30"],
    )
    ended: dict[str, tuple[int, str]] = {}
    for command in commands:
        for fmt in FORMATS:
            done = _into_closed_pipe(
                [PMAIL, "--dsn", dsn, *command, "--format", fmt], _environ(buffered)
            )
            noise = [n for n in NOISE if n in done.stderr]
            ended[f"{' '.join(command)} -f {fmt}"] = (done.returncode, ", ".join(noise))
    assert ended == dict.fromkeys(ended, (CLOSED, ""))


@pytest.mark.parametrize(
    "args", [["--version"], ["--help"], ["list", "--help"]], ids=" ".join
)
def test_help_and_version_end_the_same_way(args: list[str]) -> None:
    """What the parser prints itself (help, the version) ends as the data does."""
    done = _into_closed_pipe([PMAIL, *args], _environ(buffered=True))
    assert (done.returncode, done.stderr) == (CLOSED, "")


def test_a_reader_that_leaves_mid_stream(tmp_path: Path) -> None:
    """`pmail classify DIR -f json | head -1`: output far larger than a pipe holds,
    read one line in, then left: exit 141 with the reader gone, quietly."""
    for n in range(400):
        (tmp_path / f"{n}.eml").write_bytes(mailgen.simple(n))
    with subprocess.Popen(
        [PMAIL, "classify", str(tmp_path), "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_environ(buffered=True),
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline() == b"[\n"
        proc.stdout.close()  # more than 400 records (>100 kB) are still to come
        err = proc.stderr.read()
        assert (proc.wait(timeout=120), err) == (CLOSED, b"")


@pytest.mark.db
def test_a_full_read_still_ends_0(dsn: str) -> None:
    """The fix changes nothing for a reader that reads everything."""
    _stored(dsn)
    done = subprocess.run(
        [PMAIL, "--dsn", dsn, "list", "--format", "csv"],
        capture_output=True,
        text=True,
        env=_environ(buffered=True),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 17  # a header and the sample's 16


@pytest.mark.db
@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
def test_a_full_disk_is_an_error_hint_pair(dsn: str, buffered: bool) -> None:
    """stdout on a full disk (/dev/full): one error/hint pair and exit 1 for every
    command and format, never a traceback or Python's 'Exception ignored'."""
    _stored(dsn)
    ended = {}
    for args in (
        ["--dsn", dsn, "tenant", "list"],
        ["--dsn", dsn, "list", "--format", "json"],
        ["--dsn", dsn, "suppressions", "--format", "csv"],
        ["--version"],
    ):
        with open("/dev/full", "w") as full:
            done = subprocess.run(
                [PMAIL, *args],
                stdout=full,
                stderr=subprocess.PIPE,
                text=True,
                env=_environ(buffered),
                timeout=120,
                check=False,
            )
        said = [
            line for line in done.stderr.splitlines() if not line.startswith("more:")
        ]
        ended[args[-1]] = (done.returncode, said)
    assert ended == dict.fromkeys(
        ended,
        (
            1,
            [
                "error: cannot write: No space left on device",
                "hint: free some space where the output goes (or send it elsewhere), "
                "then run the command again",
            ],
        ),
    )


@pytest.mark.db
def test_a_command_that_prints_no_data_runs_with_descriptor_1_closed(dsn: str) -> None:
    """`pmail ingest … >&-` (cron, a daemon): Python has no sys.stdout at all, and a
    command that writes only to stderr runs as before."""
    done = subprocess.run(
        [PMAIL, "--dsn", dsn, "ingest", str(SAMPLE)],
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: os.close(1),  # in the child, before pmail starts
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("ingested 16 messages,"), done.stderr


CLOSED_AT_START = [
    "error: cannot write output: stdout is closed",
    "hint: the command was started with its standard output (descriptor 1) closed "
    "(`>&-`): send it to a file, a pipe or /dev/null instead",
]


@pytest.mark.db
def test_a_command_that_prints_data_with_descriptor_1_closed(dsn: str) -> None:
    """`pmail tenant list >&-`: a command whose data has nowhere to go says so in
    one error/hint pair and exits 1, in every format (it was a traceback, or for
    print() and the parser's own output, nothing at all and exit 0)."""
    _stored(dsn)
    listed = subprocess.run(
        [PMAIL, "--dsn", dsn, "list", "--format", "csv"],
        capture_output=True,
        text=True,
        check=True,
    )
    key = listed.stdout.splitlines()[1].split(",")[0]
    commands = [
        *(["--dsn", dsn, "tenant", "list", "--format", fmt] for fmt in FORMATS),
        ["--dsn", dsn, "list"],
        ["--dsn", dsn, "show", key],
        ["--dsn", dsn, "show", "--raw", key],
        ["classify", str(SAMPLE), "--format", "json"],
        ["--version"],
        ["list", "--help"],
    ]
    ended = {}
    for args in commands:
        done = subprocess.run(
            [PMAIL, *args],
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: os.close(1),  # in the child, before pmail starts
            timeout=120,
            check=False,
        )
        said = [
            line
            for line in done.stderr.splitlines()
            if line.startswith(("error", "hint")) or "Traceback" in line
        ]
        ended[" ".join(args[2:] if args[0] == "--dsn" else args)] = (
            done.returncode,
            said,
        )
    assert ended == dict.fromkeys(ended, (1, CLOSED_AT_START))


@pytest.mark.db
@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
def test_a_reader_that_leaves_during_one_large_write(
    dsn: str, buffered: bool, tmp_path: Path
) -> None:
    """`pmail list -f json | head -1` where the list, written at once, is larger than
    the pipe holds: the reader leaves while pmail waits in that write, which the
    kernel then ends short; exit 141. Unbuffered (python -u, PYTHONUNBUFFERED=1) the
    short write was taken as the whole and the rest dropped silently: exit 0."""
    import fcntl
    import termios
    import time

    for n in range(800):
        (tmp_path / f"{n}.eml").write_bytes(mailgen.simple(n))
    stored = subprocess.run([PMAIL, "--dsn", dsn, "-q", "ingest", str(tmp_path)])
    assert stored.returncode == 0
    args = [PMAIL, "--dsn", dsn, "list", "--format", "json", "--limit", "800"]
    environ = _environ(buffered)
    whole = subprocess.run(args, capture_output=True, env=environ, check=True)
    read_end, write_end = os.pipe()
    size = fcntl.fcntl(write_end, 1032)  # F_GETPIPE_SZ
    assert len(whole.stdout) > 2 * size
    try:
        with subprocess.Popen(
            args, stdout=write_end, stderr=subprocess.PIPE, env=environ
        ) as proc:
            os.close(write_end)
            queued = bytearray(4)
            while proc.poll() is None:  # until pmail waits on a full pipe
                fcntl.ioctl(read_end, termios.FIONREAD, queued)
                if int.from_bytes(queued, sys.byteorder) >= size:
                    break
                time.sleep(0.01)
            os.close(read_end)  # the reader leaves, nothing read
            read_end = -1
            _, err = proc.communicate(timeout=120)
        assert (proc.returncode, err) == (CLOSED, b"")
    finally:
        if read_end >= 0:
            os.close(read_end)


def test_descriptor_1_closed_at_start_is_never_a_file_of_pmail_s(
    tmp_path: Path,
) -> None:
    """Started with descriptor 1 closed, the next file pmail opened got it (an
    export's output, say), where anything writing to descriptor 1 in the process (a
    C library) would write; and a child process (pg_ctl, initdb) found its stdout
    closed and failed on its first write (`echo` here exited 1). /dev/null holds
    descriptor 1 now, and children inherit it."""
    out = tmp_path / "export.eml"
    script = (
        "import os, subprocess, sys\n"
        "from pmail_cli import output\n"
        "output.stdout_closed_at_start()\n"
        f"fd = os.open({str(out)!r}, os.O_WRONLY | os.O_CREAT)\n"
        "assert fd != 1, fd\n"
        "subprocess.run(['echo', 'a child says this'], check=True)\n"
        "os.close(fd)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: os.close(1),  # in the child, before Python starts
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == b""
