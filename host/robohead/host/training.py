"""The seeded, deterministic training loop (no ZenML or MLflow here: callers log epochs).

Loss = MSE on the three motor targets + ``expression_weight`` x cross-entropy on the expression
class. Early stopping on the validation loss keeps the best epoch's weights. Determinism on CPU:
one generator seeds the weights and the batch order, ``torch.use_deterministic_algorithms`` and a
fixed thread count make the float sums repeatable.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from robohead.host.windows import WindowSet


@dataclass(frozen=True)
class Epoch:
    epoch: int
    train_loss: float
    val_loss: float
    best: bool


@dataclass(frozen=True)
class TrainResult:
    model: nn.Module  # in eval mode, with the best epoch's weights
    history: list[Epoch] = field(default_factory=list)
    best_epoch: int = 0


def make_deterministic(seed: int, threads: int) -> None:
    """Seed torch and fix its CPU threads so two runs give bit-identical weights."""
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)


def _loss(
    model: nn.Module,
    ws: WindowSet,
    which: np.ndarray,
    expression_weight: float,
) -> torch.Tensor:
    x = torch.from_numpy(ws.inputs(which))
    y = torch.from_numpy(ws.motor_targets(which))
    motors, logits = model(x)
    loss = nn.functional.mse_loss(motors, y)
    if logits.shape[1] > 0 and expression_weight > 0:
        c = torch.from_numpy(ws.expression_targets(which))
        loss = loss + expression_weight * nn.functional.cross_entropy(logits, c)
    return loss


def evaluate_loss(
    model: nn.Module, ws: WindowSet, expression_weight: float, batch_size: int
) -> float:
    """Mean loss over every window (batched, no grad)."""
    model.eval()
    total, n = 0.0, 0
    with torch.no_grad():
        for start in range(0, ws.size, batch_size):
            which = np.arange(start, min(start + batch_size, ws.size))
            total += float(_loss(model, ws, which, expression_weight)) * len(which)
            n += len(which)
    return total / max(n, 1)


def predict(
    model: nn.Module, inputs: np.ndarray, batch_size: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Motors (N, 3) and expression logits (N, C) for windows (N, K, F)."""
    model.eval()
    motors, logits = [], []
    with torch.no_grad():
        for start in range(0, inputs.shape[0], batch_size):
            m, lg = model(torch.from_numpy(inputs[start : start + batch_size]))
            motors.append(m.numpy())
            logits.append(lg.numpy())
    return np.concatenate(motors), np.concatenate(logits)


def train(
    model: nn.Module,
    train_set: WindowSet,
    val_set: WindowSet,
    *,
    seed: int,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    weight_decay: float,
    expression_weight: float,
    patience: int,
    on_epoch: Callable[[Epoch], None] | None = None,
) -> TrainResult:
    """AdamW over shuffled windows; stop after ``patience`` epochs without a better val loss."""
    rng = np.random.default_rng(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=weight_decay)
    best_val, best_state, best_epoch, since = float("inf"), None, 0, 0
    history: list[Epoch] = []
    for epoch in range(1, epochs + 1):
        model.train()
        order = rng.permutation(train_set.size)
        total = 0.0
        for start in range(0, train_set.size, batch_size):
            which = order[start : start + batch_size]
            opt.zero_grad(set_to_none=True)
            loss = _loss(model, train_set, which, expression_weight)
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
            total += float(loss.detach()) * len(which)
        train_loss = total / train_set.size
        val_loss = evaluate_loss(model, val_set, expression_weight, batch_size * 4)
        improved = val_loss < best_val
        if improved:
            best_val, best_epoch, since = val_loss, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            since += 1
        record = Epoch(epoch, train_loss, val_loss, improved)
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)
        if since >= patience:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return TrainResult(model=model, history=history, best_epoch=best_epoch)
