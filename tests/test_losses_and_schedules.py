"""Loss functions against values computed by hand, and the mask-rate schedules (Eq. 3)."""

from __future__ import annotations

import math

import pytest
import torch

from recommender.errors import ModelConfigError
from recommender.losses import bpr_loss, info_nce, l2_regularizer, scaled_cosine_error, transe_loss
from recommender.schedules import MaskSchedule


def test_bpr_loss_by_hand() -> None:
    user = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    pos = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    neg = torch.tensor([[0.0, 1.0], [0.0, 2.0]])
    # margins: (2 - 0) = 2 and (2 - 4) = -2 ; -ln sigmoid(x) = ln(1 + e^-x)
    expected = (math.log(1 + math.exp(-2)) + math.log(1 + math.exp(2))) / 2
    assert bpr_loss(user, pos, neg).item() == pytest.approx(expected, rel=1e-6)


def test_info_nce_by_hand() -> None:
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    b = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    tau = 0.5
    # cosines of a's rows with b's rows: row 0 -> [1, c], row 1 -> [0, c]; positives on the diagonal
    c = 1 / math.sqrt(2)
    row0 = -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + math.exp(c / tau)))
    row1 = -math.log(math.exp(c / tau) / (math.exp(0 / tau) + math.exp(c / tau)))
    assert info_nce(a, b, tau).item() == pytest.approx((row0 + row1) / 2, rel=1e-6)


def test_scaled_cosine_error_by_hand() -> None:
    target = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    recon = torch.tensor([[0.0, 3.0], [1.0, 1.0]])
    eta = 2.0
    expected = ((1 - 0.0) ** eta + (1 - 1 / math.sqrt(2)) ** eta) / 2
    assert scaled_cosine_error(target, recon, eta).item() == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ModelConfigError):
        scaled_cosine_error(target, recon, 0.5)


def test_transe_loss_by_hand() -> None:
    h, r = torch.tensor([[0.0, 0.0]]), torch.tensor([[1.0, 0.0]])
    t, wrong = torch.tensor([[1.0, 1.0]]), torch.tensor([[4.0, 4.0]])
    positive, negative = 1.0, 5.0  # ||h + r - t||, ||h + r - t'||
    expected = math.log(1 + math.exp(positive - negative))
    assert transe_loss(h, r, t, wrong).item() == pytest.approx(expected, rel=1e-6)


def test_l2_regularizer_by_hand() -> None:
    a = torch.tensor([[1.0, 2.0], [0.0, 1.0]])
    assert l2_regularizer(a, a).item() == pytest.approx(2 * 6 / (2 * 2))


def test_linear_schedule() -> None:
    schedule = MaskSchedule("linear", alpha=0.1, omega=0.5, horizon=100)
    assert schedule.rate(0) == pytest.approx(0.1)
    assert schedule.rate(50) == pytest.approx(0.3)
    assert schedule.rate(100) == pytest.approx(0.5)
    assert schedule.rate(500) == pytest.approx(0.5)  # psi: capped at omega


def test_exponential_schedule_is_below_linear_before_horizon() -> None:
    exp = MaskSchedule("exponential", alpha=0.1, omega=0.8, horizon=80)
    lin = MaskSchedule("linear", alpha=0.1, omega=0.8, horizon=80)
    assert exp.rate(0) == pytest.approx(0.1)
    assert exp.rate(40) == pytest.approx(0.1 * 8 ** 0.5)
    assert exp.rate(80) == pytest.approx(0.8)
    assert all(exp.rate(q) < lin.rate(q) for q in range(1, 80))  # Eq. 4
    assert exp.rate(200) == pytest.approx(0.8)


def test_fixed_schedule_and_validation() -> None:
    assert MaskSchedule("fixed", alpha=0.1, omega=0.4).rate(7) == 0.4
    with pytest.raises(ModelConfigError):
        MaskSchedule("cosine")
    with pytest.raises(ModelConfigError):
        MaskSchedule(alpha=0.6, omega=0.5)
