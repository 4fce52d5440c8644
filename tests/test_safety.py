"""Untrusted model files never execute code: planning loads weights only, bounded.

A crafted SB3 zip whose pickled ``data`` would write a file (what ``MaskablePPO.load`` would
run) is refused; the plan falls back to the best rule and says the model was refused.
"""

from __future__ import annotations

import base64
import io
import json
import pickle
import shutil
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("torch")

from furnsim.errors import ModelRefused  # noqa: E402
from furnsim.rl.policy import MODELS_DIR, load_planner  # noqa: E402

SPEED = MODELS_DIR / "ppo-speed.zip"


class _WriteFile:
    """Unpickling this runs ``exec``: it writes ``marker`` (what an attacker's payload does)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


def _payload(marker: Path) -> bytes:
    return pickle.dumps(_WriteFile(marker))


def _sb3_zip_without_weights(path: Path, marker: Path, sidecar: dict | None) -> Path:
    """An SB3-style zip whose ``data`` holds a cloudpickled payload, and no policy.pth."""
    data = {
        "policy_class": {
            ":type:": "<class 'abc.ABCMeta'>",
            ":serialized:": base64.b64encode(_payload(marker)).decode(),
        }
    }
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("data", json.dumps(data))
        z.writestr("_stable_baselines3_version", "2.3.0")
    if sidecar is not None:
        path.with_suffix(".json").write_text(json.dumps(sidecar))
    return path


def _demo_week():
    from furnsim.env import WeekSource

    return WeekSource.from_path(None).week(5151, 30)


def test_the_payload_is_live(tmp_path: Path) -> None:
    """Guard for the tests below: unpickling the payload really writes the marker."""
    marker = tmp_path / "live"
    pickle.loads(_payload(marker))  # noqa: S301 - the point of the test
    assert marker.read_text() == "pwned"


@pytest.mark.parametrize(
    "sidecar",
    [
        None,  # no sidecar at all
        {"goal": "speed", "view": "candidates", "config": {}},  # no max_candidates
        {"goal": "speed", "view": "candidates", "config": {"max_candidates": 64}},  # no weights
        {"goal": "speed", "view": "rules", "config": {}},  # would need the whole SB3 model
    ],
)
def test_crafted_model_is_refused_and_plan_falls_back(tmp_path: Path, sidecar: dict | None) -> None:
    from furnsim.plan import plan

    marker = tmp_path / "PWNED"
    model = _sb3_zip_without_weights(tmp_path / "ppo-speed.zip", marker, sidecar)
    with pytest.raises(ModelRefused, match="refused model ppo-speed.zip"):
        load_planner(path=model)
    res = plan(_demo_week(), "speed", "ppo", model=str(model))
    assert not marker.exists(), "the model file executed code"
    assert res.valid and res.method.startswith("rule:")
    assert res.fallback is not None and "refused model ppo-speed.zip" in res.fallback


def test_crafted_model_through_the_cli_runs_nothing(tmp_path: Path) -> None:
    """``furnsim plan --method ppo`` with $FURNSIM_MODELS pointing at a crafted folder."""
    import os
    import subprocess
    import sys

    marker = tmp_path / "PWNED"
    folder = tmp_path / "models"
    folder.mkdir()
    _sb3_zip_without_weights(folder / "ppo-speed.zip", marker, None)
    demo = Path(__file__).resolve().parents[1] / "bom_data" / "demo"
    env = {**os.environ, "FURNSIM_MODELS": str(folder)}
    out = subprocess.run(
        [sys.executable, "-m", "furnsim.cli", "plan", str(demo), "--method", "ppo"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert not marker.exists()
    assert "refused model ppo-speed.zip" in out.stdout


def _with_policy_pth(src: Path, dest: Path, raw: bytes) -> Path:
    """A copy of a shipped model whose policy.pth is replaced by ``raw``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, raw if info.filename == "policy.pth" else zin.read(info))
    shutil.copy(src.with_suffix(".json"), dest.with_suffix(".json"))
    return dest


def test_pickled_code_inside_policy_pth_is_refused(tmp_path: Path) -> None:
    import torch

    if not SPEED.exists():
        pytest.skip("no shipped speed model")
    marker = tmp_path / "PWNED"
    buf = io.BytesIO()
    torch.save({"features_extractor.enc.0.weight": _WriteFile(marker)}, buf)
    model = _with_policy_pth(SPEED, tmp_path / "ppo-speed.zip", buf.getvalue())
    with pytest.raises(ModelRefused, match="not a weights-only state dict"):
        load_planner(path=model)
    assert not marker.exists()


def test_non_tensor_values_are_refused(tmp_path: Path) -> None:
    import torch

    if not SPEED.exists():
        pytest.skip("no shipped speed model")
    buf = io.BytesIO()
    torch.save({"features_extractor.enc.0.weight": [1.0, 2.0]}, buf)
    model = _with_policy_pth(SPEED, tmp_path / "ppo-speed.zip", buf.getvalue())
    with pytest.raises(ModelRefused, match="other than named tensors"):
        load_planner(path=model)


def test_model_zip_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import furnsim.rl.policy as pol

    if not SPEED.exists():
        pytest.skip("no shipped speed model")
    # many members
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as z:
        for i in range(pol.MAX_MODEL_MEMBERS + 1):
            z.writestr(f"m{i}", b"")
    shutil.copy(SPEED.with_suffix(".json"), many.with_suffix(".json"))
    with pytest.raises(ModelRefused, match="members"):
        load_planner(path=many)
    # a zip bomb: small on disk, large unpacked
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("policy.pth", b"\0" * (4 * 2**20))
    shutil.copy(SPEED.with_suffix(".json"), bomb.with_suffix(".json"))
    assert bomb.stat().st_size < 100_000
    monkeypatch.setattr(pol, "MAX_MODEL_UNCOMPRESSED", 2**20)
    with pytest.raises(ModelRefused, match="unpacks to"):
        load_planner(path=bomb)
    # not a zip at all
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    shutil.copy(SPEED.with_suffix(".json"), junk.with_suffix(".json"))
    with pytest.raises(ModelRefused, match="not a model zip"):
        load_planner(path=junk)


def test_shipped_models_load_from_weights_only() -> None:
    for goal in ("speed", "efficiency", "empty-buffers"):
        path = MODELS_DIR / f"ppo-{goal}.zip"
        if not path.exists():
            pytest.skip(f"no shipped {goal} model")
        planner = load_planner(path=path)
        assert planner.model is None and len(planner._layers) == 3
