"""ProtST-ESM1b classifier: ESM-1b backbone, masked mean pooling, a two-layer head."""

from __future__ import annotations

import torch
from torch import nn
from transformers import EsmConfig, EsmModel


class ProtSTClassifier(nn.Module):
    """``EsmModel`` (ESM-1b) + mean over real residues + Linear(d→d), ReLU, Linear(d→labels)."""

    def __init__(self, config: EsmConfig) -> None:
        super().__init__()
        self.config = config
        self.esm = EsmModel(config, add_pooling_layer=False)
        hidden = config.hidden_size
        self.head = nn.Sequential(
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, int(config.num_labels or 2))
        )

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.esm(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        logits: torch.Tensor = self.head(pooled)
        return logits
