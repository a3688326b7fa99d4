"""A node's process caps glibc's malloc arenas and hands a KDF's freed memory back (issue 17:
the village node with its web app within 100 MB): both take on this machine's glibc."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="tunes glibc's malloc only")


@glibc
def test_the_arena_cap_takes_in_a_fresh_process() -> None:
    code = "from nodes.memory import limit_malloc_arenas as f; print(f())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "True"


FREED_THEN_TRIMMED = """
import ctypes, re
from nodes.memory import release_free_memory
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
def rss():
    return int(re.search(r"VmRSS:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
blocks = [libc.malloc(100_000) for _ in range(500)]  # 50 MB on the heap, under mmap's threshold
for b in blocks:
    ctypes.memset(b, 1, 100_000)
fence = libc.malloc(1000)  # keeps the heap's top: glibc cannot shrink it by itself
for b in blocks:
    libc.free(b)
before = rss()
print(release_free_memory(), before - rss())
"""


@glibc
def test_freed_heap_memory_goes_back_to_the_system() -> None:
    out = subprocess.run([sys.executable, "-c", FREED_THEN_TRIMMED], capture_output=True,
                         text=True, check=True, timeout=60)
    took, released_kib = out.stdout.split()
    assert took == "True"
    assert int(released_kib) > 30_000  # most of the 50 MB freed above
