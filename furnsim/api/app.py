"""The FastAPI application of ``furnsim serve``: a thin shell over ``plan``/``replan``.

Endpoints (``docs/api.md``): ``GET /v1/health`` (no key), ``POST /v1/plans``, ``GET
/v1/plans``, ``GET /v1/plans/{id}``, ``POST /v1/plans/{id}/events``, ``GET /openapi.json``.
"""

from __future__ import annotations

import hmac
import json
import math
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader
from starlette.exceptions import HTTPException

import furnsim
from furnsim.api.config import ServerConfig
from furnsim.api.jobs import JobRunner
from furnsim.api.models import (
    ErrorBody,
    EventsRequest,
    Health,
    PlanList,
    PlanOut,
    PlanRequest,
    PlanSubmitted,
    PlanSummary,
)
from furnsim.api.service import (
    REPLAN_MODULE,
    PlanService,
    RequestInvalid,
    check_goal,
    check_method,
    replan_function,
)
from furnsim.io import PlantData
from furnsim.storage import PlanRecord, PlanStore, finite

__all__ = ["create_app"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


#: module level: FastAPI resolves the (string) annotations of endpoints in module globals
API_KEY_HEADER = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="one of the server's API keys"
)


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        detail: str,
        errors: list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ):
        self.status = status
        self.detail = detail
        self.errors = errors or []
        self.headers = headers


def _error_response(
    status: int, detail: str, errors: list[tuple[str, str]] | None = None, headers: Any = None
) -> JSONResponse:
    body = {"detail": detail, "errors": [{"field": f, "message": m} for f, m in errors or []]}
    return JSONResponse(body, status_code=status, headers=headers)


