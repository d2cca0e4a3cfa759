"""Mask-rate schedules of the interest masked autoencoder (paper Eq. 3).

``p(q) = min(delta(q), omega)`` with ``delta_lin(q) = alpha + q (omega - alpha) / Lambda`` and
``delta_exp(q) = alpha (omega / alpha)^(q / Lambda)``; ``fixed`` keeps ``omega`` throughout (the
paper's "w/o DMR" ablation).
"""

from __future__ import annotations

from dataclasses import dataclass

from recommender.errors import ModelConfigError


@dataclass(frozen=True)
class MaskSchedule:
    kind: str = "exponential"   # exponential | linear | fixed
    alpha: float = 0.1          # initial mask rate
    omega: float = 0.5          # maximum mask rate
    horizon: int = 160          # Lambda: epochs to reach omega

    def __post_init__(self) -> None:
        if self.kind not in ("exponential", "linear", "fixed"):
            raise ModelConfigError(f"unknown mask schedule {self.kind!r}")
        if not 0 < self.alpha <= self.omega < 1:
            raise ModelConfigError(
                f"mask rates need 0 < alpha <= omega < 1, got alpha {self.alpha}, omega {self.omega}")
        if self.horizon <= 0:
            raise ModelConfigError(f"mask horizon (Lambda) must be positive, got {self.horizon}")

    def rate(self, epoch: int) -> float:
        if self.kind == "fixed":
            return self.omega
        if self.kind == "linear":
            delta = self.alpha + epoch * (self.omega - self.alpha) / self.horizon
        else:
            delta = self.alpha * (self.omega / self.alpha) ** (epoch / self.horizon)
        return min(delta, self.omega)
