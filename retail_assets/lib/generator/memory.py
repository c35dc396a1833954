"""glibc malloc settings for a month of arrays, and giving freed heap pages back to the system.

A month at supermarket volume is ~100 M rows: by default glibc keeps what its freed arrays leave in
the heaps (~1 GB of every 3 GB of peak memory), and if told to return memory on every free instead
(a low mmap threshold) a simulated day costs millions of page faults (half the run time on a VM).
So blocks of 32 MB and more are mapped on their own and unmapped when freed, smaller ones are reused
from the heap, and the heap is trimmed at the points where a stage's data is dropped.
"""

from __future__ import annotations

import ctypes
from functools import lru_cache

# mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024  # glibc's largest
TRIM_THRESHOLD_BYTES = 256 * 1024 * 1024


@lru_cache(maxsize=1)
def _glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt, libc.malloc_trim  # noqa: B018 - both exist only in glibc
        return libc
    except (OSError, AttributeError):
        return None


@lru_cache(maxsize=1)
def tune() -> bool:
    """Apply the settings above to this process (once); False where the C library is not glibc."""
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) and libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))


def trim() -> None:
    """Return the heaps' free pages to the system (a few ms; nothing where the C library is not glibc)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
