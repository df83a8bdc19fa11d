"""Give memory freed while loading back to the operating system.

Loading a catalog and its indexes allocates much more for a moment (Parquet decoding, Arrow hash
tables, numpy sorts, JSON parsing) than it keeps. Arrow's memory pool and glibc's malloc keep freed
pages for reuse, so without a release the process stays at that high-water mark for its whole life,
and everything loaded later (the sentence model) stacks on top of it.
"""
from __future__ import annotations

import ctypes
import gc
import sys

import pyarrow as pa


def release_freed_memory() -> None:
    """Collect garbage, then ask Arrow's pool and (on glibc) malloc to unmap what is free. Safe at any time."""
    gc.collect()
    pa.default_memory_pool().release_unused()
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc (e.g. musl): nothing to trim
            pass
