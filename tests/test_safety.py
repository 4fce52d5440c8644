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


# -- hostile data files: bounded cost, a clear error, exit 2 (issue 10, section 2) ---------

DEMO = Path(__file__).resolve().parents[1] / "bom_data" / "demo"


def _check_data(*args: str, cwd: Path) -> tuple[int, str, float, float]:
    """``furnsim check-data ARGS`` in a subprocess: (exit code, output, seconds, peak MiB)."""
    import os
    import subprocess
    import sys
    import time

    # peak memory: VmHWM of the child's own address space (ru_maxrss would include the
    # parent's size at fork)
    code = (
        "import sys\n"
        "from furnsim.cli import app\n"
        "try:\n"
        "    rc = app(sys.argv[1:], standalone_mode=False) or 0\n"
        "except SystemExit as e:\n"
        "    rc = e.code or 0\n"
        "hwm = [x for x in open('/proc/self/status') if x.startswith('VmHWM')]\n"
        "print('MAXRSS', hwm[0].split()[1] if hwm else 0)\n"
        "sys.exit(rc)\n"
    )
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code, "check-data", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    secs = time.perf_counter() - t0
    text = out.stdout + out.stderr
    rss = [int(x.split()[1]) for x in text.splitlines() if x.startswith("MAXRSS")]
    return out.returncode, text, secs, (rss[0] / 1024 if rss else float("nan"))


def _demo_copy(tmp_path: Path) -> Path:
    p = tmp_path / "plant.xlsx"
    shutil.copy(DEMO / "plant.xlsx", p)
    return p


def test_huge_declared_dimension_costs_nothing(tmp_path: Path) -> None:
    """A 60 KB workbook whose sheets declare A1:XFD1048576 reads in seconds, correctly."""
    from tests._hostile import edit_sheet, set_dimension

    p = _demo_copy(tmp_path)
    for s in ("orders", "operations", "work_centers"):
        edit_sheet(p, s, lambda x: set_dimension(x, "A1:XFD1048576"))
    rc, out, secs, mib = _check_data(str(p), cwd=tmp_path)
    assert rc == 0, out
    assert "orders        62" in out
    assert secs < 30 and mib < 400, (secs, mib)


def test_zip_bomb_workbook_is_refused_before_reading(tmp_path: Path) -> None:
    from tests._hostile import edit_sheet

    p = _demo_copy(tmp_path)
    edit_sheet(
        p, "orders", lambda x: x.replace("</sheetData>", " " * (100 * 2**20) + "</sheetData>")
    )
    assert p.stat().st_size < 1_000_000
    rc, out, secs, mib = _check_data(str(p), cwd=tmp_path)
    assert rc == 2 and "unpacks to 100.4 MiB" in out and "plant.xlsx" in out, out
    assert secs < 30 and mib < 300, (secs, mib)


def _styles_bomb(p: Path) -> None:
    """900,000 cell formats in styles.xml (54 MB unpacked, 0.2 MB on disk)."""
    import re

    from tests._hostile import edit_member

    xf = '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    edit_member(
        p,
        "xl/styles.xml",
        lambda x: re.sub(
            r'<cellXfs count="\d+">', '<cellXfs count="900000">' + xf * 900_000, x, count=1
        ),
    )


def _strings_bomb(p: Path) -> None:
    """3.5 million shared strings (57 MB unpacked, 0.2 MB on disk)."""
    n = 3_500_000
    sst = (
        '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
        f'spreadsheetml/2006/main" count="{n}" uniqueCount="{n}">'
        + "<si><t>a</t></si>" * n
        + "</sst>"
    )
    with zipfile.ZipFile(p) as z:
        items = [(i.filename, z.read(i)) for i in z.infolist()]
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in items:
            if name == "[Content_Types].xml":
                data = data.replace(
                    b"</Types>",
                    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
                )
            if name == "xl/_rels/workbook.xml.rels":
                data = data.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rIdSST" Type="http://schemas.openxmlformats.org/'
                    b'officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
                    b"</Relationships>",
                )
            z.writestr(name, data)
        z.writestr("xl/sharedStrings.xml", sst)


