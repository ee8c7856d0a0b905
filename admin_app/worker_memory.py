"""How large a web worker is, and when gunicorn.conf.py replaces it for its size.

After a long request the worker hands back the heap it freed (models/process_memory.py). What
it cannot hand back — Python keeps a block of its small objects while any one object in it
lives, and a long request (a city's statistics over a year) leaves such blocks scattered — is
bounded by replacing the worker with a fresh fork of the warmed master."""
from __future__ import annotations

from pathlib import Path


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
