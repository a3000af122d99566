"""Output heads on top of an encoder summary."""

from __future__ import annotations

from torch import Tensor, nn


class ClassificationHead(nn.Module):
    """``[B, D]`` → class logits ``[B, num_classes]``; an optional hidden layer."""

    def __init__(self, in_features: int, num_classes: int, hidden: int = 0,
                 dropout: float = 0.0) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Dropout(dropout)] if dropout > 0 else []
        if hidden > 0:
            layers += [nn.Linear(in_features, hidden), nn.GELU(), nn.Dropout(dropout)]
            in_features = hidden
        layers.append(nn.Linear(in_features, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)
