"""DIEN (Zhou et al. 2019): interests extracted from the history by a GRU, then evolved toward the target.

Sequence vectors (item id embedding, plus adapted text when on) of width Hd:
1. Interest extractor: a GRU over the real history steps -> states h_t (B, L, Hd).
2. Auxiliary loss: h_t must tell the next clicked item e_{t+1} from a sampled one e'_{t+1}:
   aux = mean over real (t, t+1) of -log s(g[h_t, e_{t+1}]) - log(1 - s(g[h_t, e'_{t+1}])), g an MLP.
   Negatives are history steps drawn at random (seeded, ``config.seed``) from the batch's real
   steps, so they carry text like the positives do.
3. Interest evolution: a_t = softmax over real t of h_t . W t_target; AUGRU (update gate scaled by a_t)
   over the real steps; its final state is the evolved interest.
DNN input: user fields, item fields, evolved interest. task = BCE + aux_weight * aux.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from recommender.ctr.models.base import CTRConfig, CTRModel
from recommender.features.batch import CTRBatch, FeatureSpec
from recommender.features.layers import mlp, run_masked_gru


@dataclass(frozen=True)
class DIENConfig(CTRConfig):
    aux_weight: float = 1.0                   # alpha: weight of the auxiliary loss (1 in the paper)
    aux_dims: tuple[int, ...] = (100, 50)     # hidden layers of the auxiliary network g
    seed: int = 0                             # seeds the auxiliary negatives


def auxiliary_loss(states: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor, valid: torch.Tensor,
                   scorer: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """Mean over valid steps of softplus(-g(h, e+)) + softplus(g(h, e-)), i.e. the two BCE terms.

    Shapes: states (B, S, H), positives and negatives (B, S, E), valid (B, S) bool -> scalar (0 if none).
    """
    per_step = F.softplus(-scorer(states, positives)) + F.softplus(scorer(states, negatives))
    weights = valid.to(per_step.dtype)
    return (per_step * weights).sum() / weights.sum().clamp(min=1)


class AUGRUCell(nn.Module):
    """GRU cell whose update gate is scaled by an attention score. (B, E), (B, H), (B,) -> (B, H)."""

    def __init__(self, in_dim: int, hidden: int):
        super().__init__()
        self.from_input, self.from_state = nn.Linear(in_dim, 3 * hidden), nn.Linear(hidden, 3 * hidden)

    def forward(self, x: torch.Tensor, state: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
        xr, xu, xn = self.from_input(x).chunk(3, -1)
        hr, hu, hn = self.from_state(state).chunk(3, -1)
        reset = torch.sigmoid(xr + hr)
        update = attention[:, None] * torch.sigmoid(xu + hu)
        candidate = torch.tanh(xn + reset * hn)
        return (1 - update) * state + update * candidate


class DIEN(CTRModel):
    name = "dien"
    config_class = DIENConfig

    def __init__(self, spec: FeatureSpec, config: DIENConfig | None = None):
        super().__init__(spec, config)
        f, d, c = self.features, self.config.embedding_dim, self.config
        width = f.n_sequence_fields * d
        self.extractor = nn.GRUCell(width, width)
        self.attention = nn.Linear(width, width, bias=False)
        self.evolution = AUGRUCell(width, width)
        self.aux_net = mlp(2 * width, c.aux_dims, 1, dropout=0.0)
        self.dnn = mlp((f.n_user_fields + f.n_item_fields + f.n_sequence_fields) * d, c.mlp_dims, 1, c.dropout)
        self.generator = torch.Generator().manual_seed(c.seed)

    def forward(self, batch: CTRBatch) -> torch.Tensor:
        return self._run(batch)[0]

    def task_loss(self, batch: CTRBatch) -> dict[str, torch.Tensor]:
        logits, history, states = self._run(batch)
        bce = F.binary_cross_entropy_with_logits(logits, batch.labels.float())
        aux = self.aux_loss(history, states, batch.history_mask)
        return {"bce": bce, "aux": aux, "task": bce + self.config.aux_weight * aux}

    def aux_loss(self, history: torch.Tensor, states: torch.Tensor, mask: torch.Tensor,
                 negatives: torch.Tensor | None = None) -> torch.Tensor:
        """Step 2 on (B, L, Hd) history and states; ``negatives`` (B, L-1, Hd) default to sampled steps."""
        negatives = self.sample_negatives(history, mask) if negatives is None else negatives
        return auxiliary_loss(states[:, :-1], history[:, 1:], negatives, mask[:, :-1] & mask[:, 1:], self._aux_score)

    def sample_negatives(self, history: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, L-1, Hd) vectors of real history steps drawn uniformly from the batch."""
        real = mask.flatten().nonzero().squeeze(1)
        b, steps = history.shape[0], max(history.shape[1] - 1, 0)
        if len(real) == 0:
            return history.new_zeros(b, steps, history.shape[-1])
        pick = torch.randint(len(real), (b, steps), generator=self.generator).to(real.device)
        return history.flatten(0, 1)[real[pick]]

    def _aux_score(self, states: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return self.aux_net(torch.cat([states, items], dim=-1)).squeeze(-1)

    def _run(self, batch: CTRBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Logits (B,), history vectors (B, L, Hd) and extractor states (B, L, Hd)."""
        mask = batch.history_mask
        history = self.features.sequence(batch.history_items, batch.history_text).flatten(2)
        target = self.features.sequence(batch.items, batch.item_text, "item_text").flatten(1)
        states, _ = run_masked_gru(self.extractor, history, mask)
        scores = (states * self.attention(target)[:, None]).sum(-1).masked_fill(~mask, -1e9)
        attention = scores.softmax(-1) * mask
        interest = self._evolve(states, attention, mask)
        user, item = self.field_vectors(batch)
        logits = self.dnn(torch.cat([user.flatten(1), item.flatten(1), interest], dim=1)).squeeze(-1)
        return logits, history, states

    def _evolve(self, states: torch.Tensor, attention: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """AUGRU over the real steps; final state (B, Hd), zero for an empty history."""
        state = states.new_zeros(states.shape[0], states.shape[-1])
        for t in range(states.shape[1]):
            state = torch.where(mask[:, t, None], self.evolution(states[:, t], state, attention[:, t]), state)
        return state
