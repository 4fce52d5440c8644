"""Domain model: plant, catalog, orders, instance."""

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
    "Catalog",
    "CompiledInstance",
    "Component",
    "Instance",
    "Job",
    "Machine",
    "Operation",
    "Order",
    "Plant",
    "TransportMatrix",
    "WorkCenter",
]
