"""A web worker's memory after a large piece of work (a city's area index, a statistics page
over a city year): the heap it freed is handed back to the system. glibc keeps freed heap for
the process otherwise, and a worker would stay as large as its largest moment."""
from __future__ import annotations

import ctypes


def give_back_freed_memory() -> None:
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to give back this way
        pass
