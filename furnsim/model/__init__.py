"""Domain model: plant, catalog, orders, instance."""

from furnsim.model.calendars import Calendar, CalendarException, Downtime, Window
from furnsim.model.catalog import Article, Catalog, Component, Operation
from furnsim.model.instance import CompiledInstance, Instance
from furnsim.model.orders import Job, Order
from furnsim.model.plant import (
    FINISHED,
    NEUTRAL,
    STORE,
    Machine,
    Plant,
    TransportMatrix,
    WorkCenter,
)

__all__ = [
    "FINISHED",
    "NEUTRAL",
    "STORE",
    "Article",
    "Calendar",
    "CalendarException",
    "Catalog",
    "CompiledInstance",
    "Component",
    "Downtime",
    "Instance",
    "Job",
    "Machine",
    "Operation",
    "Order",
    "Plant",
    "TransportMatrix",
    "Window",
    "WorkCenter",
]
