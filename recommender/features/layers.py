"""Layers the CTR backbones and the rerankers share: the DNN, masked pooling, a padding-aware GRU.

Every sequence tensor follows the batch contract of ``recommender.features.batch``: padded with 0,
with a boolean mask that says which positions are real, so each helper takes the mask and never
lets a padded position reach an output.
"""

from __future__ import annotations

import torch
from torch import nn


def mlp(in_dim: int, hidden: tuple[int, ...], out_dim: int, dropout: float) -> nn.Sequential:
    """Linear -> ReLU -> Dropout per hidden layer, then a plain Linear to ``out_dim``."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(in_dim, width), nn.ReLU(), nn.Dropout(dropout)]
        in_dim = width
    return nn.Sequential(*layers, nn.Linear(in_dim, out_dim))


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over dim 1 of the real positions; zero where none. (B, L, ...), (B, L) -> (B, ...)."""
    weights = mask.to(values.dtype).reshape(*mask.shape, *([1] * (values.dim() - 2)))
    return (values * weights).sum(1) / weights.sum(1).clamp(min=1)


def run_masked_gru(cell: nn.GRUCell, inputs: torch.Tensor, mask: torch.Tensor,
                   reverse: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """A GRU that skips padded steps: the state carries over them unchanged, their outputs are 0.

    Exact for any mask (not only padding at the end), so padded inputs can never leak in.
    Shapes: (B, L, E), (B, L) -> outputs (B, L, H), final state (B, H) (zero with no real step).
    """
    state = inputs.new_zeros(len(inputs), cell.hidden_size)
    outputs = [state] * inputs.shape[1]
    if not outputs:
        return inputs.new_zeros(len(inputs), 0, cell.hidden_size), state
    steps = range(inputs.shape[1] - 1, -1, -1) if reverse else range(inputs.shape[1])
    for t in steps:
        real = mask[:, t, None]
        state = torch.where(real, cell(inputs[:, t], state), state)
        outputs[t] = state * real
    return torch.stack(outputs, dim=1), state
