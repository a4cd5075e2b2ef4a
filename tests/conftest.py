import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def suho_home(tmp_path, monkeypatch):
    """An empty SUHO_HOME so cache tests never touch the user's cache."""
    home = tmp_path / "suho-home"
    monkeypatch.setenv("SUHO_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory):
    from tiny import make_tiny_base

    return make_tiny_base(tmp_path_factory.mktemp("tiny") / "tiny-gemma3")