def _cells_bomb(p: Path) -> None:
    """2.5 million empty styled cells in the orders sheet (53 MB unpacked, 5 MB on disk)."""
    from tests._hostile import edit_sheet

    cols = "GHIJKLMNOPQRSTUVWXYZ"
    rows = "".join(
        f'<row r="{r}">' + "".join(f'<c r="{c}{r}" s="0"/>' for c in cols) + "</row>"
        for r in range(100, 100 + 125_000)
    )
    edit_sheet(p, "orders", lambda x: x.replace("</sheetData>", rows + "</sheetData>"))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("make", "words"),
    [
        (_styles_bomb, "more than 50,000 style records"),
        (_strings_bomb, "more than 200,000 shared strings"),
        (_cells_bomb, "more than 500,000 cells and rows"),
    ],
    ids=["styles", "shared-strings", "cells"],
)
def test_expensive_xml_is_counted_before_parsing(tmp_path: Path, make, words: str) -> None:
    """Within the unpacked-size limit, still too costly for openpyxl to build (before the
    byte scan: 112 s and 780 MB for the styles, 247 s for the strings): refused in seconds."""
    p = _demo_copy(tmp_path)
    make(p)
    rc, out, secs, mib = _check_data(str(p), cwd=tmp_path)
    assert rc == 2 and words in out and "plant.xlsx" in out, out
    assert secs < 40 and mib < 400, (secs, mib)


_LOL = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    + "]>"
)


@pytest.mark.parametrize(
    ("doctype", "entity"),
    [
        (_LOL, "&lol9;"),  # billion laughs
        ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>', "&x;"),
    ],
    ids=["billion-laughs", "xxe"],
)
def test_xml_entities_in_a_sheet_are_refused(tmp_path: Path, doctype: str, entity: str) -> None:
    import re

    from furnsim.errors import DataError
    from furnsim.io import load_instance
    from tests._hostile import edit_sheet

    p = _demo_copy(tmp_path)

    def inject(x: str) -> str:
        x = doctype + re.sub(r"^<\?xml[^>]*\?>", "", x)
        return x.replace("<t>description</t>", f"<t>{entity}</t>", 1)

    edit_sheet(p, "work_centers", inject)
    with pytest.raises(DataError) as e:
        load_instance(p)
    (issue,) = e.value.issues
    assert issue.file == str(p) and "entities" in issue.message
    assert "root:" not in str(e.value)


def test_value_far_right_is_refused(tmp_path: Path) -> None:
    from furnsim.errors import DataError
    from furnsim.io import load_instance
    from tests._hostile import add_cell, edit_sheet

    p = _demo_copy(tmp_path)
    edit_sheet(
        p, "orders", lambda x: add_cell(x, 3, '<c r="XFD3" t="inlineStr"><is><t>x</t></is></c>')
    )
    with pytest.raises(DataError) as e:
        load_instance(p)
    (issue,) = e.value.issues
    assert (issue.sheet, issue.row) == ("orders", 3) and "column XFD" in issue.message


