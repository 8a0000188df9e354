"""A small MNIST classifier: the judge of generated digits and the feature space for the Frechet
distance (as Inception is for FID, Heusel et al. 2017, but trained here on MNIST).

Input: (N, 1, 28, 28) in [-1, 1]. `features(x)` gives the (N, feature_dim) penultimate activations.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn


@dataclass(frozen=True)
class ClassifierConfig:
    width: int = 32
    feature_dim: int = 128
    num_classes: int = 10
    dropout: float = 0.3

    def to_dict(self) -> dict:
        return asdict(self)


class Classifier(nn.Module):
    def __init__(self, config: ClassifierConfig = ClassifierConfig()):
        super().__init__()
        self.config = config
        w = config.width

        def block(cin, cout):
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            )

        self.body = nn.Sequential(block(1, w), block(w, 2 * w), block(2 * w, 4 * w))  # (N, 4w, 3, 3)
        self.neck = nn.Sequential(nn.Flatten(), nn.Linear(4 * w * 9, config.feature_dim), nn.ReLU(inplace=True))
        self.head = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(config.feature_dim, config.num_classes))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.neck(self.body(x))  # (N, feature_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))  # (N, num_classes) logits
