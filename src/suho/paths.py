"""Where suho keeps things on disk: one place, so every module agrees."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def suho_home() -> Path:
    """Cache root (`SUHO_HOME`, default `~/.cache/suho`)."""
    return Path(os.environ.get("SUHO_HOME") or Path.home() / ".cache" / "suho")


def shared_data_dir() -> Path:
    """Public datasets (`SUHO_SHARED_DATA`, default `../shared/data` beside the checkout)."""
    env = os.environ.get("SUHO_SHARED_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"
