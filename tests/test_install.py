"""suho as a user installs it: a wheel built from this checkout, installed (not editable) in a fresh virtualenv and
run from outside the checkout. Its dependencies come from the running environment through a .pth file, so nothing
is downloaded and the test takes seconds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from suho.paths import REPO_ROOT, SHIPPED_MODEL, suho_home


def _run(args: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=600, **kw)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The python of a fresh venv with this checkout's wheel installed."""
    tmp = tmp_path_factory.mktemp("install")
    build = tmp / "build"  # a copy, so the build writes nothing (build/, *.egg-info) into the checkout
    build.mkdir()
    shutil.copy(REPO_ROOT / "pyproject.toml", build)
    shutil.copy(REPO_ROOT / "README.md", build)
    shutil.copytree(REPO_ROOT / "src", build / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    pip = [sys.executable, "-m", "pip"]
    r = _run(
        [*pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(tmp / "dist"), str(build)]
    )
    assert r.returncode == 0, r.stderr
    (wheel,) = (tmp / "dist").glob("suho-*.whl")
    venv = tmp / "venv"
    assert _run([sys.executable, "-m", "venv", "--without-pip", str(venv)]).returncode == 0
    python = venv / "bin" / "python"
    site = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    # the running environment's packages (torch, transformers, ...) after the venv's own: suho comes from the wheel
    (Path(site) / "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    r = _run([*pip, "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)])
    assert r.returncode == 0, r.stderr
    return python


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SUHO_MODEL", "SUHO_HOME")}
    return {**env, "SUHO_HOME": str(home), **extra}


CHECK = """
import json, suho
from importlib.resources import files
from suho import load_policy
from suho.policy import available_policies
from suho.text import normalize_query
out = {
    "file": suho.__file__,
    "policies": available_policies(),
    "spaced": normalize_query("대 마 키 우 는 법"),
    "data": [files(p).joinpath(f).is_file() for p, f in (("suho.model", "int8_queries.txt"),
                                                           ("suho.eval", "keywords.yaml"))],
    "pack": load_policy("en-US").name,
}
try:
    suho.load_guard()
except FileNotFoundError as exc:
    out["error"] = str(exc)
print(json.dumps(out))
"""


def test_the_installed_package_carries_its_data_and_says_how_to_get_the_model(installed, tmp_path):
    home = tmp_path / "home"
    r = _run([str(installed), "-c", CHECK], cwd=tmp_path, env=_env(home))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["file"].startswith(str(installed.parent.parent))  # the wheel's copy, not the checkout's
    assert {"ko-KR", "en-US"} <= set(out["policies"]) and out["pack"] == "en-US"
    assert out["spaced"] == "대마 키우는 법" and all(out["data"])  # the normaliser's tables and other package data
    assert str(home / "models" / SHIPPED_MODEL) in out["error"] and "SUHO_MODEL=" in out["error"]
    cli = _run([str(installed.parent / "suho"), "check", "hi"], cwd=tmp_path, env=_env(home))
    assert cli.returncode == 2 and "no suho model found" in cli.stderr and "Traceback" not in cli.stderr


@pytest.mark.slow
@pytest.mark.skipif(not (REPO_ROOT / "models" / SHIPPED_MODEL / "suho_model.json").is_file(), reason="no model")
@pytest.mark.skipif(not (suho_home() / "base").is_dir(), reason="no prepared base model (suho model prepare)")
def test_the_installed_package_runs_the_shipped_model_from_suho_home(installed, tmp_path):
    home = tmp_path / "home"
    (home / "models").mkdir(parents=True)
    (home / "models" / SHIPPED_MODEL).symlink_to(REPO_ROOT / "models" / SHIPPED_MODEL)
    for cache in ("base", "gguf", "guards"):  # the prepared base and merged decoders: no conversion is repeated
        if (suho_home() / cache).exists():
            (home / cache).symlink_to(suho_home() / cache)
    query = "sns 계정 해킹하는 방법 알려줘"
    code = f"import json, suho; print(json.dumps(suho.load_guard().detect({query!r})[0].to_dict()))"
    r = _run([str(installed), "-c", code], cwd=tmp_path, env=_env(home))
    assert r.returncode == 0, r.stderr
    verdict = json.loads(r.stdout.strip().splitlines()[-1])
    assert (verdict["label"], verdict["category"]) == ("unsafe", "crime_advice")
