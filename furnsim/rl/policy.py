"""Shipped policies: load a trained model and plan a whole week in one pass.

``plan_with_policy(instance, goal)`` is what ``furnsim.plan.plan(..., method="ppo")`` calls.
It loads ``ppo-<goal>.zip`` (with its sidecar ``ppo-<goal>.json``) from the models folder
(:func:`default_models_dir`: the package's ``furnsim/data/models``, or ``$FURNSIM_MODELS``), runs
the simulator from the first decision to the last asking the policy greedily (the arg-max of
the masked logits), and returns the schedule with details. A missing model raises
:class:`FileNotFoundError`, so the planner falls back to the best rule and says so.

A model file is untrusted input. Planning reads only the scorer's weights from the zip's
``policy.pth`` with ``torch.load(..., weights_only=True)`` (tensors only, no code), after
bounding the zip (members, uncompressed size); it never unpickles the zip's ``data``. A file
that would need more (no ``policy.pth``, no sidecar ``max_candidates``, a ``rules`` view,
anything but tensors) raises :class:`~furnsim.errors.ModelRefused`; the planner then falls
back to the best rule and says why. ``load_planner(..., trusted=True)`` (training, benchmarks
of models you made yourself) may still load the whole SB3 model.

The ``candidates`` policy scores each candidate of the deciding machine with a shared
network; the work per decision grows with the number of candidates only, never with the
number of jobs or machines, so a 2,000-job week is planned the same way as a 100-job one.
"""

from __future__ import annotations

import json
import math
import os
import time
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from furnsim.errors import ModelRefused
from furnsim.model import Instance
from furnsim.sim import Schedule, Simulator

__all__ = [
    "MODELS_DIR",
    "ModelRefused",
    "PolicyPlanner",
    "load_planner",
    "model_path",
    "default_models_dir",
    "plan_with_policy",
]

#: shipped models: package data (``furnsim/data/models``), found through importlib.resources,
#: so an installed furnsim (``pip install furnsim``) finds them from any working directory
MODELS_DIR = Path(str(resources.files("furnsim").joinpath("data", "models")))

#: bounds on a model file, checked before anything in it is read
MAX_MODEL_FILE_BYTES = 64 * 2**20
MAX_MODEL_MEMBERS = 32
MAX_MODEL_UNCOMPRESSED = 128 * 2**20
MAX_SIDECAR_BYTES = 4 * 2**20


def default_models_dir() -> Path:
    """The folder of the shipped policies: ``$FURNSIM_MODELS`` if set, else the package's."""
    env = os.environ.get("FURNSIM_MODELS")
    return Path(env) if env else MODELS_DIR


def model_path(goal: str, models_dir: str | Path | None = None) -> Path:
    from furnsim.goals import get_goal

    folder = Path(models_dir) if models_dir else default_models_dir()
    return folder / f"ppo-{get_goal(goal).name}.zip"


