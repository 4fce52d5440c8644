"""Load a script of ``benchmarks/`` as a module (the tests of the benchmark scripts)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent


def load_bench(name: str) -> ModuleType:
    """``benchmarks/NAME.py`` as the module ``furnsim_bench_NAME``."""
    spec = importlib.util.spec_from_file_location(
        f"furnsim_bench_{name}", REPO / "benchmarks" / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod
