"""Where suho keeps things on disk: one place, so every module agrees."""

from __future__ import annotations

import os
from pathlib import Path

# The source checkout this module sits in (src/suho/paths.py -> the repository root). Meaningful only when suho runs
# from a checkout: data building, tests and benchmarks read data/ and models/ there; an installed package does not.
REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPPED_MODEL = "suho-ko-270m"  # the trained guard the repository ships in models/
MODEL_FILE = "suho_model.json"  # every suho model directory has one


def suho_home() -> Path:
    """Cache root (`SUHO_HOME`, default `~/.cache/suho`)."""
    return Path(os.environ.get("SUHO_HOME") or Path.home() / ".cache" / "suho")


def shared_data_dir() -> Path:
    """Public datasets (`SUHO_SHARED_DATA`, default `../shared/data` beside the checkout)."""
    env = os.environ.get("SUHO_SHARED_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def shipped_model_dirs() -> list[Path]:
    """Where the shipped model is looked for, in order: the source checkout's models/ (when suho runs from one),
    then `$SUHO_HOME/models/`."""
    checkout = [REPO_ROOT / "models" / SHIPPED_MODEL] if (REPO_ROOT / "pyproject.toml").is_file() else []
    return [*checkout, suho_home() / "models" / SHIPPED_MODEL]


def find_model(model: str | Path | None = None) -> Path:
    """The suho model directory to load: `model` when given, else `$SUHO_MODEL`, else the shipped model where
    `shipped_model_dirs` finds it. When none is there, the error says how to get it."""
    if model or os.environ.get("SUHO_MODEL"):
        return Path(model or os.environ["SUHO_MODEL"]).expanduser()
    places = shipped_model_dirs()
    for path in places:
        if (path / MODEL_FILE).is_file():
            return path
    home = places[-1]
    raise FileNotFoundError(
        f"no suho model found: no model was passed, SUHO_MODEL is not set, and the shipped model is not in "
        f"{' or '.join(map(str, places))}.\n"
        f"The model ships in the suho source repository as the folder models/{SHIPPED_MODEL} (about 20 MB). Either\n"
        f"  - copy that folder to {home} (where an installed suho looks; SUHO_HOME moves it), or\n"
        f"  - set SUHO_MODEL=/path/to/{SHIPPED_MODEL}, or\n"
        f"  - pass the path: load_guard('/path/to/{SHIPPED_MODEL}') in Python, --model PATH on the command line."
    )
