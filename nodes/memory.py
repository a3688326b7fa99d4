"""A long-running node's memory: fewer malloc arenas, memory handed back after a login's KDF.

glibc gives each thread that meets contention its own malloc arena (up to 8 per core), and
memory freed in one arena is not reused by another: a service with a relay, a consumer and a
web app's request threads keeps tens of MB it no longer uses. Two arenas serve a station's
handful of threads as well. A password check (Argon2id, 19 MiB) frees its block at once, but
glibc may keep the top of the heap; `release_free_memory` hands it back. Both are no-ops where
the C library is not glibc (musl, macOS), since there is nothing to tune there.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

MALLOC_ARENAS = 2  # glibc's M_ARENA_MAX for a node's process (its default is 8 per core)
M_ARENA_MAX = -8  # mallopt's parameter number in glibc's malloc.h


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.gnu_get_libc_version  # noqa: B018 - only glibc has it
    except (OSError, AttributeError):
        return None
    return libc


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas for this process; True when the setting took."""
    libc = _glibc()
    return libc is not None and bool(libc.mallopt(M_ARENA_MAX, arenas))


def release_free_memory() -> bool:
    """Hand freed heap memory back to the system (glibc's malloc_trim); True when some was."""
    libc = _glibc()
    return libc is not None and bool(libc.malloc_trim(0))
