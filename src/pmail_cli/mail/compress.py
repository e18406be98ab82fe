"""zstd compression with optional per-tenant trained dictionaries."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import zstandard

from pmail_cli.mail.memo import remember_small

LEVEL = 9  # measured with a dictionary: 2% smaller than level 6 for 0.19 ms (vs 0.10) per message
DICT_SIZE = 112 * 1024


@dataclass(frozen=True, slots=True)
class Dictionary:
    """A trained dictionary as stored in compression_dicts."""

    dict_id: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Compressed:
    """Bytes as stored, with the method that reverses them."""

    data: bytes
    compression: str  # none | zstd | zstd-dict
    dict_id: int | None


@functools.lru_cache(maxsize=16)
def _compressor(dict_data: bytes | None) -> zstandard.ZstdCompressor:
    if dict_data is None:
        return zstandard.ZstdCompressor(level=LEVEL)
    digested = zstandard.ZstdCompressionDict(dict_data)
    # digest once: otherwise zstd loads the dictionary again for every message (+45%)
    digested.precompute_compress(level=LEVEL)
    return zstandard.ZstdCompressor(level=LEVEL, dict_data=digested)


@functools.lru_cache(maxsize=16)
def _decompressor(dict_data: bytes | None) -> zstandard.ZstdDecompressor:
    if dict_data is None:
        return zstandard.ZstdDecompressor()
    return zstandard.ZstdDecompressor(
        dict_data=zstandard.ZstdCompressionDict(dict_data)
    )


def usable(dictionary: Dictionary) -> bool:
    """Whether zstd can compress with the dictionary (a row a tenant's login inserted
    need not be one zstd accepts)."""
    try:
        _compressor(dictionary.data)
    except zstandard.ZstdError:
        return False
    return True


def compress(data: bytes, dictionary: Dictionary | None) -> Compressed:
    """Compress data, with the tenant's dictionary when it has one."""
    if dictionary is None:
        return Compressed(_compressor(None).compress(data), "zstd", None)
    packed = _compressor(dictionary.data).compress(data)
    return Compressed(packed, "zstd-dict", dictionary.dict_id)


@remember_small()  # the same deck sent again: compressed once
def compress_blob(data: bytes) -> Compressed:
    """Compress an attachment, or keep it as is when zstd does not help."""
    packed = zstandard.ZstdCompressor(level=3).compress(data)
    if len(packed) >= len(data):
        return Compressed(data, "none", None)
    return Compressed(packed, "zstd", None)


# The most any stored frame may unpack to: PostgreSQL keeps no value over 1 GB, and a
# frame that claims more (a damaged or hostile row) must not make pmail allocate it.
MAX_DECOMPRESSED = 1 << 30


class CorruptData(ValueError):
    """Stored bytes that do not decompress to a plausible message or file."""


def decompress(
    data: bytes,
    compression: str,
    dict_data: bytes | None = None,
    *,
    limit: int = MAX_DECOMPRESSED,
) -> bytes:
    """Reverse compress()/compress_blob(); dict_data is needed for zstd-dict.

    Never unpacks more than `limit` bytes, whatever size the frame claims.
    """
    if compression == "none":
        return data
    if compression == "zstd":
        return _bounded(_decompressor(None), data, limit)
    if compression == "zstd-dict":
        if dict_data is None:
            raise ValueError("zstd-dict data needs its dictionary")
        return _bounded(_decompressor(dict_data), data, limit)
    raise ValueError(f"unknown compression {compression!r}")


def _bounded(
    decompressor: zstandard.ZstdDecompressor, data: bytes, limit: int
) -> bytes:
    try:
        claimed = zstandard.frame_content_size(data)
    except zstandard.ZstdError as exc:
        raise CorruptData(f"not a zstd frame: {exc}") from None
    if claimed > limit:
        raise CorruptData(
            f"zstd frame claims {claimed:,} bytes, more than the {limit:,} allowed"
        )
    if claimed < 0:
        # pmail writes the size into every frame it makes: one without it was
        # written by something else, and a 32 KB such frame of zeros unpacks to a
        # gigabyte (seconds of CPU and the memory twice over for each row checked)
        raise CorruptData(
            "zstd frame without its content size (pmail writes one into every "
            "frame): not written by pmail"
        )
    try:
        return decompressor.decompress(data)
    except zstandard.ZstdError as exc:
        raise CorruptData(f"zstd data is damaged: {exc}") from None


# fastCover's segment and d-mer sizes, fixed: without them zstd searches for the best
# pair, which costs 4-5x the CPU and on mail picks this pair anyway (or does worse on
# small sample sets; docs/performance.md, "The first dictionary").
TRAIN_K = 1024
TRAIN_D = 8


def train(samples: Sequence[bytes], *, size: int = DICT_SIZE) -> bytes:
    """Train a zstd dictionary on samples of a tenant's mail."""
    return zstandard.train_dictionary(
        size, list(samples), level=LEVEL, k=TRAIN_K, d=TRAIN_D
    ).as_bytes()


def zstd_dict_id(dict_data: bytes) -> int:
    """Return the id zstd wrote into a trained dictionary."""
    return zstandard.ZstdCompressionDict(dict_data).dict_id()
