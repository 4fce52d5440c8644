"""Suite-wide settings.

``./run test`` runs the suite on two processes (pytest-xdist, ``--dist loadfile``). Each test
module stays on one process, so its module-scoped fixtures (a Streamlit server, a trained
policy, a Ray cluster) start once, as in a serial run. Modules that share an outside
resource are one unit here (:data:`SHARED`): the PostgreSQL API and storage tests use one
database, and the API tests drop its tables, so they must never run at the same time.

(The scheduler is ours because xdist's ``loadgroup`` marks do not group under pytest 9.2:
xdist 3.8 appends the group to ``item._nodeid``, and pytest 9.2's ``nodeid`` reads ``_id``.)
"""

from __future__ import annotations

from typing import Any

import pytest

#: test files that must run on one process, one after another: file -> unit name
SHARED = {
    "tests/test_api.py": "postgresql",
    "tests/test_storage.py": "postgresql",
}


def unit_of(nodeid: str) -> str:
    """The scheduling unit of a test: its file, or the shared unit that file belongs to."""
    path = nodeid.split("::", 1)[0]
    return SHARED.get(path, path)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "loadfile":
        return None  # another --dist: xdist's own scheduler
    from xdist.scheduler import LoadFileScheduling

    class FileUnits(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return unit_of(nodeid)

    return FileUnits(config, log)
