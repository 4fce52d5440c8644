"""The suite's process units under pytest-xdist (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SHARED, pytest_xdist_make_scheduler, unit_of


def test_the_postgresql_files_are_one_unit_and_other_files_their_own():
    api = unit_of("tests/test_api.py::test_restart_keeps_and_resumes_plans[postgresql]")
    store = unit_of("tests/test_storage.py::test_lifecycle_and_json_roundtrip[sqlite]")
    assert api == store == "postgresql"
    assert unit_of("tests/test_rules.py::test_edd") == "tests/test_rules.py"
    assert unit_of("tests/test_rules.py::TestX::test_y[a::b]") == "tests/test_rules.py"
    # every shared file exists under this name (a renamed file would silently leave its unit)
    root = Path(__file__).resolve().parent.parent
    assert all((root / p).is_file() for p in SHARED), SHARED


def test_loadfile_gets_the_unit_scheduler_other_modes_xdists_own():
    pytest.importorskip("xdist")

    class Cfg:
        def __init__(self, dist: str) -> None:
            self.dist = dist

        def getvalue(self, name: str) -> object:
            return {"dist": self.dist, "tx": ["2*popen"]}.get(name)

    assert pytest_xdist_make_scheduler(Cfg("load"), None) is None
    sched = pytest_xdist_make_scheduler(Cfg("loadfile"), None)
    assert sched._split_scope("tests/test_api.py::t") == "postgresql"
    assert sched._split_scope("tests/test_x.py::t[1]") == "tests/test_x.py"
