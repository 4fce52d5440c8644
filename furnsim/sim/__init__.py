"""Simulator of the extended job shop and its output, the Schedule."""

from furnsim.sim.engine import Deadlock, Decision, Noise, Simulator
from furnsim.sim.schedule import OP_FIELDS, Schedule

__all__ = ["OP_FIELDS", "Deadlock", "Decision", "Noise", "Schedule", "Simulator"]
