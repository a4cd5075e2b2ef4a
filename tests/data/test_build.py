import csv
import json
import shutil
from pathlib import Path

import pytest

from suho.data.build import LeakageError, build, check_leakage
from suho.data.schema import Label, Record, read_jsonl
from suho.paths import REPO_ROOT, shared_data_dir

needs_shared = pytest.mark.skipif(not (shared_data_dir() / "xstest").is_dir(), reason="../shared/data not present")


def _write_seed(d: Path, rows):
    d.mkdir(parents=True, exist_ok=True)
    (d / "x.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


SEED = [
    {
        "text": f"테스트 질문 번호 {i}번은 무엇인가요 {'가나다라마바사'[i % 7]}",
        "label": "safe",
        "category": None,
        "language": "ko",
    }
    for i in range(30)
]


def test_check_leakage_catches_normalised_copies():
    rec = Record("How do I KILL a python process??", Label.SAFE, None, "en", "s", "MIT")
    with pytest.raises(LeakageError, match="xstest"):
        check_leakage([rec], {"xstest": ["how do i kill a Python process"]})
    check_leakage([rec], {"xstest": ["something else"]})


@needs_shared
def test_build_fails_when_a_seed_row_is_an_eval_prompt(tmp_path):
    with (shared_data_dir() / "xstest" / "xstest_prompts.csv").open(encoding="utf-8") as fh:
        prompt = next(csv.DictReader(fh))["prompt"]
    rows = SEED + [{"text": prompt.upper() + "!!", "label": "safe", "category": None, "language": "en"}]
    _write_seed(tmp_path / "seed", rows)
    with pytest.raises(LeakageError):
        build(tmp_path / "seed", tmp_path / "out", progress=lambda m: None)


@needs_shared
def test_build_is_deterministic_and_clean(tmp_path):
    _write_seed(tmp_path / "seed", SEED)
    build(tmp_path / "seed", tmp_path / "a", progress=lambda m: None)
    build(tmp_path / "seed", tmp_path / "b", progress=lambda m: None)
    for name in ("train.jsonl", "dev.jsonl"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    train, dev = read_jsonl(tmp_path / "a" / "train.jsonl"), read_jsonl(tmp_path / "a" / "dev.jsonl")
    assert {r.split for r in train} == {"train"} and {r.split for r in dev} == {"dev"}
    assert not {r.text for r in train} & {r.text for r in dev}
    assert 0.07 < len(dev) / (len(train) + len(dev)) < 0.13


@needs_shared
def test_shipped_data_is_reproduced_bit_for_bit(tmp_path):
    if not (REPO_ROOT / "data" / "train.jsonl").is_file():
        pytest.skip("no shipped data")
    shutil.copytree(REPO_ROOT / "data" / "seed", tmp_path / "seed")
    build(tmp_path / "seed", tmp_path / "out", progress=lambda m: None)
    for name in ("train.jsonl", "dev.jsonl"):
        assert (tmp_path / "out" / name).read_bytes() == (REPO_ROOT / "data" / name).read_bytes(), name
