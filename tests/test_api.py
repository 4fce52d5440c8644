"""The HTTP API against a real ``furnsim serve`` (uvicorn subprocess on 127.0.0.1).

Every server test runs on SQLite (``$FURNSIM_DATA``) and, when ``FURNSIM_TEST_PG_URL`` points
at a PostgreSQL database (``.ci/run`` starts one: ``scripts/ci_postgres.sh``), on PostgreSQL.
The paper example plant (3 orders, 9 operations) keeps each plan well under a second.
"""

from __future__ import annotations

import os
import sys
import time
import types
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")
pytest.importorskip("httpx")

import httpx  # noqa: E402

from tests._api_server import KEY, PAPER, Server, wait_done  # noqa: E402

PG_URL = os.environ.get("FURNSIM_TEST_PG_URL")

# (under pytest-xdist one process with tests/test_storage.py: one PostgreSQL database,
# tests/conftest.py)

# starlette's TestClient (in-process tests) warns that it prefers httpx2
pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

# the paper example's orders as API rows; O1's deadline as a date (= minute 140)
ORDERS: list[dict[str, Any]] = [
    {"order": "O1", "article": "A1", "quantity": 400, "deadline": "2026-03-02 08:20"},
    {"order": "O2", "article": "A2", "quantity": 100, "deadline": 90},
    {"order": "O3", "article": "A3", "quantity": 400, "deadline": 120},
]


