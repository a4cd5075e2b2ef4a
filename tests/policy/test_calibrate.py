import json

import numpy as np
import pytest
import yaml

from suho.cli.main import main
from suho.eval.metrics import binary_table
from suho.policy import CATEGORY_IDS, Action, load_policy
from suho.policy.calibrate import Scores, calibrate, weighted_f1
from suho.policy.decision import flagged

N_CAT = len(CATEGORY_IDS)


def _random_scores(n=400, seed=0, unsafe_shift=0.0):
    rng = np.random.default_rng(seed)
    unsafe = rng.random(n) < 0.5
    p_unsafe = np.clip(rng.random(n) + unsafe_shift * unsafe, 0, 1)
    p_cat = rng.dirichlet(np.full(N_CAT, 0.3), size=n)
    return p_unsafe, p_cat, Scores(p_unsafe[:, None] * p_cat, unsafe, ~unsafe)


def test_numpy_weighted_f1_equals_binary_table():
    rng = np.random.default_rng(0)
    for n in (1, 7, 200):
        y, pred = rng.random(n) < 0.4, rng.random(n) < 0.5
        table = binary_table(["unsafe" if v else "safe" for v in y], ["unsafe" if v else "safe" for v in pred])
        assert weighted_f1(y, pred) == pytest.approx(table["weighted"]["f1"])


def _one_category(n=600, seed=3):
    """Every item's top category is crime_advice; unsafe ones score 0.7-1.0, safe ones 0.0-0.7: 0.5 is too low."""
    rng = np.random.default_rng(seed)
    unsafe = np.arange(n) % 2 == 0
    p_unsafe = np.where(unsafe, rng.uniform(0.7, 1.0, n), rng.uniform(0.0, 0.7, n))
    p_cat = np.full((n, N_CAT), 0.01)
    p_cat[:, 0] = 1 - 0.01 * (N_CAT - 1)
    return Scores(p_unsafe[:, None] * p_cat, unsafe, ~unsafe)


def test_fit_moves_a_threshold_that_is_too_low_and_held_out_halves_confirm_it():
    sc = _one_category()
    cal = calibrate(sc, load_policy("ko-KR"))
    assert cal.policy.rule("crime_advice").threshold == pytest.approx(0.7)
    assert cal.after.weighted_f1 > cal.before.weighted_f1 + 0.05
    assert cal.helps and cal.heldout_after.weighted_f1 > cal.heldout_before.weighted_f1 + 0.05
    untouched = [c for c in CATEGORY_IDS if c != "crime_advice"]  # no item is ranked there: nothing to gain
    assert all(cal.policy.rule(c).threshold == load_policy("ko-KR").rule(c).threshold for c in untouched)


def test_flag_rate_objective_respects_the_limit_and_keeps_recall():
    sc = _one_category()
    cal = calibrate(sc, load_policy("ko-KR"), max_flag_rate=0.05)
    assert cal.before.constrained_flag_rate > 0.1
    assert cal.after.constrained_flag_rate <= 0.05
    assert cal.after.unsafe_recall == 1.0  # the best feasible grid point, not "flag nothing"


def test_allowed_categories_keep_their_threshold():
    pol = load_policy("ko-KR").with_rule("crime_advice", action=Action.ALLOW, threshold=0.2)
    cal = calibrate(_one_category(), pol)
    assert cal.policy.rule("crime_advice").threshold == 0.2
    assert cal.policy.rule("crime_advice").action == Action.ALLOW


def test_bad_calibration_inputs_are_refused():
    sc = _random_scores()[2]
    pol = load_policy("ko-KR")
    with pytest.raises(ValueError, match="max_flag_rate"):
        calibrate(sc, pol, max_flag_rate=1.5)
    with pytest.raises(ValueError, match="both safe and unsafe"):
        calibrate(Scores(sc.category_scores, np.zeros(len(sc.unsafe), bool), sc.constrained), pol)
    with pytest.raises(ValueError, match="must agree"):
        Scores(sc.category_scores[:5], sc.unsafe, sc.constrained)
    everything_allowed = pol
    for c in CATEGORY_IDS:
        everything_allowed = everything_allowed.with_rule(c, action="allow")
    with pytest.raises(ValueError, match="allows every category"):
        calibrate(sc, everything_allowed)


def _cli_data(tmp_path):
    """40 labelled rows in the suho schema, half unsafe, for the CLI tests."""
    rows = [
        {"text": f"question {i} about {'poison' if i % 2 else 'gardens'}", "label": "unsafe" if i % 2 else "safe",
         "category": "crime_advice" if i % 2 else None, "language": "en", "source": "test", "license": "CC0-1.0",
         "split": "dev"}
        for i in range(40)
    ]  # fmt: skip
    data = tmp_path / "cal.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return data


def test_calibrate_cli_writes_a_valid_pack(tiny_guard, tmp_path, capsys):
    data = _cli_data(tmp_path)
    out = tmp_path / "pack.yaml"
    argv = ["policy", "calibrate", "--model", str(tiny_guard.artifacts.path), "--data", f"file:{data}"]
    rc = main([*argv, "--out", str(out), "--force"])
    printed = capsys.readouterr().out
    assert rc == 0 and "held-out halves" in printed and "weighted F1" in printed
    pack = load_policy(out)
    assert pack.name == "ko-KR-calibrated" and set(pack.rules) == set(CATEGORY_IDS)
    assert out.read_text(encoding="utf-8").startswith("# ko-KR-calibrated: ko-KR with thresholds fitted")
    assert yaml.safe_load(out.read_text(encoding="utf-8"))["culture"] == "ko-KR"
    assert main([*argv, "--out", str(out)]) == 2  # exists, no --force: refused with a clear error
    assert "exists" in capsys.readouterr().err
    header = next(line for line in printed.splitlines() if line.startswith("thresholds"))
    assert header.split().count("flagged") == 1  # the safe-flagged column once, not twice


