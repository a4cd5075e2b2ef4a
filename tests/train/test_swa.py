"""The running mean behind `--swa-from`."""

import pytest
import torch

from suho.train.swa import RunningMean


def test_the_mean_is_over_the_steps_from_first_step_on():
    avg = RunningMean(first_step=3)
    seen = []
    for step in range(1, 7):
        w = {"a": torch.full((2, 2), float(step)), "b": torch.tensor([step * 10.0])}
        seen.append(w)
        avg.update(step, w)
    assert avg.count == 4
    assert torch.allclose(avg.mean["a"], torch.full((2, 2), (3 + 4 + 5 + 6) / 4))
    assert torch.allclose(avg.mean["b"], torch.tensor([45.0]))
    # the mean is a copy: later changes to the weights do not move it
    seen[-1]["a"].fill_(100.0)
    assert avg.mean["a"][0, 0].item() == pytest.approx(4.5)


def test_copy_into_writes_the_mean_in_the_weights_own_dtype():
    avg = RunningMean(first_step=1)
    avg.update(1, {"w": torch.tensor([1.0, 2.0])})
    avg.update(2, {"w": torch.tensor([2.0, 3.0])})
    target = {"w": torch.zeros(2, dtype=torch.bfloat16)}
    avg.copy_into(target)
    assert target["w"].dtype == torch.bfloat16
    assert target["w"].float().tolist() == [1.5, 2.5]


def test_state_round_trip_continues_the_same_mean():
    a, b = RunningMean(2), RunningMean(2)
    for step in range(1, 5):
        a.update(step, {"w": torch.tensor([float(step)])})
        if step == 3:
            b.load_state_dict(a.state_dict())
        if step > 3:
            b.update(step, {"w": torch.tensor([float(step)])})
    assert b.count == a.count == 3 and torch.equal(a.mean["w"], b.mean["w"])
    with pytest.raises(ValueError, match="averages from step 2"):
        RunningMean(5).load_state_dict(a.state_dict())


def test_misuse_is_a_clear_error():
    with pytest.raises(ValueError, match="numbered from 1"):
        RunningMean(0)
    with pytest.raises(RuntimeError, match="no step was averaged"):
        RunningMean(3).copy_into({"w": torch.zeros(1)})
    avg = RunningMean(1)
    avg.update(1, {"w": torch.zeros(1)})
    with pytest.raises(ValueError, match="names changed"):
        avg.update(2, {"v": torch.zeros(1)})
