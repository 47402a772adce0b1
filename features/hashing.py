"""A stable 64-bit hash of many strings at once (numpy, no per-string Python call).

Used for event ids in the online store (idempotent writes) and to turn card and terminal ids into
integer codes offline (sorting 64-bit integers is ~20x faster than sorting strings). It must not
change between versions or processes: Python's `hash()` is salted per process, so it is not used.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


def _mix(h: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64's finaliser: spreads FNV's weak low bits over the whole word."""
    h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


def hash64(strings: npt.NDArray[np.str_]) -> npt.NDArray[np.uint64]:
    """FNV-1a over the code points, then mixed. Independent of the array's fixed width."""
    arr = np.ascontiguousarray(strings, dtype=np.str_)
    n = len(arr)
    h = np.full(n, _FNV_OFFSET, dtype=np.uint64)
    if n == 0 or arr.itemsize == 0:
        return _mix(h)
    points = arr.view(np.uint32).reshape(n, arr.itemsize // 4)
    with np.errstate(over="ignore"):
        for col in points.T:
            # Numpy pads shorter strings with NUL code points, which must not change the hash.
            live = col != 0
            h = np.where(live, (h ^ col.astype(np.uint64)) * _FNV_PRIME, h)
        return _mix(h)
