"""numba, when installed (the optional extra ``fast``), for the compiled kernels.

``HAVE_NUMBA`` is False when numba is not installed (``pip install furnsim[fast]``) or when
``FURNSIM_NO_NUMBA=1``; every compiled kernel then has its pure Python / numpy path.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["HAVE_NUMBA", "jit", "numba"]

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
