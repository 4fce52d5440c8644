"""numba, when installed (the optional extra ``fast``), for the compiled kernels, and the
kernels' shared helpers (:func:`pairwise_sum`: numpy's summation order).

``HAVE_NUMBA`` is False when numba is not installed (``pip install furnsim[fast]``) or when
``FURNSIM_NO_NUMBA=1``; every compiled kernel then has its pure Python / numpy path.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

__all__ = ["HAVE_NUMBA", "jit", "numba", "pairwise_sum"]

numba: Any = None
try:  # pragma: no cover - depends on the installation
    if os.environ.get("FURNSIM_NO_NUMBA", "") not in ("", "0"):
        raise ImportError("disabled by FURNSIM_NO_NUMBA")
    import numba as _numba

    numba = _numba
    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - depends on the installation
    HAVE_NUMBA = False


def jit(fn: Any) -> Any:
    """``numba.njit(cache=True, nogil=True)``, or ``fn`` itself without numba."""
    if numba is None:
        return fn
    return numba.njit(cache=True, nogil=True)(fn)


@jit
def _pw_block(a: Any, lo: int, n: int) -> float:  # pragma: no cover - compiled
    """numpy's pairwise sum of at most 128 values (8 accumulators)."""
    if n < 8:
        res = -0.0
        for i in range(n):
            res += a[lo + i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    lim = n - (n % 8)
    while i < lim:
        r0 += a[lo + i]
        r1 += a[lo + i + 1]
        r2 += a[lo + i + 2]
        r3 += a[lo + i + 3]
        r4 += a[lo + i + 4]
        r5 += a[lo + i + 5]
        r6 += a[lo + i + 6]
        r7 += a[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@jit
def pairwise_sum(a: Any, lo: int, n: int) -> float:  # pragma: no cover - compiled
    """``a[lo:lo + n].sum()`` in numpy's own order (pairwise: blocks of at most 128 summed
    with 8 accumulators, halves split at a multiple of 8), so a mean computed here is
    bit-identical to ``ndarray.mean``. Iterative (numba does not cache recursive functions)."""
    if n <= 128:
        return _pw_block(a, lo, n)
    # post-order walk of numpy's recursion: stack of (lo, n, stage), stack of partial sums
    s_lo = np.empty(64, dtype=np.int64)
    s_n = np.empty(64, dtype=np.int64)
    s_stage = np.empty(64, dtype=np.int64)
    vals = np.empty(64)
    top = 0
    nv = 0
    s_lo[0], s_n[0], s_stage[0] = lo, n, 0
    while top >= 0:
        cl, cn = s_lo[top], s_n[top]
        if cn <= 128:
            vals[nv] = _pw_block(a, cl, cn)
            nv += 1
            top -= 1
            continue
        n2 = cn // 2
        n2 -= n2 % 8
        stage = s_stage[top]
        if stage == 0:
            s_stage[top] = 1
            top += 1
            s_lo[top], s_n[top], s_stage[top] = cl, n2, 0
        elif stage == 1:
            s_stage[top] = 2
            top += 1
            s_lo[top], s_n[top], s_stage[top] = cl + n2, cn - n2, 0
        else:
            vals[nv - 2] = vals[nv - 2] + vals[nv - 1]
            nv -= 1
            top -= 1
    return vals[0]
