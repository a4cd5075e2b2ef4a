"""Where the model comes from (suho.paths.find_model): an argument, $SUHO_MODEL, or the shipped model's places."""

import pytest

import suho.paths as paths
from suho.paths import SHIPPED_MODEL, find_model


@pytest.fixture
def nowhere(tmp_path, monkeypatch):
    """No SUHO_MODEL, an empty SUHO_HOME, and no checkout copy of the shipped model."""
    monkeypatch.delenv("SUHO_MODEL", raising=False)
    monkeypatch.setenv("SUHO_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(paths, "REPO_ROOT", tmp_path / "not-a-checkout")
    return tmp_path


def test_an_argument_wins_then_the_environment(nowhere, monkeypatch):
    monkeypatch.setenv("SUHO_MODEL", str(nowhere / "from-env"))
    assert find_model(nowhere / "given") == nowhere / "given"
    assert find_model() == nowhere / "from-env"


def test_the_shipped_model_is_found_in_a_checkout_then_in_suho_home(nowhere):
    home_copy = nowhere / "home" / "models" / SHIPPED_MODEL
    home_copy.mkdir(parents=True)
    (home_copy / "suho_model.json").write_text("{}")
    assert find_model() == home_copy
    checkout_copy = nowhere / "not-a-checkout" / "models" / SHIPPED_MODEL
    checkout_copy.mkdir(parents=True)
    (checkout_copy / "suho_model.json").write_text("{}")
    assert find_model() == home_copy  # an installed package's REPO_ROOT is no checkout: its models/ is not read
    (nowhere / "not-a-checkout" / "pyproject.toml").write_text("")
    assert find_model() == checkout_copy


def test_no_model_anywhere_says_how_to_get_one(nowhere):
    with pytest.raises(FileNotFoundError) as err:
        find_model()
    message = str(err.value)
    assert str(nowhere / "home" / "models" / SHIPPED_MODEL) in message
    assert "SUHO_MODEL=" in message and f"models/{SHIPPED_MODEL}" in message and "--model" in message
