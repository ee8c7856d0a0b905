"""A web worker's memory after a large piece of work (a city's area index, a statistics page
over a city year): the heap it freed is handed back to the system. glibc keeps freed heap for
the process otherwise, and a worker would stay as large as its largest moment.

What cannot be handed back — Python keeps a block of its small objects while any one object in
it lives, and a long request leaves such blocks scattered — is bounded by replacing the worker:
``grown_past`` tells gunicorn.conf.py when one is larger than its limit after such a request."""
from __future__ import annotations

import ctypes
from pathlib import Path


def give_back_freed_memory() -> None:
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to give back this way
        pass


def resident_mb() -> float | None:
    """This process's resident memory (RSS) in MB; None where /proc does not tell it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def grown_past(limit_mb: float, size_at_start: float | None) -> float | None:
    """This process's size when it has grown past ``limit_mb`` (0: no limit) since it started
    under it, else None. A process that started above the limit is never "grown past" it: a
    fresh one would be as large (the limit is set below the app's own size)."""
    if limit_mb <= 0 or size_at_start is None or size_at_start >= limit_mb:
        return None
    size = resident_mb()
    return size if size is not None and size > limit_mb else None
