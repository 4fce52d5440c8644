"""The dashboard through Streamlit's AppTest: orders -> goal -> plan -> results, and bad input.

Each test points the order book at its own folder (``FURNSIM_DATA``), so nothing touches the
user's data.
"""

from __future__ import annotations

import io
from datetime import date, time
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

APP = str(Path(__file__).resolve().parents[1] / "dashboards" / "app.py")
pytestmark = pytest.mark.slow


@pytest.fixture
def at(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AppTest:
    monkeypatch.setenv("FURNSIM_DATA", str(tmp_path / "data"))
    app = AppTest.from_file(APP, default_timeout=180)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def _editor(at: AppTest):
    return at.data_editor[0]


def _texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def test_orders_goal_plan_results(at: AppTest) -> None:
    df = _editor(at).value
    assert len(df) == 58 and (df["problem"].fillna("") == "").all()  # the demo week, all valid
    assert [b.label for b in at.button][1:4] == ["Speed", "Efficiency", "Empty Buffers"]
    at.button(key="goal_empty-buffers").click().run()
    assert at.session_state.goal == "empty-buffers"
    assert at.button(key="goal_empty-buffers").proto.type == "primary"
    at.radio(key="method").set_value("rule").run()
    at.selectbox(key="rule").set_value("EDD")
    at.button(key="start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    labels = [m.label for m in at.metric]
    assert labels == [
        "Makespan",
        "Late orders",
        "Total tardiness",
        "Setup time",
        "Mean utilization",
        "Peak buffer fill",
    ]
    assert at.metric[1].value.endswith("of 58")
    assert "Valid plan" in _texts(at.success) and "Empty Buffers" in _texts(at.success)
    assert "rule:EDD" in _texts(at.success)
    assert [t.label for t in at.tabs] == [
        "Gantt by machine",
        "Gantt by order",
        "Buffers",
        "Late orders",
    ]
    charts = at.get("plotly_chart")  # lazy tabs: only the open one is built
    assert [c.key for c in charts] == ["gantt_machine"]
    for view, key in (("Gantt by order", "gantt_order"), ("Buffers", "buffers")):
        at.session_state["result_view"] = view
        at.run()
        assert [c.key for c in at.get("plotly_chart")] == [key]
    at.session_state["result_view"] = "Late orders"
    at.run()
    assert not at.get("plotly_chart") and not at.exception
    assert at.download_button(key="excel_download").label.startswith("Download Excel")
    entry = at.session_state.result
    assert entry["result"].goal == "empty-buffers" and entry["result"].valid


def test_default_method_shows_the_fallback(at: AppTest) -> None:
    at.button(key="start").click().run()
    res = at.session_state.result["result"]
    assert res.requested == "ppo"
    if res.fallback:  # no trained policy shipped for the goal: the UI says what was used instead
        assert "Fallback: requested **ppo**" in _texts(at.warning)
        assert res.method in _texts(at.warning)
    else:
        assert res.method.startswith("ppo")
        assert "Policy search:" in _texts(at.caption)


def test_policy_search_time_is_passed_to_the_planner(at: AppTest) -> None:
    """The planner's search-time box reaches plan(): a longer search makes more passes."""
    at.number_input(key="ppo_time").set_value(0.5)
    at.button(key="start").click().run()
    short = at.session_state.result["result"]
    assert at.session_state.time_limit_val == 0.5
    if short.fallback and "not available" in short.fallback:
        pytest.skip("no shipped policy")
    at.number_input(key="ppo_time").set_value(4.0)
    at.button(key="start").click().run()
    long = at.session_state.result["result"]
    assert at.session_state.time_limit_val == 4.0
    assert short.details["time_budget_s"] == 0.5 and long.details["time_budget_s"] == 4.0
    assert long.details["passes"] >= short.details["passes"] >= 1
    assert (
        long.details["policy_cost"] <= short.details["policy_cost"] + 1e-6
    )  # same seed: a superset


def test_bad_rows_are_flagged_kept_and_persist(at: AppTest, monkeypatch, tmp_path) -> None:
    key = _editor(at).key
    at.session_state[key] = {
        "edited_rows": {0: {"quantity": -5}},
        "added_rows": [{"order": "X1", "article": "NOPE", "quantity": 3}],
        "deleted_rows": [],
    }
    at.run()
    df = _editor(at).value
    assert len(df) == 59  # nothing lost: the new row is there, flagged
    flagged = dict(zip(df["order"], df["problem"].fillna(""), strict=True))
    assert flagged["SO-1001"] == "quantity must be more than 0 (got -5)"
    assert flagged["X1"].startswith("unknown article 'NOPE'")
    w = _texts(at.warning)
    assert "2 of 59 orders have a problem" in w and "SO-1001" in w and "X1" in w
    # planning leaves the flagged rows out and plans the others
    at.radio(key="method").set_value("rule").run()
    at.button(key="start").click().run()
    inst = at.session_state.result["instance"]
    assert len(inst.orders) == 57 and "X1" not in {o.id for o in inst.orders}
    # a reload / restart: a new session reads the order book
    again = AppTest.from_file(APP, default_timeout=180).run()
    df2 = _editor(again).value
    assert (
        len(df2) == 59
        and dict(zip(df2["order"], df2["problem"].fillna(""), strict=True)) == flagged
    )


def test_add_order_form_messages(at: AppTest) -> None:
    at.number_input(key="add_quantity").set_value(-2)
    at.date_input(key="add_dl_date").set_value(date(2026, 2, 27))  # before the plan start
    at.time_input(key="add_dl_time").set_value(time(14, 0))
    at.button[0].click().run()  # "Add order"
    w = _texts(at.warning)
    assert "Order **SO-1059** was added but cannot be planned yet" in w
    assert "quantity must be more than 0 (got -2)" in w
    assert "deadline 2026-02-27 14:00 is in the past (before the plan start 2026-03-02 06:00)" in w
    assert len(_editor(at).value) == 59
    # a good one
    at.number_input(key="add_quantity").set_value(12)
    at.date_input(key="add_dl_date").set_value(date(2026, 3, 5))
    at.button[0].click().run()
    assert "Order **SO-1060** added (12 × " in _texts(at.success)
    df = _editor(at).value
    assert len(df) == 60 and df.iloc[-1]["problem"] in ("", None)


def test_malformed_uploads_change_nothing(at: AppTest) -> None:
    before = _editor(at).value.copy()
    at.file_uploader(key="plant_upload").set_value(
        ("factory.xlsx", b"PK broken", "application/octet-stream")
    )
    at.run()
    err = _texts(at.error)
    assert "factory.xlsx** was not loaded" in err and "still the one in use" in err
    assert "Demo furniture plant" in _texts(at.caption)
    # an orders file without the needed columns
    at.file_uploader(key="orders_upload").set_value(("orders.csv", b"foo,bar\n1,2\n", "text/csv"))
    at.run()
    assert "orders.csv** was not imported - the table is unchanged" in _texts(at.error)
    after = _editor(at).value
    assert after.equals(before)


def test_import_orders_with_bad_rows(at: AppTest) -> None:
    csv = io.BytesIO(
        b"order,article,quantity,deadline\nI-1,CHAIR,8,2026-03-05 14:00\nI-2,SOFA,-1,2026-03-01 06:00\n"
    )
    at.file_uploader(key="orders_upload").set_value(("week.csv", csv.getvalue(), "text/csv"))
    at.run()
    assert "Imported 2 orders from **week.csv**; 1 of them are flagged" in _texts(at.warning)
    df = _editor(at).value
    assert len(df) == 60
    p = df.set_index("order")["problem"].fillna("")
    assert p["I-1"] == ""
    assert (
        "unknown article 'SOFA'" in p["I-2"]
        and "more than 0" in p["I-2"]
        and "in the past" in p["I-2"]
    )


def test_best_rule_search_time(at: AppTest) -> None:
    at.radio(key="method").set_value("best-rule").run()
    assert at.number_input(key="rule_time").value == 0.0
    at.button(key="start").click().run()
    plain = at.session_state.result["result"]
    assert "search" not in plain.details and plain.valid  # 0 = every rule once
    at.number_input(key="rule_time").set_value(1.0)
    at.button(key="start").click().run()
    res = at.session_state.result["result"]
    assert not at.exception, [e.value for e in at.exception]
    assert res.details["search"]["passes"] >= 1 and res.valid
    assert res.cost <= plain.cost + 1e-9
    assert "Search:" in _texts(at.caption) and "around rule:" in _texts(at.caption)
