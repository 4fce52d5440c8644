"""A size-agnostic actor-critic for the ``candidates`` view, plugged into sb3-contrib.

Every candidate row (its own 23 features + the 9 shop-context features) goes through the
same small MLP; a linear head turns each embedding into a logit, so the policy is a learned
composite dispatching rule that works for any number of candidates, jobs and machines. The
critic reads the mask-weighted mean of the embeddings (plus the context). Padding slots are
masked by MaskablePPO (``action_masks``) and ignored by the pooling.

``arch="attention"`` adds one multi-head self-attention layer across the candidate rows
after the shared MLP (residual: ``h + out_proj(attention(h))``, padding slots masked as keys),
so every candidate's score can depend on the other candidates of the decision (a learned
rule sees only its own row). It is still size-agnostic: any number of rows, any mask.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

__all__ = ["ARCHS", "CandidateExtractor", "CandidatePolicy", "Tanh"]

#: scorer architectures: ``mlp`` (independent rows, the shipped models) | ``attention``
ARCHS = ("mlp", "attention")


class _TanhFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        y = torch.sigmoid(x * 2).mul_(2).sub_(1)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        (y,) = ctx.saved_tensors
        return torch.ops.aten.tanh_backward(grad, y)  # grad * (1 - y^2), as tanh's


class Tanh(nn.Module):
    """``tanh`` as ``2 * sigmoid(2x) - 1`` with tanh's backward: the same function (at most
    2e-7 apart in float32) at a third of ``torch.tanh``'s CPU time here (torch's vectorised
    tanh is ~7x slower than its sigmoid on this CPU; numpy's ``tanh``, which planning uses,
    is not affected). No parameters, so a network's ``state_dict`` keys are unchanged."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _TanhFn.apply(x)