def test_calibrate_cli_checks_its_arguments_before_scoring(tiny_guard, tmp_path, capsys, monkeypatch):
    import suho.eval.run

    monkeypatch.setattr(suho.eval.run, "detect_all", lambda *a, **k: pytest.fail("scored before the check"))
    data = _cli_data(tmp_path)
    argv = ["policy", "calibrate", "--model", str(tiny_guard.artifacts.path), "--data", f"file:{data}"]
    argv += ["--out", str(tmp_path / "p.yaml")]
    assert main([*argv, "--max-flag-rate", "1.5"]) == 2
    assert "--max-flag-rate must be in [0, 1), got 1.5" in capsys.readouterr().err
    assert main([*argv, "--flag-on", "lookalike"]) == 2
    assert "pass --max-flag-rate too" in capsys.readouterr().err


def test_calibrate_leaves_out_what_overrides_decide_and_keeps_them(tiny_guard, tmp_path, capsys):
    data = _cli_data(tmp_path)
    pack = load_policy("ko-KR").to_dict()
    pack["overrides"] = [{"text": "question 3 about poison", "label": "safe"},
                         {"pattern": "question 1[0-9] ", "label": "unsafe", "category": "crime_advice"}]  # fmt: skip
    src, out = tmp_path / "ops.yaml", tmp_path / "ops-calibrated.yaml"
    src.write_text(yaml.safe_dump(pack, allow_unicode=True), encoding="utf-8")
    argv = ["policy", "calibrate", "--model", str(tiny_guard.artifacts.path), "--data", f"file:{data}"]
    assert main([*argv, "--policy", str(src), "--out", str(out), "--force"]) == 0
    printed = capsys.readouterr().out
    assert "11 of 40 items are decided by the pack's overrides: left out of the fit" in printed
    assert "29 items (14 unsafe)" in printed
    assert load_policy(out).overrides == load_policy(src).overrides


def _logit_moves(old, new) -> np.ndarray:
    """How far each category's threshold moved from pack `old` to pack `new`, in logit units."""
    t_old, t_new = (np.array([pol.rule(c).threshold for c in CATEGORY_IDS]) for pol in (old, new))
    return np.log(t_new / (1 - t_new)) - np.log(t_old / (1 - t_old))


def test_shift_fits_one_number_for_every_threshold():
    """Unsafe items score 0.7-1.0 and safe ones 0.0-0.7 in every category: the pack's thresholds (0.35-0.6) are all too
    low by about the same amount, so one logit shift fixes them all and keeps their order."""
    rng = np.random.default_rng(5)
    n = 800
    unsafe = np.arange(n) % 2 == 0
    p_unsafe = np.where(unsafe, rng.uniform(0.7, 1.0, n), rng.uniform(0.0, 0.7, n))
    p_cat = np.full((n, N_CAT), 0.01)
    p_cat[np.arange(n), rng.integers(0, N_CAT, n)] = 1 - 0.01 * (N_CAT - 1)
    sc = Scores(p_unsafe[:, None] * p_cat, unsafe, ~unsafe)
    pol = load_policy("ko-KR")
    cal = calibrate(sc, pol, shift=True)
    assert cal.shift is not None and cal.shift < -0.3  # thresholds raised: fewer items flagged
    moved = _logit_moves(pol, cal.policy)
    assert (moved > 0).all()
    assert np.allclose(moved, -cal.shift, atol=0.01)  # the same move for every category
    assert cal.after.weighted_f1 > cal.before.weighted_f1 + 0.05
    assert cal.helps and cal.heldout_after.weighted_f1 > cal.heldout_before.weighted_f1 + 0.05
    new = np.array([cal.policy.rule(c).threshold for c in CATEGORY_IDS])
    # the written pack decides as the fit did
    assert (flagged(sc.category_scores, cal.policy) == flagged(sc.category_scores, pol, new)).all()


def test_shift_keeps_the_pack_when_nothing_is_gained():
    """Unsafe items 0.9-1.0, safe 0.0-0.1: every threshold between already separates them, so b stays 0."""
    n = 200
    unsafe = np.arange(n) % 2 == 0
    p_unsafe = np.where(unsafe, np.linspace(0.9, 1.0, n), np.linspace(0.0, 0.1, n))
    p_cat = np.full((n, N_CAT), 1 / N_CAT)
    sc = Scores(p_unsafe[:, None] * p_cat, unsafe, ~unsafe)
    cal = calibrate(sc, load_policy("ko-KR"), shift=True)
    assert cal.shift == 0.0 and cal.policy.rules == load_policy("ko-KR").rules
    assert not cal.helps  # no better on held-out halves: the CLI would keep the pack


def test_calibrate_cli_shift_writes_a_valid_pack(tiny_guard, tmp_path, capsys):
    data = _cli_data(tmp_path)
    out = tmp_path / "shifted.yaml"
    argv = ["policy", "calibrate", "--model", str(tiny_guard.artifacts.path), "--data", f"file:{data}", "--shift"]
    assert main([*argv, "--out", str(out), "--force"]) == 0
    printed = capsys.readouterr().out
    assert "one logit shift" in printed and "fitted logit shift b = " in printed
    moved = _logit_moves(load_policy("ko-KR"), load_policy(out))
    assert np.ptp(moved) < 0.02  # every threshold moved by the same logit amount (0 if nothing helped)