def _path(loc: tuple[Any, ...]) -> str:
    """Pydantic's ``("body", "orders", 3, "quantity")`` as ``orders[3].quantity``."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out


class BodyLimit:
    """413 for request bodies over ``max_bytes`` (by Content-Length, or counted when chunked)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _too_large(self, send: Send) -> None:
        body = json.dumps(
            {
                "detail": f"request body too large: the limit is {self.max_bytes} bytes",
                "errors": [],
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max_bytes
            except ValueError:
                too_big = False
            if too_big:
                await self._too_large(send)
                return
        # read the body here (at most max_bytes + 1 chunk), then hand it on
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            msg = await receive()
            if msg["type"] != "http.request":
                break
            chunk = msg.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(send)
                return
            chunks.append(chunk)
            more = bool(msg.get("more_body"))
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def create_app(
    plant: PlantData, config: ServerConfig | None = None, store: PlanStore | None = None
) -> FastAPI:
    """The API for one plant. ``store`` defaults to ``PlanStore(config.db_url)``."""
    cfg = config or ServerConfig()
    service = PlanService(
        plant, max_time_limit=cfg.max_time_limit, default_time_limit=cfg.default_time_limit
    )
    db = store if store is not None else PlanStore(cfg.db_url)
    runner = JobRunner(
        db, service, workers=cfg.workers, max_queue=cfg.max_queue, max_attempts=cfg.max_attempts
    )
    keys = [k.encode() for k in cfg.api_keys]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runner.recover()
        runner.start()
        yield
        runner.stop(cfg.shutdown_grace_s)
        db.dispose()

    app = FastAPI(
        title="furnsim",
        version=furnsim.__version__,
        description="Production planning for furniture job shops: plan a week of orders, "
        "poll the result, re-plan when the floor changes. See docs/api.md.",
        lifespan=lifespan,
        responses={
            401: {"model": ErrorBody, "description": "missing or wrong API key"},
            413: {"model": ErrorBody, "description": "request too large"},
            422: {"model": ErrorBody, "description": "invalid request (field paths)"},
        },
    )
    app.state.store = db
    app.state.runner = runner
    app.state.service = service
    app.add_middleware(BodyLimit, max_bytes=cfg.max_body_bytes)

    @app.exception_handler(ApiError)
    async def _api_error(_req: Request, e: ApiError) -> JSONResponse:
        return _error_response(e.status, e.detail, e.errors, e.headers)

    @app.exception_handler(HTTPException)
    async def _http_error(_req: Request, e: HTTPException) -> JSONResponse:
        return _error_response(e.status_code, str(e.detail), None, e.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_req: Request, e: RequestValidationError) -> JSONResponse:
        errs = [(_path(tuple(x.get("loc", ()))), str(x.get("msg", ""))) for x in e.errors()]
        return _error_response(422, "invalid request", errs)

    def require_key(key: Annotated[str | None, Security(API_KEY_HEADER)] = None) -> None:
        if not cfg.auth:
            return
        given = (key or "").encode()
        ok = False
        for k in keys:  # compare with every key, constant time each
            ok |= hmac.compare_digest(given, k)
        if not key or not ok:
            raise ApiError(401, "missing or wrong API key (send it in the X-API-Key header)")

    auth = [Depends(require_key)]

    def _submitted(rec_id: str, kind: str, parent: str | None) -> JSONResponse:
        rec = db.get(rec_id, with_result=False)
        assert rec is not None
        body = PlanSubmitted(
            id=rec.id,
            kind=rec.kind,  # type: ignore[arg-type]
            status=rec.status,  # type: ignore[arg-type]
            parent_id=parent,
            created_at=rec.created_at,
            url=f"/v1/plans/{rec.id}",
        )
        return JSONResponse(
            body.model_dump(mode="json"), status_code=202, headers={"Location": body.url}
        )

    def _store_new(
        kind: str, goal: str, method: str, request: dict[str, Any], parent: str | None = None
    ) -> JSONResponse:
        if not runner.reserve():
            raise ApiError(
                503,
                f"the planning queue is full ({cfg.max_queue} plans queued or running): "
                "try again shortly",
                headers={"Retry-After": "5"},
            )
        pid = uuid.uuid4().hex
        try:
            db.create(
                pid,
                kind=kind,
                plant=service.plant_name,
                goal=goal,
                method=method,
                request=request,
                parent_id=parent,
            )
        except Exception:
            runner.release()
            raise
        runner.enqueue(pid)
        return _submitted(pid, kind, parent)

    @app.get("/v1/health", response_model=Health, tags=["service"])
    def health() -> Health:
        """Liveness and queue counts (no API key needed)."""
        ok = db.ping()
        try:
            replan_ok = replan_function() is not None
        except Exception:  # noqa: BLE001 - a broken furnsim.replan: not available
            replan_ok = False
        return Health(
            status="ok" if ok else "degraded",
            version=furnsim.__version__,
            plant=service.plant_name,
            storage=db.backend,
            workers=runner.n_workers,
            queued=runner.queued,
            running=runner.running,
            replan=replan_ok,
        )

    @app.post(
        "/v1/plans",
        status_code=202,
        response_model=PlanSubmitted,
        dependencies=auth,
        tags=["plans"],
        responses={503: {"model": ErrorBody, "description": "the planning queue is full"}},
    )
    def create_plan(req: PlanRequest) -> JSONResponse:
        """Queue a plan of the orders; poll ``GET /v1/plans/{id}`` until it is done."""
        if req.orders is not None and len(req.orders) > cfg.max_orders:
            raise ApiError(
                413, f"too many orders: {len(req.orders)} (at most {cfg.max_orders} per request)"
            )
        errors: list[tuple[str, str]] = []
        goal, gerr = check_goal(req.goal)
        if gerr:
            errors.append(("goal", gerr))
        merr = check_method(req.method)
        if merr:
            errors.append(("method", merr))
        options = req.options.model_dump(mode="json")
        errors += service.check_options(req.method, options)
        try:
            service.instance(req.orders, req.options.plan_start)
        except RequestInvalid as e:
            errors += e.errors
        if errors:
            raise ApiError(422, "invalid request", errors)
        assert goal is not None
        doc = {"orders": req.orders, "goal": goal, "method": req.method, "options": options}
        return _store_new("plan", goal, req.method.strip(), doc)

    @app.get("/v1/plans", response_model=PlanList, dependencies=auth, tags=["plans"])
    def list_plans(
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
        status: Annotated[str | None, Query(pattern="^(queued|running|done|failed)$")] = None,
    ) -> PlanList:
        """Stored plans, newest first (no operations; GET one plan for those)."""
        recs = db.recent(limit, offset, status)
        return PlanList(plans=[_summary(r) for r in recs], total=db.count(status))

    @app.get(
        "/v1/plans/{plan_id}",
        response_model=PlanOut,
        dependencies=auth,
        tags=["plans"],
        responses={404: {"model": ErrorBody, "description": "no such plan"}},
    )
    def get_plan(plan_id: str, schedule: bool = False) -> JSONResponse:
        """A plan's status; when ``done``: ``valid``, ``kpis``, ``operations``, ... as in
        ``furnsim plan --json`` (``?schedule=true`` adds the raw schedule arrays)."""
        rec = db.get(plan_id)
        if rec is None:
            raise ApiError(404, f"no plan with id {plan_id!r}")
        out = _summary(rec).model_dump(mode="json")
        out["method"] = None
        if rec.result is not None:
            res = dict(rec.result)
            if not schedule:
                res.pop("schedule", None)
            res.pop("orders", None)
            res.pop("goal", None)
            res["requested"] = rec.method
            out.update(res)
        return JSONResponse(finite(out))

    @app.post(
        "/v1/plans/{plan_id}/events",
        status_code=202,
        response_model=PlanSubmitted,
        dependencies=auth,
        tags=["plans"],
        responses={
            404: {"model": ErrorBody, "description": "no such plan"},
            409: {"model": ErrorBody, "description": "the plan is not done yet"},
            501: {"model": ErrorBody, "description": "re-planning is not available"},
        },
    )
    def post_events(plan_id: str, req: EventsRequest) -> JSONResponse:
        """Re-plan from ``now`` after floor events; the new plan carries ``stability``."""
        if replan_function() is None:
            raise ApiError(
                501,
                f"re-planning is not available on this server yet: the continuous-planning "
                f"core ({REPLAN_MODULE}.replan) is not installed. POST /v1/plans plans from "
                "scratch.",
            )
        parent = db.get(plan_id, with_result=False)
        if parent is None:
            raise ApiError(404, f"no plan with id {plan_id!r}")
        if parent.status != "done":
            raise ApiError(409, f"plan {plan_id} is {parent.status}: re-plan a done plan")
        if len(req.events) > cfg.max_events:
            raise ApiError(
                413, f"too many events: {len(req.events)} (at most {cfg.max_events} per request)"
            )
        errors: list[tuple[str, str]] = []
        goal, gerr = check_goal(req.goal or parent.goal)
        if gerr:
            errors.append(("goal", gerr))
        method = (req.method or parent.method).strip()
        merr = check_method(method)
        if merr:
            errors.append(("method", merr))
        opts = (
            req.options.model_dump(mode="json")
            if req.options is not None
            else dict(parent.request.get("options") or {})
        )
        errors += service.check_options(method, opts)
        if isinstance(req.now, datetime) and service.plan_start(opts.get("plan_start")) is None:
            errors.append(("now", "a date/time needs a plan start: give minutes after it"))
        if errors:
            raise ApiError(422, "invalid request", errors)
        assert goal is not None
        now = req.now.isoformat() if isinstance(req.now, datetime) else float(req.now)
        doc = {"now": now, "events": req.events, "goal": goal, "method": method, "options": opts}
        return _store_new("replan", goal, method, doc, parent=plan_id)

    return app


def _summary(rec: PlanRecord) -> PlanSummary:
    return PlanSummary(
        id=rec.id,
        kind=rec.kind,  # type: ignore[arg-type]
        parent_id=rec.parent_id,
        plant=rec.plant,
        status=rec.status,  # type: ignore[arg-type]
        goal=rec.goal,
        requested=rec.method,
        valid=rec.valid,
        cost=rec.cost if rec.cost is not None and math.isfinite(rec.cost) else None,
        error=rec.error,
        attempts=rec.attempts,
        created_at=rec.created_at,
        started_at=rec.started_at,
        finished_at=rec.finished_at,
    )
