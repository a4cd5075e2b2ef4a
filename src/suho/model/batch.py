"""Padding, in one place: token sequences of different lengths become right-padded tensors, batched by length.

Rows are right-padded (the padding after the tokens): attention is causal, so a real token never sees a pad, and a
row's last real token sits at `length - 1`. Every forward pass over several sequences (detection, the LM baselines,
training batches) builds its inputs here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch


def pad(rows: Sequence[Sequence[int]], value: int) -> torch.Tensor:
    """(len(rows), longest row) long tensor: each row's ids, then `value`."""
    out = torch.full((len(rows), max(len(r) for r in rows)), value, dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.tensor(r)
    return out


def by_length(lengths: Sequence[int], size: int) -> list[list[int]]:
    """Indices ordered by length and cut into groups of at most `size`: batches that need little padding."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[b : b + size] for b in range(0, len(order), size)]


@dataclass(frozen=True)
class PaddedBatch:
    input_ids: torch.Tensor  # (B, T), `pad_id` after each sequence
    attention_mask: torch.Tensor  # (B, T), 1 on real tokens
    lengths: torch.Tensor  # (B,)

    @classmethod
    def of(cls, seqs: Sequence[Sequence[int]], pad_id: int, device: torch.device | str = "cpu") -> PaddedBatch:
        return cls(
            pad(seqs, pad_id).to(device),
            pad([[1] * len(s) for s in seqs], 0).to(device),
            torch.tensor([len(s) for s in seqs], device=device),
        )

    def at(self, hidden: torch.Tensor, from_end: int = 1) -> torch.Tensor:
        """hidden (B, T, H) at each row's position `length - from_end` (1: its last real token) -> (B, H)."""
        rows = torch.arange(len(self.lengths), device=hidden.device)
        return hidden[rows, self.lengths - from_end]
