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

import torch
from gymnasium import spaces
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

__all__ = ["ARCHS", "CandidateExtractor", "CandidatePolicy"]

#: scorer architectures: ``mlp`` (independent rows, the shipped models) | ``attention``
ARCHS = ("mlp", "attention")


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
            nn.Linear(f + c, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh()
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
        else:
            h, s = self._used_slots(x, c, m)  # (B, K, H), (B, K)
        pooled = (h * m.unsqueeze(-1)).sum(1) / m.sum(1, keepdim=True).clamp(min=1.0)  # (B, H)
        return torch.cat([s, pooled, c], dim=-1)

    def _used_slots(
        self, x: torch.Tensor, c: torch.Tensor, m: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Embeddings and logits of the used slots only (mask > 0; the others: 0). The same
        network per row: padding rows are masked from the logits (MaskablePPO) and from the
        pooling, so only the work changes (a decision uses a few of the K slots)."""
        b, k, _ = x.shape
        idx = torch.nonzero(m.reshape(-1) > 0, as_tuple=True)[0] if b >= 8 else None
        if idx is None or idx.numel() == b * k:  # few observations (rollouts): the plain pass
            h = self.enc(torch.cat([x, c.unsqueeze(1).expand(-1, k, -1)], dim=-1))
            return h, self.score(h).squeeze(-1)
        rows = torch.cat([x.reshape(b * k, -1)[idx], c[idx // k]], dim=-1)  # (n, F + C)
        hv = self.enc(rows)  # (n, H)
        h = hv.new_zeros(b * k, hv.shape[-1]).index_copy(0, idx, hv).view(b, k, -1)
        s = hv.new_zeros(b * k).index_copy(0, idx, self.score(hv).squeeze(-1)).view(b, k)
        return h, s

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


class CandidatePolicy(MaskableActorCriticPolicy):
    """MaskableActorCriticPolicy whose logits come from the shared per-candidate scorer."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("features_extractor_class", CandidateExtractor)
        kwargs.setdefault("net_arch", {"pi": [], "vf": [64, 64]})
        kwargs.setdefault("share_features_extractor", True)
        kwargs.setdefault("ortho_init", False)
        super().__init__(*args, **kwargs)

    def _build(self, lr_schedule: Any) -> None:
        super()._build(lr_schedule)
        self.action_net = _Slots(self.features_extractor.K)  # type: ignore[arg-type]
        self.optimizer = self.optimizer_class(
            self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs
        )  # type: ignore[call-arg]