def _reset_pg() -> None:
    from furnsim.storage import PlanStore

    assert PG_URL is not None
    s = PlanStore(PG_URL)
    s.drop_all()
    s.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str | None:
    """None = SQLite under FURNSIM_DATA; else the PostgreSQL URL."""
    if request.param == "sqlite":
        return None
    if not PG_URL:
        pytest.skip("FURNSIM_TEST_PG_URL is not set (scripts/ci_postgres.sh starts PostgreSQL)")
    return PG_URL


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One server per back end for the tests that need no restart."""
    if request.param == "postgresql":
        if not PG_URL:
            pytest.skip("FURNSIM_TEST_PG_URL is not set (scripts/ci_postgres.sh starts PostgreSQL)")
        _reset_pg()
    s = Server(tmp_path_factory.mktemp("api"), PG_URL if request.param == "postgresql" else None)
    s.start()
    yield s
    s.stop()


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


def _paper_plan(method: str) -> Any:
    from furnsim.io import load_instance
    from furnsim.plan import plan

    inst = load_instance(PAPER)
    return inst, plan(inst, "speed", method)


# --- the flow ---------------------------------------------------------------------------
def test_flow_post_poll_get(server: Server, client: httpx.Client) -> None:
    h = httpx.get(server.url + "/v1/health")  # no key needed
    assert h.status_code == 200
    health = h.json()
    assert health["status"] == "ok"
    assert health["storage"] == ("postgresql" if server.db_url else "sqlite")
    assert health["replan"] is (_replan_available())

    r = client.post("/v1/plans", json={"orders": ORDERS, "goal": "speed", "method": "rule:EDD"})
    assert r.status_code == 202, r.text
    sub = r.json()
    assert sub["status"] in ("queued", "running", "done")
    assert r.headers["location"] == f"/v1/plans/{sub['id']}" == sub["url"]

    d = wait_done(client, sub["id"])
    assert d["status"] == "done", d
    assert d["valid"] is True
    assert d["method"] == "rule:EDD" and d["requested"] == "rule:EDD" and d["goal"] == "speed"
    # the same plan the service gives for the plant file's orders (O1's date = minute 140)
    inst, res = _paper_plan("rule:EDD")
    assert d["kpis"]["makespan"] == pytest.approx(res.kpis["makespan"])
    assert d["cost"] == pytest.approx(res.cost)
    ops = d["operations"]
    assert len(ops) == len(res.schedule.records(inst)) == 9
    assert {o["order"] for o in ops} == {"O1", "O2", "O3"}
    assert all(o["end"] >= o["start"] >= 0 for o in ops)
    assert "schedule" not in d or d["schedule"] is None
    full = client.get(f"/v1/plans/{sub['id']}", params={"schedule": "true"}).json()
    assert full["schedule"]["op_machine"]

    listed = client.get("/v1/plans", params={"limit": 500}).json()
    assert sub["id"] in {p["id"] for p in listed["plans"]}
    assert listed["total"] >= 1


def test_plant_orders_when_omitted_and_best_rule(client: httpx.Client) -> None:
    r = client.post("/v1/plans", json={"goal": "efficiency"})  # the plant file's orders
    assert r.status_code == 202, r.text
    d = wait_done(client, r.json()["id"])
    assert d["status"] == "done" and d["valid"] is True
    assert d["goal"] == "efficiency" and d["requested"] == "best-rule"
    assert d["details"]["best_rule"].startswith("rule:")
    assert len(d["operations"]) == 9


def test_openapi(server: Server) -> None:
    r = httpx.get(server.url + "/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for p in ("/v1/health", "/v1/plans", "/v1/plans/{plan_id}", "/v1/plans/{plan_id}/events"):
        assert p in paths
    assert "X-API-Key" in str(r.json()["components"]["securitySchemes"])


# --- auth -------------------------------------------------------------------------------
def test_auth_401(server: Server) -> None:
    body = {"orders": ORDERS, "method": "rule:EDD"}
    for key in (None, "", "wrong", KEY[:-1] + "X", KEY + "X"):
        with server.client(key) as c:
            assert c.post("/v1/plans", json=body).status_code == 401, key
            assert c.get("/v1/plans").status_code == 401
            r = c.get("/v1/plans/nope")
            assert r.status_code == 401
            assert "X-API-Key" in r.json()["detail"]
    with server.client() as c:
        assert c.get("/v1/plans/nope").status_code == 404


# --- 422 with field paths ---------------------------------------------------------------
def _errors(r: httpx.Response) -> dict[str, str]:
    assert r.status_code == 422, r.text
    return {e["field"]: e["message"] for e in r.json()["errors"]}


def test_422_field_paths(client: httpx.Client) -> None:
    before = client.get("/v1/plans").json()["total"]
    bad = [dict(o) for o in ORDERS]
    bad[1]["article"] = "A7"
    bad[2]["quantity"] = -5
    bad[0]["deadline"] = "next tuesday"
    bad.append({"order": "O4", "article": "A1", "quantity": 3, "colour": "oak"})
    errs = _errors(
        client.post("/v1/plans", json={"orders": bad, "goal": "fastest", "method": "rule:NOPE"})
    )
    assert "unknown article 'A7'" in errs["orders[1].article"]
    assert "> 0" in errs["orders[2].quantity"]
    assert "next tuesday" in errs["orders[0].deadline"]
    assert "unknown column 'colour'" in errs["orders[3].colour"]
    assert "unknown goal" in errs["goal"]
    assert "unknown rule" in errs["method"]

    huge = [{"order": "O1", "article": "A1", "quantity": 5e8}]  # 25e6 min: io.limits
    assert (
        "minutes" in _errors(client.post("/v1/plans", json={"orders": huge}))["orders[0].quantity"]
    )
    errs = _errors(client.post("/v1/plans", json={"orders": ORDERS, "method": "magic"}))
    assert set(errs) == {"method"}
    errs = _errors(client.post("/v1/plans", json={"orders": [{"order": "O1", "article": "A1"}]}))
    assert "missing" in errs["orders[0].quantity"]
    dup = [ORDERS[0], dict(ORDERS[0])]
    assert (
        "duplicate order"
        in _errors(client.post("/v1/plans", json={"orders": dup}))["orders[1].order"]
    )
    # body shape errors (pydantic) use the same paths
    errs = _errors(
        client.post(
            "/v1/plans",
            json={"orders": ORDERS, "options": {"seed": "x", "buffers": "maybe", "extra": 1}},
        )
    )
    assert {"options.seed", "options.buffers", "options.extra"} <= set(errs)
    errs = _errors(client.post("/v1/plans", json={"orders": [{"order": "O1", "quantity": [1]}]}))
    assert "single value" in errs["orders[0].quantity"]
    errs = _errors(
        client.post("/v1/plans", json={"orders": ORDERS, "options": {"time_limit": 1e6}})
    )
    assert "at most" in errs["options.time_limit"]
    assert _errors(
        client.post("/v1/plans", content=b"{not json", headers={"content-type": "application/json"})
    )
    assert client.get("/v1/plans").json()["total"] == before  # nothing stored


# --- 413 --------------------------------------------------------------------------------
def test_413_request_limits(client: httpx.Client) -> None:
    big = {"orders": ORDERS, "method": "rule:EDD", "options": {}, "pad": "x" * 30_000}
    r = client.post("/v1/plans", json=big)
    assert r.status_code == 413
    assert "20000 bytes" in r.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while reading
        yield b'{"orders": ['
        for i in range(1000):  # ~50 kB
            yield b'{"order": "X%d", "article": "A1", "quantity": 1},' % i
        yield b'{"order": "Y", "article": "A1", "quantity": 1}]}'

    r = client.post("/v1/plans", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert "20000 bytes" in r.json()["detail"]  # the byte limit, not the orders limit

    many = [{"order": f"O{i}", "article": "A1", "quantity": 1} for i in range(51)]
    r = client.post("/v1/plans", json={"orders": many, "method": "rule:EDD"})
    assert r.status_code == 413
    assert "too many orders: 51" in r.json()["detail"]


# --- concurrency ------------------------------------------------------------------------
def test_20_concurrent_plans(server: Server, client: httpx.Client) -> None:
    methods = ["rule:EDD", "rule:SPT", "rule:ATC", "best-rule", "rule:FIFO"]
    bodies = [
        {"orders": ORDERS, "method": methods[i % len(methods)], "options": {"seed": i}}
        for i in range(20)
    ]

    def post(body: dict[str, Any]) -> httpx.Response:
        with server.client() as c:
            return c.post("/v1/plans", json=body)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(20) as ex:
        responses = list(ex.map(post, bodies))
    t_post = time.perf_counter() - t0
    assert [r.status_code for r in responses] == [202] * 20
    ids = [r.json()["id"] for r in responses]
    assert len(set(ids)) == 20
    results = [wait_done(client, i) for i in ids]
    t_all = time.perf_counter() - t0
    assert [d["status"] for d in results] == ["done"] * 20
    assert all(d["valid"] is True and len(d["operations"]) == 9 for d in results)
    for d, body in zip(results, bodies, strict=True):
        assert d["requested"] == body["method"]
    done = client.get("/v1/plans", params={"status": "done", "limit": 500}).json()
    assert set(ids) <= {p["id"] for p in done["plans"]}
    print(
        f"\n20 concurrent POSTs ({'pg' if server.db_url else 'sqlite'}): accepted in "
        f"{t_post:.2f} s, all done in {t_all:.2f} s"
    )


# --- re-planning boundary ---------------------------------------------------------------
def _replan_available() -> bool:
    from furnsim.api.service import replan_function

    return replan_function() is not None


def test_events_501_until_replan_exists(client: httpx.Client) -> None:
    if _replan_available():
        pytest.skip("furnsim.replan exists: test_events_call_replan covers the endpoint")
    r = client.post("/v1/plans", json={"orders": ORDERS, "method": "rule:EDD"})
    pid = r.json()["id"]
    wait_done(client, pid)
    r = client.post(f"/v1/plans/{pid}/events", json={"now": 30, "events": [{"type": "x"}]})
    assert r.status_code == 501
    assert "furnsim.replan" in r.json()["detail"]
    before = client.get("/v1/plans").json()["total"]
    assert client.post(f"/v1/plans/{pid}/events", json={"now": 30}).status_code == 501
    assert client.get("/v1/plans").json()["total"] == before


# --- restart ----------------------------------------------------------------------------
@pytest.mark.slow
def test_restart_keeps_and_resumes_plans(tmp_path: Path, backend: str | None) -> None:
    """Done plans survive a restart; plans queued or running when the server was killed
    are resumed at the next start (the interrupted one on its second attempt)."""
    s = Server(tmp_path, backend, env={"FURNSIM_API_WORKERS": "1"}).start()
    try:
        with s.client() as c:
            done_id = c.post("/v1/plans", json={"orders": ORDERS, "method": "rule:EDD"}).json()[
                "id"
            ]
            first = wait_done(c, done_id)
            # the first runs 3 s (killed while running), the others wait in the queue
            slow_ids = [
                c.post(
                    "/v1/plans",
                    json={"orders": ORDERS, "method": "best-rule", "options": {"time_limit": t}},
                ).json()["id"]
                for t in (3.0, 0.5, 0.5)
            ]
            t0 = time.monotonic()
            while c.get(f"/v1/plans/{slow_ids[0]}").json()["status"] != "running":
                assert time.monotonic() - t0 < 30
                time.sleep(0.05)
    finally:
        s.stop(kill=True)  # a crash: no graceful shutdown
    s2 = Server(tmp_path, backend, env={"FURNSIM_API_WORKERS": "2"}).start()
    try:
        with s2.client() as c:
            again = c.get(f"/v1/plans/{done_id}").json()
            assert again["status"] == "done"
            assert again["kpis"] == first["kpis"] and again["operations"] == first["operations"]
            resumed = [wait_done(c, i) for i in slow_ids]
            assert [d["status"] for d in resumed] == ["done"] * 3
            assert all(d["valid"] for d in resumed)
            assert resumed[0]["attempts"] == 2  # was running at the kill
            assert [d["attempts"] for d in resumed[1:]] == [1, 1]  # were queued
            ids = {p["id"] for p in c.get("/v1/plans", params={"limit": 500}).json()["plans"]}
            assert {done_id, *slow_ids} <= ids
    finally:
        s2.stop()  # graceful (SIGTERM)
    assert "Traceback" not in s2.log.read_text()


# --- in-process: recovery rules, the replan call, config --------------------------------
def _store(tmp_path: Path) -> Any:
    from furnsim.storage import PlanStore

    return PlanStore("sqlite:///" + str(tmp_path / "plans.sqlite"))


def test_request_rows_go_through_the_orders_builder() -> None:
    from furnsim.api.service import PlanService, RequestInvalid
    from furnsim.io import read_plant

    service = PlanService(read_plant(PAPER))
    rows: list[dict[str, Any]] = [
        {"Order": " O1 ", "Article": "A1", "Quantity": "400", "deadline": "2026-03-02 08:20"},
        {"order": 7, "article": "A2", "quantity": 100.0, "release": 15, "priority": "2,5"},
    ]
    inst = service.instance(rows)
    o1, o7 = inst.orders
    assert (o1.id, o1.article, o1.quantity, o1.deadline) == ("O1", "A1", 400.0, 140.0)
    assert (o7.id, o7.release, o7.priority) == ("7", 15.0, 2.5)
    assert o7.deadline == float("inf")
    with pytest.raises(RequestInvalid) as e:
        service.instance(
            [{"order": "O1", "article": "A1", "quantity": 1, "release": 50, "deadline": 10}]
        )
    assert [f for f, _ in e.value.errors] == ["orders[0].deadline"]
    with pytest.raises(RequestInvalid) as e:
        service.instance([{"order": "O1", "Order": "O2", "article": "A1", "quantity": 1}])
    assert e.value.errors == [("orders[0].order", "column given twice in this row")]


def test_recover_fails_plans_interrupted_too_often(tmp_path: Path) -> None:
    from furnsim.api.jobs import JobRunner
    from furnsim.api.service import PlanService
    from furnsim.io import read_plant

    store = _store(tmp_path)
    service = PlanService(read_plant(PAPER))
    req: dict[str, Any] = {"orders": None, "goal": "speed", "method": "rule:EDD", "options": {}}
    for pid in ("twice", "once", "queued", "other"):
        plant = "another plant" if pid == "other" else service.plant_name
        store.create(pid, kind="plan", plant=plant, goal="speed", method="rule:EDD", request=req)
    for pid in ("twice", "twice", "once"):  # claimed, then "killed" (left running)
        store.requeue(pid)
        assert store.claim(pid)
    runner = JobRunner(store, service, workers=1, max_attempts=2)
    assert runner.recover() == {"resumed": 2, "failed": 2}
    twice, other = store.get("twice"), store.get("other")
    assert twice is not None and twice.status == "failed" and "2 times" in (twice.error or "")
    assert other is not None and other.status == "failed" and "another plant" in (other.error or "")
    runner.start()
    try:
        t0 = time.monotonic()
        while {store.get(p).status for p in ("once", "queued")} != {"done"}:
            assert time.monotonic() - t0 < 30
            time.sleep(0.05)
    finally:
        runner.stop()
    once = store.get("once")
    assert once is not None and once.attempts == 2 and once.valid is True


def test_queue_full_503(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from furnsim.api import ServerConfig, create_app
    from furnsim.io import read_plant

    cfg = ServerConfig(api_keys=(KEY,), max_queue=1, workers=1)
    app = create_app(read_plant(PAPER), cfg, _store(tmp_path))
    app.state.runner.start = lambda: None  # no workers: the one place stays taken
    with TestClient(app, headers={"X-API-Key": KEY}) as c:
        assert c.post("/v1/plans", json={"method": "rule:EDD"}).status_code == 202
        r = c.post("/v1/plans", json={"method": "rule:EDD"})
        assert r.status_code == 503 and r.headers["retry-after"]
        assert c.get("/v1/plans").json()["total"] == 1


def test_events_call_replan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The boundary to the continuous-planning core: ``furnsim.replan.replan(instance,
    previous_schedule, now=minutes, events=[...], goal=, method=, **plan options)``."""
    from fastapi.testclient import TestClient

    from furnsim.api import ServerConfig, create_app
    from furnsim.io import read_plant
    from furnsim.plan import plan

    calls: list[dict[str, Any]] = []

    def fake_replan(instance: Any, previous: Any, **kw: Any) -> Any:
        calls.append({"n_ops": previous.n_ops, **kw})
        res = plan(instance, kw["goal"], kw["method"])
        res.details["stability"] = {"moved_ops": 0}
        return res

    fake = types.ModuleType("furnsim.replan")
    fake.replan = fake_replan  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "furnsim.replan", fake)
    cfg = ServerConfig(api_keys=(KEY,))
    with TestClient(
        create_app(read_plant(PAPER), cfg, _store(tmp_path)), headers={"X-API-Key": KEY}
    ) as c:
        assert c.get("/v1/health").json()["replan"] is True
        pid = c.post("/v1/plans", json={"orders": ORDERS, "method": "rule:EDD"}).json()["id"]
        assert c.post("/v1/plans/nope/events", json={"now": 1}).status_code == 404
        wait_done(c, pid)
        r = c.post(
            f"/v1/plans/{pid}/events",
            json={"now": "2026-03-02T06:45", "events": [{"type": "machine_down", "machine": "M1"}]},
        )
        assert r.status_code == 202, r.text
        sub = r.json()
        assert sub["kind"] == "replan" and sub["parent_id"] == pid and sub["id"] != pid
        d = wait_done(c, sub["id"])
        assert d["status"] == "done", d
        assert d["stability"] == {"moved_ops": 0} and d["valid"] is True
        assert len(d["operations"]) == 9
    assert calls == [
        {
            "n_ops": 9,
            "now": 45.0,
            "events": [{"type": "machine_down", "machine": "M1"}],
            "goal": "speed",
            "method": "rule:EDD",
            "buffers": "hard",
            "seed": 0,
            "time_limit": None,
        }
    ]
    monkeypatch.setitem(sys.modules, "furnsim.replan", None)  # gone: 501 again
    with TestClient(
        create_app(read_plant(PAPER), cfg, _store(tmp_path)), headers={"X-API-Key": KEY}
    ) as c:
        assert c.get("/v1/health").json()["replan"] is False
        assert c.post(f"/v1/plans/{pid}/events", json={"now": 1}).status_code == 501


