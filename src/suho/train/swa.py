"""Weight averaging over the end of a run (stochastic weight averaging, Izmailov et al. 2018).

The mean of the weights a run passes through after each of its last steps often generalises better than the last
step's weights alone, at no cost in training time. Only the trained weights are averaged (LoRA A and B, the label
rows); the frozen base is the same at every step. A and B are averaged separately, as SWA does for any layer: late in
a run consecutive weights are close, so the mean of the products is near the product of the means.

It is off by default: on the shipped recipe it did not beat the run's own last step (Korean dev AP and XSTest fell;
the model card has the figures).
"""

from __future__ import annotations

import torch


class RunningMean:
    """The running mean of named tensors over the steps `first_step`, `first_step + 1`, ... (1-based step numbers)."""

    def __init__(self, first_step: int):
        if first_step < 1:
            raise ValueError(f"first_step {first_step}: steps are numbered from 1")
        self.first_step = first_step
        self.count = 0
        self.mean: dict[str, torch.Tensor] = {}

    def update(self, step: int, weights: dict[str, torch.Tensor]) -> None:
        """Add the weights after `step`; steps before `first_step` are not part of the mean."""
        if step < self.first_step:
            return
        if not self.mean:
            self.mean = {name: torch.zeros_like(w, dtype=torch.float32) for name, w in weights.items()}
        if weights.keys() != self.mean.keys():
            raise ValueError("RunningMean.update: the weights' names changed during the run")
        self.count += 1
        with torch.no_grad():
            for name, w in weights.items():  # mean += (w - mean) / count, in place (the first step: mean = w)
                self.mean[name].lerp_(w.float(), 1.0 / self.count)

    def copy_into(self, weights: dict[str, torch.Tensor]) -> None:
        """Overwrite the given tensors with the mean (in their own dtype)."""
        if not self.count:
            raise RuntimeError("RunningMean.copy_into: no step was averaged")
        if weights.keys() != self.mean.keys():
            raise ValueError("RunningMean.copy_into: the weights' names differ from the averaged ones")
        with torch.no_grad():
            for name, w in weights.items():
                w.copy_(self.mean[name].to(w.dtype))

    def state_dict(self) -> dict:
        return {
            "first_step": self.first_step,
            "count": self.count,
            "mean": self.mean,  # torch.save writes it at once; load_state_dict copies
        }

    def load_state_dict(self, state: dict) -> None:
        if state["first_step"] != self.first_step:
            raise ValueError(f"RunningMean: the state averages from step {state['first_step']}, not {self.first_step}")
        self.count = state["count"]
        self.mean = {k: v.clone().float() for k, v in state["mean"].items()}
