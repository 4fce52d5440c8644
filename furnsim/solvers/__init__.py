"""Exact / optimizing solvers that plan an :class:`~furnsim.model.Instance` outside the simulator.

``furnsim.solvers.cpsat.solve_cpsat`` is the OR-Tools CP-SAT model of the shop semantics
(docs/cpsat.md). Solvers return the same :class:`~furnsim.sim.Schedule` every method returns.
"""

__all__ = ["solve_cpsat"]


def __getattr__(name: str):  # lazy: importing furnsim.solvers does not import OR-Tools
    if name == "solve_cpsat":
        from furnsim.solvers.cpsat import solve_cpsat

        return solve_cpsat
    raise AttributeError(name)