class PolicyPlanner:
    """A loaded policy that answers simulator decisions (``choose(sim, decision)``)."""

    def __init__(
        self,
        model: Any,
        meta: dict[str, Any],
        *,
        layers: list[tuple[np.ndarray, np.ndarray]] | None = None,
        max_candidates: int | None = None,
        attention: dict[str, Any] | None = None,
    ) -> None:
        """``model``: a loaded MaskablePPO; or, for the ``candidates`` view, ``model=None``
        with the scorer's ``layers`` ((in, out) weight, bias) and ``max_candidates``
        (:func:`_load_scorer` reads them straight from the saved zip), and for an
        ``attention`` scorer its self-attention arrays (:func:`_attention_arrays`)."""
        import torch

        self.model = model
        self.meta = meta
        self.view = str(meta.get("view", "candidates"))
        self.name = f"ppo:{meta.get('goal', '')}"
        self._torch = torch
        cfg = meta.get("config", {})
        if self.view == "candidates":
            from furnsim.env.observations import CandidateObservation

            if layers is None:
                k = int(model.observation_space["candidates"].shape[0])
                ext = model.policy.features_extractor
                # numpy copy of the shared scorer: a (k, 32) forward pass per decision, no
                # torch dispatch overhead (the same arithmetic as CandidateExtractor.scores)
                lin = [m for m in ext.enc if hasattr(m, "weight")] + [ext.score]
                layers = [
                    (
                        m.weight.detach().numpy().T.astype(np.float64),
                        m.bias.detach().numpy().astype(np.float64),
                    )
                    for m in lin
                ]
                if getattr(ext, "arch", "mlp") == "attention":
                    attention = _attention_arrays(
                        {
                            k: v.detach().cpu()
                            for k, v in ext.attn.state_dict().items()  # in_proj_*, out_proj.*
                        },
                        int(ext.attn.num_heads),
                    )
            else:
                if max_candidates is None:
                    raise ValueError("max_candidates is needed with layers")
                k = int(max_candidates)
            kit = bool(cfg.get("kit_features", False)) if isinstance(cfg, dict) else False
            wt = isinstance(cfg, dict) and cfg.get("working_time_features") is True
            tf = cfg.get("teacher_features") if isinstance(cfg, dict) else None
            self.obs_fn: Any = CandidateObservation(
                k, kit_features=kit, working_time=wt, teacher=tf
            )
            self._layers = layers
            self._attn = attention  # None = independent rows (mlp)
        elif self.view == "rules":
            from furnsim.env.observations import ShopFeatures
            from furnsim.rules import COMPOSITE_RULES, get_rule

            self.obs_fn = ShopFeatures()
            self.rules = [get_rule(r) for r in (cfg.get("rules") or COMPOSITE_RULES)]
        else:
            raise ValueError(
                f"planning with view {self.view!r} is not supported (use candidates or rules)"
            )

        self._rng: np.random.Generator | None = None  # None = greedy (arg-max)
        self._temperature = 1.0

    def reset(self, seed: int | None = None) -> None:
        """Greedy policies keep no state between runs."""

    def _logits(self, sim: Simulator, d: Any) -> np.ndarray:
        obs = self.obs_fn(sim, d)
        if self.view == "candidates":
            k = self.obs_fn.slots.size
            cand, ctx = obs["candidates"], obs["context"]
            f = cand.shape[1]
            x = np.empty((k, f + ctx.size))  # [rows | context] in float64, as concatenate gives
            x[:, :f] = cand[:k]
            x[:, f:] = ctx
            (w1, b1), (w2, b2), (w3, b3) = self._layers
            h = np.tanh(np.tanh(x @ w1 + b1) @ w2 + b2)
            if self._attn is not None:
                h = h + _self_attention(h, self._attn)
            return (h @ w3 + b3)[:, 0]
        t = self._torch
        ob = {"obs": t.as_tensor(obs[None])}
        dist = self.model.policy.get_distribution(ob["obs"])
        return dist.distribution.logits.detach().numpy()[0].astype(np.float64)

    def scores(self, sim: Simulator, d: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(jobs, logits)``: the policy's logit for each job it scores at decision ``d``
        (``candidates`` view: the kept slots, at most K; ``rules`` view: each rule's pick,
        so a job may appear more than once). Softmax(logits / τ) is the policy's sampling
        distribution at temperature τ (what :meth:`choose` draws from)."""
        s = self._logits(sim, d)
        if self.view == "candidates":
            return self.obs_fn.slots.copy(), s
        jobs = np.array([int(r.choose(sim, d)) for r in self.rules], dtype=np.int64)
        return jobs, s

    def choose(self, sim: Simulator, d: Any) -> int:
        if d.candidates.size == 1:
            return int(d.candidates[0])
        s = self._logits(sim, d)
        if self._rng is None:
            a = int(np.argmax(s))
        else:
            z = (s - s.max()) / max(self._temperature, 1e-6)
            p = np.exp(z)
            a = int(self._rng.choice(s.size, p=p / p.sum()))
        if self.view == "candidates":
            return int(self.obs_fn.slots[a])
        return int(self.rules[a].choose(sim, d))

    def plan(
        self,
        instance: Instance,
        *,
        buffers: str = "hard",
        rng: np.random.Generator | None = None,
        temperature: float = 1.0,
    ) -> tuple[Schedule, Simulator]:
        """One pass over the whole instance: greedy, or sampled from the policy with ``rng``."""
        sim = Simulator(instance, buffers=buffers)
        self.obs_fn.reset(sim)
        self._rng, self._temperature = rng, float(temperature)
        try:
            # one-candidate decisions are taken by the simulator itself (choose would take the
            # only candidate without a draw: the same plan, the same random stream)
            d = sim.skip_singles()
            choose, dispatch = self.choose, sim.dispatch
            with self._torch.inference_mode():
                while d is not None:
                    d = dispatch(choose(sim, d), skip_single=True)
        finally:
            self._rng = None
        return sim.schedule(method=self.name), sim

    def plan_best(
        self,
        instance: Instance,
        goal: str,
        *,
        samples: int = 1,
        temperature: float = 1.0,
        seed: int = 0,
        time_budget_s: float | None = None,
        buffers: str = "hard",
        keep_all: bool = False,
    ) -> tuple[Schedule, Simulator, dict[str, Any]]:
        """Greedy pass plus ``samples - 1`` passes sampled from the policy; the cheapest wins.

        Sampling several solutions from the learned policy and keeping the best by the goal's
        cost is the standard inference of neural combinatorial optimization. Passes are
        seeded (``seed``), so the result is deterministic, unless ``time_budget_s`` stops the
        sampling early: no new pass starts when the elapsed time plus the longest pass so far
        would exceed it. Deadlocked passes are never kept when a complete one exists.
        ``info`` has every pass's cost and seconds (``sample_costs``, ``pass_s``) and, with
        ``keep_all``, its ``(schedule, simulator)`` (``passes``).
        """
        from furnsim.goals import cost

        t0 = time.perf_counter()
        best: tuple[float, Schedule, Simulator] | None = None
        costs: list[float] = []
        secs: list[float] = []
        kept: list[tuple[Schedule, Simulator]] = []
        longest = 0.0
        ss = np.random.SeedSequence(seed)
        for i in range(max(int(samples), 1)):
            if (
                i
                and time_budget_s is not None
                and time.perf_counter() - t0 + longest > time_budget_s
            ):
                break
            t1 = time.perf_counter()
            rng = None if i == 0 else np.random.default_rng(ss.spawn(1)[0])
            sched, sim = self.plan(instance, buffers=buffers, rng=rng, temperature=temperature)
            c = math.inf if sim.deadlock is not None else float(cost(sched, goal, instance))
            secs.append(time.perf_counter() - t1)
            longest = max(longest, secs[-1])
            costs.append(c)
            if keep_all:
                kept.append((sched, sim))
            if best is None or c < best[0]:
                best = (c, sched, sim)
        assert best is not None
        info = {
            "samples": len(costs),
            "samples_asked": int(samples),
            "temperature": float(temperature),
            "greedy_cost": costs[0],
            "best_pass": int(np.argmin(costs)),
            "sample_costs": costs,
            "pass_s": secs,
        }
        if keep_all:
            info["passes"] = kept
        return best[1], best[2], info


def _load_model(path: Path) -> Any:
    """The whole SB3 model. This UNPICKLES the zip's ``data``: only for files you trust
    (your own training run); planning never calls it (``load_planner(trusted=True)`` does)."""
    from sb3_contrib import MaskablePPO

    import furnsim.rl.net  # noqa: F401 - the custom policy class must be importable

    return MaskablePPO.load(str(path), device="cpu")


_SCORER_KEYS = ("enc.0", "enc.2", "score")
#: the self-attention tensors of an ``attention`` scorer (torch.nn.MultiheadAttention's names)
_ATTN_KEYS = ("in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias")


def _attention_arrays(sd: dict[str, Any], heads: int) -> dict[str, Any]:
    """float64 numpy copies of a MultiheadAttention's weights (keys: :data:`_ATTN_KEYS`)."""
    w_in = sd["in_proj_weight"].double().numpy()  # (3H, H): query, key, value rows
    b_in = sd["in_proj_bias"].double().numpy()  # (3H,)
    h = w_in.shape[1]
    if w_in.shape != (3 * h, h) or b_in.shape != (3 * h,) or heads < 1 or h % heads:
        raise ValueError("the self-attention weights do not fit the scorer's width")
    w_out = sd["out_proj.weight"].double().numpy()  # (H, H)
    b_out = sd["out_proj.bias"].double().numpy()  # (H,)
    if w_out.shape != (h, h) or b_out.shape != (h,):
        raise ValueError("the self-attention output weights do not fit the scorer's width")
    return {
        "w_in": w_in.T.copy(),  # (H, 3H)
        "b_in": b_in.copy(),
        "w_out": w_out.T.copy(),  # (H, H)
        "b_out": b_out.copy(),
        "heads": int(heads),
    }


def _self_attention(h: np.ndarray, a: dict[str, Any]) -> np.ndarray:
    """Multi-head self-attention over the rows of ``h`` (k, H), all rows legal: the same
    arithmetic as ``torch.nn.MultiheadAttention`` (batch_first, no dropout), in float64."""
    k, width = h.shape
    nh = int(a["heads"])
    d = width // nh
    qkv = h @ a["w_in"] + a["b_in"]  # (k, 3H)
    q = qkv[:, :width].reshape(k, nh, d).transpose(1, 0, 2)  # (nh, k, d)
    kk = qkv[:, width : 2 * width].reshape(k, nh, d).transpose(1, 2, 0)  # (nh, d, k)
    v = qkv[:, 2 * width :].reshape(k, nh, d).transpose(1, 0, 2)  # (nh, k, d)
    z = (q @ kk) / math.sqrt(d)  # (nh, k, k)
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    z /= z.sum(axis=-1, keepdims=True)
    out = (z @ v).transpose(1, 0, 2).reshape(k, width)  # (k, H)
    return out @ a["w_out"] + a["b_out"]


def _refuse(path: Path, why: str) -> ModelRefused:
    return ModelRefused(
        f"refused model {path.name}: {why} (planning loads only a model's weights, never "
        "pickled code)"
    )


def _read_weights_member(path: Path) -> bytes:
    """The zip's ``policy.pth`` bytes, after bounding the zip."""
    import zipfile

    size = path.stat().st_size
    if size > MAX_MODEL_FILE_BYTES:
        raise _refuse(path, f"the file has {size:,} bytes (at most {MAX_MODEL_FILE_BYTES:,})")
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            if len(infos) > MAX_MODEL_MEMBERS:
                raise _refuse(
                    path, f"the zip has {len(infos)} members (at most {MAX_MODEL_MEMBERS})"
                )
            total = sum(i.file_size for i in infos)
            if total > MAX_MODEL_UNCOMPRESSED:
                raise _refuse(
                    path,
                    f"the zip unpacks to {total:,} bytes (at most {MAX_MODEL_UNCOMPRESSED:,})",
                )
            try:
                info = z.getinfo("policy.pth")
            except KeyError:
                raise _refuse(
                    path, "the zip has no policy.pth (weights); its pickled 'data' is not read"
                ) from None
            with z.open(info) as f:  # reads at most the member's declared size
                return f.read(MAX_MODEL_UNCOMPRESSED + 1)
    except zipfile.BadZipFile as e:
        raise _refuse(path, f"not a model zip ({e})") from None


def _load_scorer(path: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """The MLP layers of the candidate scorer (see :func:`_load_scorer_parts`)."""
    return _load_scorer_parts(path)[0]


def _load_scorer_parts(
    path: Path,
) -> tuple[list[tuple[np.ndarray, np.ndarray]], dict[str, Any] | None]:
    """The candidate scorer's layers read straight from the SB3 zip (``policy.pth``).

    Weights only: ``torch.load(weights_only=True)`` unpickles nothing but tensors and plain
    containers, and every value must be a tensor. Planning needs only these ~6k weights;
    skipping the SB3 model (and its Adam optimizer, whose first use imports
    ``torch._dynamo``) also makes the first plan of a session about 2 s faster.
    """
    import io

    import torch

    if _torch_version(torch.__version__) < (2, 6) and not _shipped(path):
        raise _refuse(
            path,
            f"torch {torch.__version__} has a known weights_only bypass (CVE-2025-32434); "
            "models other than the shipped ones are loaded from torch 2.6 on",
        )
    raw = _read_weights_member(path)
    try:
        sd = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any failure is a refusal, never a crash
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise _refuse(path, f"policy.pth is not a weights-only state dict ({msg[:200]})") from None
    if not isinstance(sd, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in sd.items()
    ):
        raise _refuse(path, "policy.pth holds something other than named tensors")
    out = []
    for name in _SCORER_KEYS:
        w, b = (
            sd.get(f"features_extractor.{name}.weight"),
            sd.get(f"features_extractor.{name}.bias"),
        )
        if w is None or b is None or w.ndim != 2 or b.ndim != 1 or w.shape[0] != b.shape[0]:
            raise _refuse(path, f"policy.pth has no candidate scorer layer {name!r}")
        out.append((w.double().numpy().T.copy(), b.double().numpy().copy()))
    for (w1, _), (w2, _) in zip(out, out[1:], strict=False):
        if w1.shape[1] != w2.shape[0]:
            raise _refuse(path, "the scorer's layer shapes do not fit together")
    if out[-1][0].shape[1] != 1:
        raise _refuse(path, "the scorer's last layer must give one score per candidate")
    attn = {k: sd.get(f"features_extractor.attn.{k}") for k in _ATTN_KEYS}
    found = [k for k, v in attn.items() if v is not None]
    if found and len(found) != len(_ATTN_KEYS):
        raise _refuse(path, "policy.pth has an incomplete self-attention layer")
    return out, (attn if found else None)


def _torch_version(v: str) -> tuple[int, int]:
    try:
        major, minor = v.split("+")[0].split(".")[:2]
        return int(major), int(minor)
    except ValueError:
        return (0, 0)


def _shipped(path: Path) -> bool:
    """A model that is package data (as trusted as furnsim's own code)."""
    try:
        return path.resolve().parent == MODELS_DIR.resolve()
    except OSError:
        return False


def _read_sidecar(p: Path) -> dict[str, Any]:
    side = p.with_suffix(".json")
    if not side.exists():
        return {}
    if side.stat().st_size > MAX_SIDECAR_BYTES:
        raise _refuse(p, f"its sidecar {side.name} is larger than {MAX_SIDECAR_BYTES:,} bytes")
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise _refuse(p, f"its sidecar {side.name} is not valid JSON ({e})") from None
    if not isinstance(meta, dict):
        raise _refuse(p, f"its sidecar {side.name} is not a JSON object")
    return meta


@lru_cache(maxsize=8)
def _cached(path: str, mtime: float, side_mtime: float, trusted: bool = False) -> PolicyPlanner:
    """(``mtime`` / ``side_mtime``: the zip's and the sidecar's, so that a rewritten sidecar,
    e.g. a new ``plan_temperature``, is read again)"""
    p = Path(path)
    meta = _read_sidecar(p)
    cfg = meta.get("config", {})
    k = cfg.get("max_candidates") if isinstance(cfg, dict) else None
    view = str(meta.get("view", "candidates"))
    if trusted and not (view == "candidates" and k):
        return PolicyPlanner(_load_model(p), meta)
    if view != "candidates":
        raise _refuse(
            p,
            f"its view is {view!r}: only the 'candidates' scorer plans from weights alone "
            "(a 'rules' policy needs the whole pickled SB3 model)",
        )
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 4096:
        raise _refuse(
            p,
            f"its sidecar {p.with_suffix('.json').name} is missing or has no config.max_candidates "
            "(a whole number 1..4096)",
        )
    layers, attn_sd = _load_scorer_parts(p)
    arch = cfg.get("arch", "mlp") if isinstance(cfg, dict) else "mlp"
    attention = None
    if arch == "attention":
        heads = cfg.get("attn_heads")
        if attn_sd is None:
            raise _refuse(p, "its sidecar says arch 'attention' but policy.pth has no attention")
        if isinstance(heads, bool) or not isinstance(heads, int) or not 1 <= heads <= 64:
            raise _refuse(p, "its sidecar has no config.attn_heads (a whole number 1..64)")
        try:
            attention = _attention_arrays(attn_sd, heads)
        except ValueError as e:
            raise _refuse(p, str(e)) from None
        if attention["w_in"].shape[0] != layers[1][0].shape[1]:
            raise _refuse(p, "the self-attention width differs from the scorer's")
    elif arch != "mlp":
        raise _refuse(p, f"unknown scorer arch {arch!r} (this furnsim knows mlp, attention)")
    elif attn_sd is not None:
        raise _refuse(p, "policy.pth has a self-attention layer but its sidecar says arch 'mlp'")
    from furnsim.env.observations import (
        CANDIDATE_FEATURES,
        CONTEXT_FEATURES,
        KIT_FEATURES,
        TEACHER_FEATURES,
    )
    from furnsim.env.working_time import WORKING_TIME_CANDIDATE_FEATURES as WT
    from furnsim.rules import rule_names

    kit = isinstance(cfg, dict) and cfg.get("kit_features") is True
    wt = isinstance(cfg, dict) and cfg.get("working_time_features") is True
    tf = cfg.get("teacher_features") if isinstance(cfg, dict) else None
    if tf is not None and (
        not isinstance(tf, str) or tf.upper() not in rule_names(deterministic_only=True)
    ):
        raise _refuse(p, f"its sidecar's config.teacher_features {tf!r} is not a rule name")
    want = len(CANDIDATE_FEATURES) + len(CONTEXT_FEATURES) + (len(KIT_FEATURES) if kit else 0)
    want += len(WT) if wt else 0
    want += len(TEACHER_FEATURES) if tf is not None else 0
    if len(layers) != 3 or layers[0][0].shape[0] != want:
        raise _refuse(
            p,
            f"the policy reads {layers[0][0].shape[0]} features per candidate, this furnsim "
            f"builds {want} (retrain it: furnsim train --config ...)",
        )
    return PolicyPlanner(None, meta, layers=layers, max_candidates=int(k), attention=attention)


def load_planner(
    goal: str | None = None,
    *,
    path: str | Path | None = None,
    models_dir: str | Path | None = None,
    trusted: bool = False,
) -> PolicyPlanner:
    """The shipped policy of ``goal`` (or the model at ``path``).

    FileNotFoundError if there is none; :class:`ModelRefused` if the file cannot be planned
    with from its weights alone. ``trusted=True`` (only for models you made yourself) also
    loads policies that need the whole pickled SB3 model (a ``rules`` view).
    """
    if path is None:
        if goal is None:
            raise ValueError("give a goal or a model path")
        path = model_path(goal, models_dir)
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(
            f"no trained policy at {p} (train one: furnsim train --config configs/train/<goal>.yaml)"
        )
    import torch

    torch.set_num_threads(1)
    side = p.with_suffix(".json")
    side_mtime = side.stat().st_mtime if side.is_file() else -1.0
    return _cached(str(p.resolve()), p.stat().st_mtime, side_mtime, bool(trusted))


def plan_with_policy(
    instance: Instance,
    goal: str,
    *,
    buffers: str = "hard",
    model: str | Path | None = None,
    models_dir: str | Path | None = None,
    samples: int | None = None,
    temperature: float | None = None,
    time_budget_s: float | None = 1.5,
    sample_seed: int = 0,
    **_: Any,
) -> tuple[Schedule, dict[str, Any]]:
    """Plan ``instance`` for ``goal`` with the shipped (or given) policy.

    One greedy pass plus ``samples - 1`` passes sampled from the policy (default: the
    model's ``plan_samples``, 1 = greedy only), the cheapest by the goal's cost kept; no new
    pass starts past ``time_budget_s`` (None = no limit). Returns ``(schedule, details)``;
    details name the model, its training steps and commit, the passes and the planning time.
    A deadlocked result returns the incomplete schedule (the planner then falls back to the
    best rule and says so).
    """
    t0 = time.perf_counter()
    planner = load_planner(goal, path=model, models_dir=models_dir)
    t1 = time.perf_counter()
    meta = planner.meta
    k = int(samples if samples is not None else meta.get("plan_samples", 1))
    tau = float(temperature if temperature is not None else meta.get("plan_temperature", 1.0))
    schedule, sim, info = planner.plan_best(
        instance,
        goal,
        samples=k,
        temperature=tau,
        seed=sample_seed,
        time_budget_s=time_budget_s,
        buffers=buffers,
    )
    t2 = time.perf_counter()
    details: dict[str, Any] = {
        "model": str(model or model_path(goal, models_dir)),
        "view": planner.view,
        "trained_goal": meta.get("trained_goal", meta.get("goal")),
        "timesteps": meta.get("timesteps"),
        "commit": meta.get("commit"),
        "load_s": round(t1 - t0, 4),
        "plan_s": round(t2 - t1, 4),
        "decisions": int(sim.steps),
        "passes": info["samples"],
        "time_budget_s": time_budget_s,
        "greedy_cost": info["greedy_cost"],
        "temperature": tau,
    }
    if sim.deadlock is not None:
        details["deadlock"] = sim.deadlock.message
    return schedule, details
