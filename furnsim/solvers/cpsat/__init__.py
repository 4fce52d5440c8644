"""OR-Tools CP-SAT model of the furnsim shop semantics (docs/cpsat.md).

    schedule, details = solve_cpsat(instance, "speed", time_limit=60, hint="rule:ATC")

Split as variables (integer data, decision variables) / constraints (semantics) / objective
(the goal cost in integer form) / solve (warm start, solve, replay through the simulator).
"""

from furnsim.solvers.cpsat.solve import (
    CpSolution,
    NoUsablePlan,
    build_model,
    replay_sequences,
    solve_cpsat,
)

__all__ = ["CpSolution", "NoUsablePlan", "build_model", "replay_sequences", "solve_cpsat"]
