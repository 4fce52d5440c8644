"""Request and response bodies of the HTTP API (pydantic; they make ``/openapi.json``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "ErrorBody",
    "EventsRequest",
    "FieldError",
    "Health",
    "PlanList",
    "PlanOptions",
    "PlanOut",
    "PlanRequest",
    "PlanSubmitted",
    "PlanSummary",
]

Status = Literal["queued", "running", "done", "failed"]


def _local(v: Any) -> Any:
    """Times are the plant's local time: an offset would silently shift them."""
    if isinstance(v, datetime) and v.tzinfo is not None:
        raise ValueError("give the plant's local time without a UTC offset, e.g. 2026-03-02T06:00")
    return v


class PlanOptions(BaseModel):
    """How to plan (the options of ``furnsim plan``)."""

    model_config = ConfigDict(extra="forbid")

    time_limit: float | None = Field(
        default=None,
        gt=0,
        description="seconds: cpsat's limit; ppo's search time; best-rule: noisy search "
        "around the best rule after the rules",
    )
    passes: int | None = Field(
        default=None, ge=1, description="ppo / best-rule: an exact number of passes (reproducible)"
    )
    seed: int = Field(default=0, description="random seed")
    buffers: Literal["hard", "soft"] = Field(
        default="hard", description="hard (blocking) or soft (overflow priced)"
    )
    plan_start: datetime | None = Field(
        default=None,
        description="date and time minute 0 stands for (default: the plant's plan_start); "
        "dates in orders are relative to it",
    )

    _plan_start_local = field_validator("plan_start")(_local)


class PlanRequest(BaseModel):
    """A plan from scratch for a week of orders."""

    model_config = ConfigDict(extra="forbid")

    orders: list[dict[str, Any]] | None = Field(
        default=None,
        min_length=1,
        description="rows like the orders sheet: order, article, quantity, deadline, release, "
        "priority (dates like 2026-03-03 14:00 or minutes after plan start); omitted: the "
        "orders in the plant file",
        examples=[[{"order": "O1", "article": "A1", "quantity": 400, "deadline": 140}]],
    )
    goal: str = Field(default="speed", description="speed | efficiency | empty-buffers")
    method: str = Field(
        default="best-rule",
        description="rule:NAME | best-rule | cpsat | ppo | lns | ppo-lns (policy + optimizer) "
        "| portfolio:A,B,...",
    )
    options: PlanOptions = Field(default_factory=PlanOptions)


class EventsRequest(BaseModel):
    """What happened on the floor since a plan was made; answered by a re-plan."""

    model_config = ConfigDict(extra="forbid")

    now: datetime | float = Field(
        description="the present: a date and time, or minutes after the plan start"
    )
    events: list[dict[str, Any]] = Field(
        default_factory=list,
        description="floor events (machine down, order added, ...), passed to furnsim.replan",
    )
    goal: str | None = Field(default=None, description="default: the goal of the plan")
    method: str | None = Field(default=None, description="default: the method of the plan")
    options: PlanOptions | None = Field(
        default=None, description="default: the options of the plan"
    )

    _now_local = field_validator("now")(_local)


class FieldError(BaseModel):
    field: str = Field(description="path into the body, e.g. orders[3].quantity ('' = none)")
    message: str


class ErrorBody(BaseModel):
    detail: str
    errors: list[FieldError] = Field(default_factory=list)


class PlanSubmitted(BaseModel):
    id: str
    kind: Literal["plan", "replan"]
    status: Status
    parent_id: str | None = None
    created_at: datetime
    url: str = Field(description="where to poll: GET this")


class PlanSummary(BaseModel):
    id: str
    kind: Literal["plan", "replan"]
    parent_id: str | None
    plant: str
    status: Status
    goal: str
    requested: str = Field(description="the method asked for")
    valid: bool | None
    cost: float | None
    error: str | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class PlanOut(PlanSummary):
    """A stored plan; once ``done`` it carries the fields of ``furnsim plan --json``."""

    method: str | None = Field(default=None, description="the method that produced the plan")
    kpis: dict[str, float | None] | None = None
    violations: list[dict[str, Any]] | None = None
    fallback: str | None = None
    deadlock: str | None = None
    wall_time_s: float | None = None
    details: dict[str, Any] | None = None
    operations: list[dict[str, Any]] | None = None
    stability: Any = Field(
        default=None, description="re-plans: stability against the previous plan"
    )
    schedule: dict[str, Any] | None = Field(default=None, description="only with ?schedule=true")


class PlanList(BaseModel):
    plans: list[PlanSummary]
    total: int


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    plant: str
    storage: str = Field(description="sqlite or postgresql")
    workers: int
    queued: int
    running: int
    replan: bool = Field(description="whether POST /v1/plans/{id}/events is available")
