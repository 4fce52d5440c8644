"""furnsim: production scheduling for furniture job shops.

Extended job shop model (quantity factor, sequence-dependent setups, transport, buffers with
capacity and blocking, deadlines, alternative machines), a fast event-driven simulator,
dispatching rules, an exact CP-SAT model and reinforcement learning.
"""

from furnsim.errors import DataError, Issue, Location
from furnsim.io import load_instance, read_orders, read_plant
from furnsim.model import Instance

__all__ = [
    "DataError",
    "Instance",
    "Issue",
    "Location",
    "load_instance",
    "read_orders",
    "read_plant",
]
__version__ = "0.1.0"