def test_too_many_rows_and_cells(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from furnsim.errors import DataError
    from furnsim.io import limits, load_instance

    monkeypatch.setattr(limits, "MAX_ROWS", 40)
    with pytest.raises(DataError) as e:
        load_instance(DEMO / "plant.xlsx")
    assert any("more than 40 rows" in i.message and i.sheet for i in e.value.issues)
    monkeypatch.setattr(limits, "MAX_ROWS", 50_000)
    monkeypatch.setattr(limits, "MAX_CELLS", 5_000)
    with pytest.raises(DataError) as e:
        load_instance(DEMO / "plant.xlsx")
    assert any("more than 5,000 cells" in i.message for i in e.value.issues)


@pytest.mark.slow
def test_too_many_orders_fail_check_data_fast(tmp_path: Path) -> None:
    """200k orders: refused by check-data (rows), 30k: refused (orders); never a MemoryError
    in ``plan`` later."""
    for n, words in ((200_000, "more than 50,000 rows"), (30_000, "30,000 orders")):
        f = tmp_path / f"orders{n}.csv"
        f.write_text(
            "order,article,quantity,deadline\n"
            + "\n".join(f"O{i},WARDROBE-2D,1,600" for i in range(n))
        )
        rc, out, secs, mib = _check_data(str(DEMO), "--orders", str(f), cwd=tmp_path)
        assert rc == 2 and words in out and f.name in out, out
        assert secs < 60 and mib < 500, (n, secs, mib)


def test_too_many_jobs_and_too_much_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from furnsim.errors import DataError
    from furnsim.io import limits, load_instance

    monkeypatch.setattr(limits, "MAX_JOBS", 100)
    with pytest.raises(DataError, match="577 component jobs"):
        load_instance(DEMO / "plant.xlsx")
    monkeypatch.setattr(limits, "MAX_JOBS", 50_000)
    monkeypatch.setattr(limits, "MAX_TOTAL_MINUTES", 1000.0)
    with pytest.raises(DataError, match="machine minutes in all"):
        load_instance(DEMO / "plant.xlsx")


def test_csv_field_over_128_kib_exits_2(tmp_path: Path) -> None:
    f = tmp_path / "orders.csv"
    f.write_text('order,article,quantity\nO1,"' + "x" * 200_000 + '",1\n')
    rc, out, _, _ = _check_data(str(DEMO), "--orders", str(f), cwd=tmp_path)
    assert rc == 2 and "longer than 128 KiB" in out and "orders.csv" in out and "row 2" in out, out
    assert "Traceback" not in out


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("orders:\n  - order: " + "[" * 50_000 + "]" * 50_000 + "\n", "nested more than"),
        (
            "a0: &a0 [x, x, x, x, x, x, x, x, x]\n"
            + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 30))
            + "orders:\n  - order: *a29\n",
            "anchors and aliases",
        ),
    ],
    ids=["deep", "alias-bomb"],
)
def test_hostile_yaml_exits_2(tmp_path: Path, text: str, words: str) -> None:
    f = tmp_path / "plant.yaml"
    f.write_text(text)
    rc, out, secs, _ = _check_data(str(f), cwd=tmp_path)
    assert rc == 2 and words in out and "plant.yaml" in out, out
    assert "Traceback" not in out and secs < 30


def test_read_sheet_rows_is_bounded_and_exact(tmp_path: Path) -> None:
    """The raw-row reader for order uploads: stale dimension ignored, row numbers kept."""
    from furnsim.errors import DataError
    from furnsim.io import read_sheet_rows
    from tests._hostile import add_after_sheetdata, edit_sheet, set_dimension

    p = _demo_copy(tmp_path)
    edit_sheet(p, "orders", lambda x: set_dimension(x, "A1:XFD1048576"))
    name, rows = read_sheet_rows(p, sheet="ORDERS")
    assert name == "orders" and rows[0][:3] == ["order", "article", "quantity"]
    assert len(rows) == 63 and rows[1][0] == "SO-1001"
    edit_sheet(
        p,
        "orders",
        lambda x: add_after_sheetdata(
            x, '<mergeCells count="1"><mergeCell ref="C2:C3"/></mergeCells>'
        ),
    )
    with pytest.raises(DataError, match="merged cells C2:C3"):
        read_sheet_rows(p)


