"""Three small architectures over a window of feature frames, sharing one output contract.

Input: ``(batch, K, F)`` normalised feature frames, oldest first. Outputs: ``motors``
``(batch, 3)`` in [0, 1] (sigmoid) and ``expression`` ``(batch, C)`` logits (C = 0 when the
expression head is off, which keeps the ONNX signature the same). The body is pluggable so the
measured comparison (``robohead.host.compare``) trains all three with the same loop.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

Architecture = Literal["tcn", "gru", "mlp"]
ARCHITECTURES: tuple[Architecture, ...] = ("tcn", "gru", "mlp")


class _MlpBody(nn.Module):
    """Flattens the window: cheapest, but its weights grow with K and it has no time prior."""

    def __init__(self, frames: int, features: int, hidden: int, layers: int, dropout: float):
        super().__init__()
        blocks: list[nn.Module] = [nn.Flatten()]
        width = frames * features
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden
        self.net = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # type: ignore[no-any-return]


class _CausalConv(nn.Module):
    """Conv1d padded on the left only, so frame t never sees frames after t."""

    def __init__(self, cin: int, cout: int, kernel: int, dilation: int, dropout: float):
        super().__init__()
        self.pad = (kernel - 1) * dilation
        self.conv = nn.Conv1d(cin, cout, kernel, dilation=dilation)
        self.act = nn.ReLU()
        self.drop = nn.Dropout(dropout)
        self.skip = nn.Conv1d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(nn.functional.pad(x, (self.pad, 0)))
        return self.drop(self.act(y)) + self.skip(x)  # type: ignore[no-any-return]


class _TcnBody(nn.Module):
    """Dilated causal convolutions (dilation 1, 2, 4, ...) with residual connections."""

    def __init__(self, features: int, hidden: int, layers: int, kernel: int, dropout: float):
        super().__init__()
        blocks = [
            _CausalConv(features if i == 0 else hidden, hidden, kernel, 2**i, dropout)
            for i in range(layers)
        ]
        self.net = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.net(x.transpose(1, 2))  # (batch, hidden, K)
        return y[:, :, -1]  # type: ignore[no-any-return]


class _GruBody(nn.Module):
    """A GRU over the window; its last hidden state summarises it."""

    def __init__(self, features: int, hidden: int, layers: int, dropout: float):
        super().__init__()
        self.gru = nn.GRU(
            features,
            hidden,
            num_layers=layers,
            batch_first=True,
            dropout=dropout if layers > 1 else 0.0,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.gru(x)
        return out[:, -1]  # type: ignore[no-any-return]


class ExpressionNet(nn.Module):
    """A body followed by a sigmoid motor head and an (optional) expression-logit head."""

    def __init__(self, body: nn.Module, hidden: int, motors: int, classes: int):
        super().__init__()
        self.body = body
        self.motor_head = nn.Linear(hidden, motors)
        self.expression_head = nn.Linear(hidden, classes) if classes > 0 else None
        self.classes = classes

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.body(x)
        motors = torch.sigmoid(self.motor_head(z))
        if self.expression_head is None:
            logits = z.new_zeros((z.shape[0], 0))
        else:
            logits = self.expression_head(z)
        return motors, logits


class Deployed(nn.Module):
    """What ships: motors and expression *probabilities* (softmax of the logits).

    Probabilities are what the edge uses, and being bounded they make the ONNX parity check
    meaningful at an absolute 1e-5 (logits of a confident model reach tens, where float32
    rounding alone differs by more than that between two runtimes)."""

    def __init__(self, net: ExpressionNet):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        motors, logits = self.net(x)
        return motors, torch.softmax(logits, dim=1)


def build_model(
    arch: Architecture,
    *,
    frames: int,
    features: int,
    motors: int,
    classes: int,
    hidden: int,
    layers: int,
    kernel_size: int,
    dropout: float,
) -> ExpressionNet:
    """Build one of ``ARCHITECTURES``; weights come from the caller's seeded generator."""
    body: nn.Module
    if arch == "tcn":
        body = _TcnBody(features, hidden, layers, kernel_size, dropout)
    elif arch == "gru":
        body = _GruBody(features, hidden, layers, dropout)
    elif arch == "mlp":
        body = _MlpBody(frames, features, hidden, layers, dropout)
    else:
        raise ValueError(f"model.arch: expected one of {ARCHITECTURES}, got {arch!r}")
    return ExpressionNet(body, hidden, motors, classes)
