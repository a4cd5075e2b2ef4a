"""The one helper every stage config (`TrainConfig`, `SynthConfig`, `ServeSettings`) uses for its fields."""

from __future__ import annotations

from dataclasses import field
from typing import Any


def option(default: Any, help_: str) -> Any:
    """A dataclass field with its help text, which `suho <command> --help` shows for the matching flag."""
    return field(default=default, metadata={"help": help_})