# -- option errors: exit 2 naming the option ------------------------------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["generate", "--out", "OUT", "--work-centers", "8", "--machines", "4"], "--machines"),
        (
            ["generate", "--out", "OUT", "--work-centers", "8", "--machines", "16", "--jobs", "0"],
            "--jobs",
        ),
        (
            ["generate", "--out", "OUT", "--work-centers", "8", "--machines", "16", "--seed", "-1"],
            "--seed",
        ),
        (["generate", "--out", "OUT", "--work-centers", "0", "--machines", "16"], "--work-centers"),
        (["plan", str(DEMO), "--excel-slot", "0"], "--excel-slot"),
        (["plan", str(DEMO), "--seed", "-1", "--time-limit", "1"], "--seed"),
        (["plan", str(DEMO), "--plan-start", "2026-03-02T06:00+01:00"], "--plan-start"),
        (["plan", str(DEMO), "--time-limit", "-5"], "--time-limit"),
        (["plan", str(DEMO), "--method", "ppo", "--passes", "100000"], "--passes"),
    ],
)
def test_bad_options_exit_2_naming_the_option(tmp_path: Path, args: list[str], words: str) -> None:
    from typer.testing import CliRunner

    from furnsim.cli import app

    args = [str(tmp_path / "out") if a == "OUT" else a for a in args]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2, res.output
    assert words in res.output and res.exception is None or isinstance(res.exception, SystemExit)
    assert "Traceback" not in res.output


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        ("big.txt", "1000000000 1000000000\n0 1\n", "at most 50,000 jobs"),
        ("huge.txt", "1 2\n0 1e12 1 5\n", "at most 1e+07"),
        ("big.fjs", "1000000 3\n1 1 1 5\n", "at most 50,000 jobs"),
    ],
)
def test_hostile_benchmark_files_exit_2(tmp_path: Path, name: str, text: str, words: str) -> None:
    from typer.testing import CliRunner

    from furnsim.cli import app

    f = tmp_path / name
    f.write_text(text)
    res = CliRunner().invoke(app, ["check-data", str(f)])
    assert res.exit_code == 2 and words in res.output and name in res.output, res.output


def test_dashboard_order_import_is_bounded(tmp_path: Path) -> None:
    """The dashboard's order upload (orderbook.read_order_file) reads through the bounded
    reader: a value at XFD1048576 under a declared A1:XFD1048576 used to build a million
    16,384-wide rows (GBs); now it is a clear error."""
    from datetime import datetime

    from furnsim.errors import DataError
    from furnsim.orderbook import read_order_file
    from tests._hostile import edit_sheet, set_dimension

    p = _demo_copy(tmp_path)
    far = '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    edit_sheet(
        p,
        "orders",
        lambda x: set_dimension(x, "A1:XFD1048576").replace("</sheetData>", far + "</sheetData>"),
    )
    with pytest.raises(DataError) as e:
        read_order_file(p, datetime(2026, 3, 2, 6), display_name="upload.xlsx")
    (issue,) = e.value.issues
    assert issue.file == "upload.xlsx" and issue.sheet == "orders"
    assert "column XFD" in issue.message
    # a stale dimension does not hide rows
    q = _demo_copy(tmp_path / "q") if (tmp_path / "q").mkdir() is None else None
    assert q is not None
    edit_sheet(q, "orders", lambda x: set_dimension(x, "A1:F4"))
    rows, _ = read_order_file(q, datetime(2026, 3, 2, 6))
    assert len(rows) == 62


def test_old_torch_loads_only_the_shipped_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """torch < 2.6 has a weights_only bypass (CVE-2025-32434): there only package data loads."""
    import torch

    import furnsim.rl.policy as pol

    if not SPEED.exists():
        pytest.skip("no shipped speed model")
    monkeypatch.setattr(torch, "__version__", "2.5.1+cpu")
    pol._cached.cache_clear()
    copy = tmp_path / "ppo-speed.zip"
    shutil.copy(SPEED, copy)
    shutil.copy(SPEED.with_suffix(".json"), copy.with_suffix(".json"))
    with pytest.raises(ModelRefused, match="CVE-2025-32434"):
        load_planner(path=copy)
    assert load_planner(path=SPEED).model is None
    pol._cached.cache_clear()
