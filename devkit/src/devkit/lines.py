"""Split a byte stream into lines the way the daemon's bufio.Scanner does, with its size cap."""

from __future__ import annotations

from collections.abc import Iterable, Iterator


class LineTooLong(Exception):
    """A line passed the cap: Go's `bufio.Scanner: token too long`."""


def split_lines(chunks: Iterable[bytes], max_bytes: int | None = None) -> Iterator[bytes]:
    """Yield each non-empty line (without its newline); a final line without newline is yielded at the end."""
    pending = bytearray()  # appends are amortised O(1), even for multi-megabyte lines
    for data in chunks:
        if not data:
            continue
        pending += data
        if b"\n" in data:
            *lines, rest = pending.split(b"\n")
            pending = bytearray(rest)
        else:
            lines = []
        for line in lines:
            _check(line, max_bytes)
            if line.strip():
                yield bytes(line)
        _check(pending, max_bytes)
    if pending.strip():
        yield bytes(pending)


def _check(line: bytearray, max_bytes: int | None) -> None:
    # The scanner's buffer holds at most max_bytes, newline included: a line of that many bytes already fails.
    if max_bytes is not None and len(line) >= max_bytes:
        raise LineTooLong(f"a line of {max_bytes} bytes or more")
