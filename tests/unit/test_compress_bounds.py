"""A stored frame is data a tenant login can rewrite (its own rows): decompressing it
must not cost more than a frame pmail itself could have written."""

from __future__ import annotations

import pytest
import zstandard

from pmail_cli.mail.compress import CorruptData, compress_blob, decompress
from pmail_cli.mail.verify import StoredFile, check_files


def test_a_frame_without_its_size_is_refused_unread() -> None:
    """pmail writes the content size into every frame; one without it (a 32 KB frame
    of zeros unpacks to a gigabyte, which validate --deep unpacked for seconds and
    held twice) is refused before anything is unpacked."""
    writer = zstandard.ZstdCompressor(write_content_size=False).compressobj()
    frame = writer.compress(b"\0" * (1 << 20)) + writer.flush()
    assert zstandard.frame_content_size(frame) == -1
    with pytest.raises(CorruptData, match="without its content size"):
        decompress(frame, "zstd")


def test_a_frame_claiming_more_than_the_limit_is_refused() -> None:
    """A frame whose header claims more than the limit is refused from its header."""
    frame = zstandard.ZstdCompressor().compress(b"\0" * 5000)
    with pytest.raises(CorruptData, match="claims 5,000 bytes"):
        decompress(frame, "zstd", limit=4999)
    packed = compress_blob(b"pmail " * 1000)
    assert decompress(packed.data, packed.compression) == b"pmail " * 1000


def test_a_file_is_checked_within_the_size_the_writer_knows() -> None:
    """The writer checks a stored file before it reuses it (a tenant login may plant
    the row), knowing the file's own size: a planted frame claiming more is refused
    from its header, not unpacked to what it claims (up to 1 GiB otherwise)."""
    frame = zstandard.ZstdCompressor().compress(b"\0" * (8 << 20))
    planted = StoredFile("t", b"\0" * 32, 8 << 20, "zstd", frame)
    (finding,) = check_files([planted], limit=20_000).findings
    assert "claims 8,388,608 bytes, more than the 20,000 allowed" in finding.problem
    (unbounded,) = check_files([planted]).findings  # unpacked, then compared
    assert unbounded.problem == "sha256 mismatch"
