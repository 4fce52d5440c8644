"""furnsim installs like a library: the wheel carries the models, the demo plant and the goals,
and an installed copy finds them from any working directory (no path from a repo root)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("setuptools")
    import shutil

    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("build")
    # build from a copy: an in-tree build would leave build/ and *.egg-info in the checkout
    src = build / "src"
    shutil.copytree(ROOT / "furnsim", src / "furnsim", ignore=shutil.ignore_patterns("__pycache__"))
    for f in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / f, src / f)
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(src),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=build,
        env={**os.environ, "PIP_NO_INPUT": "1"},
    )
    if res.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {res.stderr[-500:]}")
    (whl,) = out.glob("furnsim-*.whl")
    return whl


@pytest.mark.slow
def test_wheel_carries_the_package_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = sorted(p.name for p in (ROOT / "furnsim" / "data" / "models").iterdir())
    assert shipped, "no shipped models"
    for n in shipped:
        assert f"furnsim/data/models/{n}" in names
    for n in ("furnsim/data/goals.yaml", "furnsim/data/demo/plant.xlsx", "furnsim/py.typed"):
        assert n in names
    assert not any(n.startswith(("tests/", "models/", "bom_data/")) for n in names)


@pytest.mark.slow
def test_installed_copy_plans_with_its_shipped_policy(wheel: Path, tmp_path: Path) -> None:
    """Install the wheel into a folder, import it from elsewhere, plan a demo week with ppo."""
    pytest.importorskip("sb3_contrib")
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        timeout=240,
        capture_output=True,
    )
    code = (
        "import furnsim, furnsim.rl.policy as p, furnsim.env.weeks as w\n"
        "from furnsim.plan import plan\n"
        "assert furnsim.__file__.startswith(sys.argv[1]), furnsim.__file__\n"
        "assert str(p.MODELS_DIR).startswith(sys.argv[1]) and w.DEMO_PLANT.exists()\n"
        "inst = w.WeekSource.from_path(None).week(5151, 30)  # a small week of the demo plant\n"
        "r = plan(inst, 'speed', 'ppo', guard=False, samples=1)\n"
        "print(r.method, r.fallback, r.details.get('model'))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    env.pop("FURNSIM_MODELS", None)
    res = subprocess.run(
        [sys.executable, "-c", "import sys\n" + code, str(target)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    method, fallback, model = res.stdout.split()[-3:]
    assert method == "ppo:speed" and fallback == "None", res.stdout
    assert model.startswith(str(target)) and model.endswith("ppo-speed.zip")


def test_packaged_demo_plant_is_the_repo_demo_plant() -> None:
    from furnsim.env import DEMO_PLANT

    assert DEMO_PLANT.read_bytes() == (ROOT / "bom_data" / "demo" / "plant.xlsx").read_bytes(), (
        "furnsim/data/demo/plant.xlsx is a copy of bom_data/demo/plant.xlsx: copy it again"
    )


def test_no_repo_root_paths_in_the_package() -> None:
    """Nothing in furnsim/ builds a path from the repository root (parents[1+] of a module)."""
    import re

    bad = []
    for f in (ROOT / "furnsim").rglob("*.py"):
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), start=1):
            if re.search(r"parents\[[1-9]\]", line):
                bad.append(f"{f.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not bad, bad