class CandidateExtractor(BaseFeaturesExtractor):
    """obs -> [logit per slot (K), pooled embedding (hidden)]."""

    def __init__(
        self,
        observation_space: spaces.Dict,
        hidden: int = 64,
        arch: str = "mlp",
        heads: int = 4,
    ) -> None:
        cand = observation_space["candidates"]
        ctx = observation_space["context"]
        assert cand.shape is not None and ctx.shape is not None
        k, f = cand.shape
        c = ctx.shape[0]
        super().__init__(observation_space, features_dim=k + hidden + c)
        self.K = int(k)
        self.enc = nn.Sequential(
            nn.Linear(f + c, hidden), Tanh(), nn.Linear(hidden, hidden), Tanh()
        )
        if arch not in ARCHS:
            raise ValueError(f"arch must be one of {ARCHS}, not {arch!r}")
        self.arch = arch
        if arch == "attention":
            if hidden % heads:
                raise ValueError(f"hidden ({hidden}) must be a multiple of heads ({heads})")
            self.attn = nn.MultiheadAttention(hidden, heads, batch_first=True)
        self.score = nn.Linear(hidden, 1)

    def embed(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Per-row embeddings (B, K, H); K may differ from the observation space's."""
        x, c = obs["candidates"], obs["context"]
        h = self.enc(torch.cat([x, c.unsqueeze(1).expand(-1, x.shape[1], -1)], dim=-1))
        if self.arch == "attention":
            legal = obs["mask"] > 0  # (B, K)
            # a row without any legal slot (a terminal observation) attends to slot 0 only
            none = ~legal.any(1, keepdim=True)
            first = torch.zeros_like(legal)
            first[:, 0] = True
            pad = ~(legal | (none & first))
            a, _ = self.attn(h, h, h, key_padding_mask=pad, need_weights=False)
            h = h + a
        return h

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        x, c, m = obs["candidates"], obs["context"], obs["mask"]
        if self.arch == "attention":
            h = self.embed(obs)  # (B, K, H): every row attends to the legal ones
            s = self.score(h).squeeze(-1)  # (B, K)
            pooled = (h * m.unsqueeze(-1)).sum(1) / m.sum(1, keepdim=True).clamp(min=1.0)
        else:
            s, pooled = self._used_slots(x, c, m)  # (B, K), (B, H)
        return torch.cat([s, pooled, c], dim=-1)

    def _used_slots(
        self, x: torch.Tensor, c: torch.Tensor, m: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (B, K) and mask-weighted mean embedding (B, H) from the used slots only
        (mask > 0): the same network per row, run on the ~10 rows a decision uses instead of
        all K. Padding slots get logit 0 (MaskablePPO masks them; the critic reads the same 0
        in rollouts and updates), and no (B, K, H) tensor is built."""
        b, k, _ = x.shape
        mf = m.reshape(-1)  # (B*K,)
        idx = torch.nonzero(mf > 0, as_tuple=True)[0]  # (n,) used slots, row-major
        obs_of = torch.div(idx, k, rounding_mode="floor")  # (n,) observation of each row
        rows = torch.cat([x.reshape(b * k, -1).index_select(0, idx), c.index_select(0, obs_of)], -1)
        hv = self.enc(rows)  # (n, H)
        s = hv.new_zeros(b * k).index_copy(0, idx, self.score(hv).squeeze(-1)).view(b, k)
        total = hv.new_zeros(b, hv.shape[-1]).index_add(0, obs_of, hv * mf[idx].unsqueeze(-1))
        return s, total / m.sum(1, keepdim=True).clamp(min=1.0)

    def scores(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Logits (B, K) only — the fast path for planning and imitation."""
        return self.score(self.embed(obs)).squeeze(-1)


class _Slots(nn.Module):
    """The action head: the first K features are already the logits."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.k = k

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        return latent[..., : self.k]


#: the logit MaskableCategorical gives a masked action (sb3_contrib's HUGE_NEG)
_MASKED = -1e8


def _masked_log_probs(logits: torch.Tensor, masks: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Normalised log-probabilities (B, A) and the bool mask (or None) of the distribution
    ``MaskableCategorical`` builds (masked logits set to -1e8, then normalised), without a
    torch distribution and its argument validation. ``log_softmax`` instead of the
    distribution's ``x - logsumexp(x)``: the same values to float32 rounding, and ~10x
    cheaper on CPU here (torch's ``logsumexp`` is slow on the -1e8 entries)."""
    if masks is None:
        return torch.log_softmax(logits, -1), None
    mk = torch.as_tensor(masks, dtype=torch.bool, device=logits.device).reshape(logits.shape)
    return torch.log_softmax(torch.where(mk, logits, logits.new_tensor(_MASKED)), -1), mk


def _numpy_layers(seq: nn.Module) -> list[tuple[str, Any, Any]] | None:
    """A Sequential of Linear / Tanh / ReLU as numpy steps (weights are views of the torch
    parameters, so in-place optimizer updates show through); None for anything else."""
    out: list[tuple[str, Any, Any]] = []
    for mod in seq.children() if isinstance(seq, nn.Sequential) else [seq]:
        if isinstance(mod, nn.Linear):
            w = mod.weight.detach().numpy().T  # (in, out)
            b = None if mod.bias is None else mod.bias.detach().numpy()
            out.append(("linear", w, b))
        elif isinstance(mod, (nn.Tanh, Tanh)):
            out.append(("tanh", None, None))
        elif isinstance(mod, nn.ReLU):
            out.append(("relu", None, None))
        else:
            return None
    return out


def _run(layers: list[tuple[str, Any, Any]], x: np.ndarray) -> np.ndarray:
    for kind, w, b in layers:
        if kind == "linear":
            x = x @ w
            if b is not None:
                x += b
        elif kind == "tanh":
            x = np.tanh(x)
        else:
            x = np.maximum(x, 0)
    return x


class _NumpyRollout:
    """The rollout forward of a :class:`CandidatePolicy` with the ``mlp`` scorer in numpy
    (float32, used slots only): a rollout asks for 1–8 observations at a time, where torch's
    per-operation cost is most of the work. Same network, same masked categorical as the
    torch path (equal to float32 rounding, ``tests/test_train_speed.py``); the draw uses
    torch's generator (one ``torch.rand`` per call), so seeding stays torch's."""

    def __init__(self, policy: CandidatePolicy) -> None:
        ext = policy.features_extractor
        assert isinstance(ext, CandidateExtractor)
        self.K = ext.K
        enc = _numpy_layers(ext.enc)
        score = _numpy_layers(ext.score)
        pi = _numpy_layers(policy.mlp_extractor.policy_net)
        vf = _numpy_layers(policy.mlp_extractor.value_net)
        value = _numpy_layers(policy.value_net)
        ok = None not in (enc, score, pi, vf, value) and isinstance(policy.action_net, _Slots)
        self.ok = bool(ok and ext.arch == "mlp" and not pi)
        self.enc, self.score, self.vf, self.value = enc, score, vf, value

    def __call__(
        self, obs: dict[str, torch.Tensor], masks: Any, deterministic: bool
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        assert self.enc is not None and self.score is not None
        assert self.vf is not None and self.value is not None
        x = obs["candidates"].numpy()  # (B, K, F)
        c = obs["context"].numpy()  # (B, C)
        m = obs["mask"].numpy()  # (B, K)
        b, k, f = x.shape
        mf = m.reshape(-1)
        idx = np.flatnonzero(mf > 0)  # (n,) used slots, row-major
        ob = idx // k  # (n,) observation of each used slot
        rows = np.empty((idx.size, f + c.shape[1]), np.float32)
        rows[:, :f] = x.reshape(b * k, f)[idx]
        rows[:, f:] = c[ob]
        h = _run(self.enc, rows)  # (n, H)
        feat = np.zeros((b, k + h.shape[1] + c.shape[1]), np.float32)  # [logits | pooled | ctx]
        feat.reshape(-1)[(ob * feat.shape[1] + idx % k)] = _run(self.score, h)[:, 0]
        onehot = (ob[None, :] == np.arange(b)[:, None]).astype(np.float32) * mf[idx]  # (B, n)
        feat[:, k : k + h.shape[1]] = (onehot @ h) / np.maximum(m.sum(1, keepdims=True), 1.0)
        feat[:, k + h.shape[1] :] = c
        values = _run(self.value, _run(self.vf, feat))  # (B, 1)
        logits = feat[:, :k]
        if masks is not None:
            mk = np.asarray(masks, dtype=bool).reshape(logits.shape)
            logits = np.where(mk, logits, np.float32(_MASKED))
        z = logits - logits.max(1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(1, keepdims=True))  # (B, A) normalised
        p = np.exp(logp.astype(np.float64))
        if deterministic:
            a = p.argmax(1)
        else:  # inverse CDF: a zero-probability (masked) slot is never drawn
            cdf = np.cumsum(p, 1)
            top = cdf[:, -1]
            u = np.minimum(torch.rand(b, dtype=torch.float64).numpy() * top, np.nextafter(top, 0))
            a = (cdf <= u[:, None]).sum(1)  # the first slot whose cdf exceeds u
        lp = logp[np.arange(b), a]
        return torch.from_numpy(a), torch.from_numpy(values), torch.from_numpy(lp)


class CandidatePolicy(MaskableActorCriticPolicy):
    """MaskableActorCriticPolicy whose logits come from the shared per-candidate scorer.

    ``forward`` (rollouts) and ``evaluate_actions`` (updates) compute the same masked
    categorical as sb3-contrib's ``MaskableCategoricalDistribution`` — the same normalised
    log-probabilities, the same ``torch.multinomial`` draw from the same probabilities, the
    same masked entropy — in a few tensor operations instead of a validated
    ``torch.distributions.Categorical`` per call (``tests/test_train_speed.py`` checks both
    against the stock implementation).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("features_extractor_class", CandidateExtractor)
        kwargs.setdefault("net_arch", {"pi": [], "vf": [64, 64]})
        kwargs.setdefault("share_features_extractor", True)
        kwargs.setdefault("ortho_init", False)
        kwargs.setdefault("activation_fn", Tanh)  # the critic's MLP
        self._numpy: _NumpyRollout | None = None
        #: rollouts (``forward`` without gradients, on CPU) run the mlp scorer in numpy
        self.numpy_rollouts = True
        super().__init__(*args, **kwargs)

    def _build(self, lr_schedule: Any) -> None:
        super()._build(lr_schedule)
        self.action_net = _Slots(self.features_extractor.K)  # type: ignore[arg-type]
        self.optimizer = self.optimizer_class(
            self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs
        )  # type: ignore[call-arg]
        self._numpy = None

    def _apply(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        self._numpy = None  # .to() / .float() may replace the parameters: new views
        return super()._apply(fn, *args, **kwargs)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_numpy"] = None  # a copy holds its own parameters: its own views, made on use
        return state

    def _heads(self, obs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits (B, A), values (B, 1)) from one pass of the shared extractor."""
        if not self.share_features_extractor:
            raise NotImplementedError("CandidatePolicy shares its features extractor")
        features = self.extract_features(obs)
        assert isinstance(features, torch.Tensor)
        logits = self.action_net(self.mlp_extractor.forward_actor(features))
        return logits, self.value_net(self.mlp_extractor.forward_critic(features))

    def forward(
        self, obs: Any, deterministic: bool = False, action_masks: Any = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.numpy_rollouts and not torch.is_grad_enabled() and _on_cpu(obs):
            fast = self._numpy
            if fast is None:
                fast = self._numpy = _NumpyRollout(self)
            if fast.ok:
                return fast(obs, action_masks, deterministic)
        logits, values = self._heads(obs)
        logp, _ = _masked_log_probs(logits, action_masks)
        probs = torch.softmax(logp, -1)  # Categorical.probs of the normalised logits
        if deterministic:
            actions = probs.argmax(-1)
        else:
            actions = torch.multinomial(probs, 1, True).squeeze(-1)
        log_prob = logp.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
        return actions, values, log_prob

    def evaluate_actions(
        self, obs: Any, actions: torch.Tensor, action_masks: Any = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        logits, values = self._heads(obs)
        logp, mk = _masked_log_probs(logits, action_masks)
        log_prob = logp.gather(-1, actions.long().reshape(-1, 1)).squeeze(-1)
        probs = torch.softmax(logp, -1)
        if mk is None:  # Categorical.entropy
            p_log_p = logp.clamp(min=torch.finfo(logp.dtype).min) * probs
        else:  # MaskableCategorical.entropy: masked actions contribute nothing
            p_log_p = torch.where(mk, logp * probs, logp.new_tensor(0.0))
        return values, log_prob, -p_log_p.sum(-1)


def _on_cpu(obs: Any) -> bool:
    return isinstance(obs, dict) and all(
        isinstance(v, torch.Tensor) and v.device.type == "cpu" and v.dtype == torch.float32
        for v in obs.values()
    )
