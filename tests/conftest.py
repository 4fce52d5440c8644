"""Suite-wide settings.

``./run test`` runs the suite on two processes (pytest-xdist, ``--dist loadgroup``). Each
test module stays on one process, so its module-scoped fixtures (a Streamlit server, a
trained policy, a Ray cluster) start once, as in a serial run. Modules that share an outside
resource name one group: the PostgreSQL API and storage tests share one database, and the
API tests drop its tables, so they never run at the same time as each other.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # xdist reads the groups in its own (trylast) hook, after this one
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(
                pytest.mark.xdist_group(item.module.__name__ if item.module else item.nodeid)
            )
