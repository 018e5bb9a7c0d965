"""Compressed text inputs: gzip and zstd, recognised by their magic bytes.

zstd is an optional dependency (``bondkd[zstd]``); a .zst input without it fails with one
line naming the extra.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from typing import IO, Any

from bondkd.read.tables import is_zstd, need


def inflated(raw: IO[bytes]) -> Any:
    """A byte stream over the content, gunzipped or zstd-inflated when the magic bytes say
    so, that can go back to its start (`seek(0)`) after the head is sniffed."""
    magic = raw.read(4)
    raw.seek(0)
    if is_zstd(magic):
        return _Zstd(raw)
    return gzip.GzipFile(fileobj=raw) if magic[:2] == b"\x1f\x8b" else raw


def open_inflated(path: str) -> Any:
    """`path` (plain, gzip or zstd) as a byte stream of lines; the caller closes it."""
    return inflated(open(path, "rb"))


class _Zstd:
    """A zstd stream read from the top again on `seek(0)` (a zstd frame cannot seek)."""

    def __init__(self, raw: IO[bytes]):
        self.raw, self._zstd = raw, need("zstandard", "zstd", "reading .zst files")
        self.seek(0)

    def seek(self, pos: int) -> None:
        self.raw.seek(pos)
        self.stream = io.BufferedReader(_Frames(self.raw, self._zstd), 1 << 16)

    def read(self, n: int = -1) -> bytes:
        return self.stream.read(n)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.stream)

    def __enter__(self) -> _Zstd:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.raw.close()

    def close(self) -> None:
        self.raw.close()


class _Frames(io.RawIOBase):
    """The frames of a zstd stream, inflated one after the other. zstandard's own stream
    reader ends quietly at a cut frame; a cut file must be an error, not fewer records."""

    def __init__(self, raw: IO[bytes], zstd: Any):
        self.raw, self.zstd = raw, zstd
        self.dobj, self.started = zstd.ZstdDecompressor().decompressobj(), False
        self.pending, self.at = b"", 0  # inflated bytes not yet handed out, from `at`

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        while self.at == len(self.pending):
            self.pending, self.at = b"", 0
            chunk = self.raw.read(1 << 16)
            if not chunk:
                if self.started and not self.dobj.eof:
                    raise ZstdCorrupt("the last frame is cut short")
                return 0
            while chunk:
                if self.dobj.eof:  # the next frame
                    self.dobj = self.zstd.ZstdDecompressor().decompressobj()
                self.started = True
                try:
                    self.pending += self.dobj.decompress(chunk)
                except self.zstd.ZstdError as e:
                    raise ZstdCorrupt(str(e)) from None
                chunk = self.dobj.unused_data if self.dobj.eof else b""
        n = min(len(buf), len(self.pending) - self.at)
        buf[:n] = self.pending[self.at : self.at + n]
        self.at += n
        return n


class ZstdCorrupt(OSError):
    """Broken zstd data, told apart from gzip's in messages."""


def corrupt(e: BaseException, what: str = "corrupt") -> str:
    return f"{what} {'zstd' if isinstance(e, ZstdCorrupt) else 'gzip'} data: {e}"