def test_config_env_and_file(tmp_path: Path) -> None:
    from furnsim.api import ConfigError, ServerConfig

    f = tmp_path / "server.yaml"
    f.write_text("api_keys: [aaaaaaaaaaaaaaaa1, bbbbbbbbbbbbbbbb2]\nmax_orders: 10\nworkers: 3\n")
    cfg = ServerConfig.load(f, env={"FURNSIM_API_MAX_ORDERS": "7"})
    assert cfg.api_keys == ("aaaaaaaaaaaaaaaa1", "bbbbbbbbbbbbbbbb2")
    assert (cfg.max_orders, cfg.workers) == (7, 3)  # environment over file
    cfg = ServerConfig.load(
        None, env={"FURNSIM_API_KEYS": " k1k1k1k1k1k1k1k1k1 , k2k2k2k2k2k2k2k2k2"}
    )
    assert cfg.api_keys == ("k1k1k1k1k1k1k1k1k1", "k2k2k2k2k2k2k2k2k2")
    with pytest.raises(ConfigError, match="shorter than 16"):
        ServerConfig.load(None, env={"FURNSIM_API_KEYS": "short"})
    f.write_text("max_orders: -1\nbogus: 1\n")
    with pytest.raises(ConfigError, match="max_orders"):
        ServerConfig.load(f, env={})


def test_serve_refuses_without_keys_or_plant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from furnsim.cli import app

    monkeypatch.delenv("FURNSIM_API_KEYS", raising=False)
    monkeypatch.setenv("FURNSIM_DATA", str(tmp_path))
    r = CliRunner().invoke(app, ["serve", str(PAPER)])
    assert r.exit_code == 2 and "FURNSIM_API_KEYS" in r.output
    monkeypatch.setenv("FURNSIM_API_KEYS", KEY)
    r = CliRunner().invoke(app, ["serve", str(tmp_path / "missing.xlsx")])
    assert r.exit_code == 2 and "not found" in r.output
    r = CliRunner().invoke(app, ["serve", str(PAPER), "--no-auth", "--host", "0.0.0.0"])
    assert r.exit_code == 2 and "only on localhost" in r.output
