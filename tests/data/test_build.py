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
    benches = sorted(p.name for p in (tmp_path / "a" / "benchmarks").glob("*.jsonl"))
    assert {"real-ko.jsonl", "redteam-ko.jsonl", "comments-ko.jsonl", "jailbreak-ko.jsonl"} <= set(benches)
    for name in ("train.jsonl", "dev.jsonl", *(f"benchmarks/{b}" for b in benches)):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    train, dev = read_jsonl(tmp_path / "a" / "train.jsonl"), read_jsonl(tmp_path / "a" / "dev.jsonl")
    assert {r.split for r in train} == {"train"} and {r.split for r in dev} == {"dev"}
    assert not {r.text for r in train} & {r.text for r in dev}
    # the held-out benchmarks, the reserved public sets and the evaluation sets are never trained on
    from suho.data.normalize import norm_key
    from suho.data.sources import eval_texts
    from suho.data.traffic import reserved_texts

    train_keys = {norm_key(r.text) for r in train}
    for b in benches:
        assert not {norm_key(r.text) for r in read_jsonl(tmp_path / "a" / "benchmarks" / b)} & train_keys, b
    for name, texts in {**eval_texts(), **reserved_texts()}.items():
        assert not {norm_key(t) for t in texts} & train_keys, name
    from suho.data.traffic import TEAM_SOURCE, TRAFFIC_SOURCES

    # dev is a tenth of the seed + public rows; the traffic and jailbreak stages add train rows only
    first_stage = [r for r in train if r.source not in TRAFFIC_SOURCES and r.source != TEAM_SOURCE]
    first_stage = [r for r in first_stage if "jailbreak" not in r.tags]
    assert 0.07 < len(dev) / (len(first_stage) + len(dev)) < 0.13


@needs_shared
def test_extra_train_rows_leave_dev_and_every_other_train_row_alone(tmp_path, monkeypatch):
    import suho.data.build as b

    _write_seed(tmp_path / "seed", SEED)
    build(tmp_path / "seed", tmp_path / "plain", progress=lambda m: None, traffic=False)
    monkeypatch.setitem(b.EXTRA_TRAIN, ("kosbi-valid", "safe", None), 40)
    build(tmp_path / "seed", tmp_path / "extra", progress=lambda m: None, traffic=False)
    plain, extra = tmp_path / "plain", tmp_path / "extra"
    assert (plain / "dev.jsonl").read_bytes() == (extra / "dev.jsonl").read_bytes()
    before = set((plain / "train.jsonl").read_text(encoding="utf-8").splitlines())
    after = set((extra / "train.jsonl").read_text(encoding="utf-8").splitlines())
    added = [json.loads(line) for line in after - before]
    assert before <= after and 35 <= len(added) <= 40  # a few may be dropped as duplicates
    assert {(r["source"], r["label"], r["split"]) for r in added} == {("kosbi-valid", "safe", "train")}
    assert not {r["text"] for r in added} & {r.text for r in read_jsonl(extra / "dev.jsonl")}


@needs_shared
def test_shipped_data_is_reproduced_bit_for_bit(tmp_path):
    if not (REPO_ROOT / "data" / "train.jsonl").is_file():
        pytest.skip("no shipped data")
    shutil.copytree(REPO_ROOT / "data" / "seed", tmp_path / "seed")
    build(tmp_path / "seed", tmp_path / "out", progress=lambda m: None)
    for name in ("train.jsonl", "dev.jsonl"):
        assert (tmp_path / "out" / name).read_bytes() == (REPO_ROOT / "data" / name).read_bytes(), name


def test_rows_with_a_preset_split_stay_there_and_leave_the_draw_alone():
    import random

    from suho.data.build import split

    rows = [Record(f"질문 {i}", Label.SAFE, None, "ko", "s", "MIT") for i in range(50)]
    pinned = [
        Record("고정 학습 행", Label.SAFE, None, "ko", "s", "MIT", split="train"),
        Record("고정 검증 행", Label.SAFE, None, "ko", "s", "MIT", split="dev"),
    ]
    train_a, dev_a = split(rows, random.Random(1), 0.1)
    train_b, dev_b = split(rows + pinned, random.Random(1), 0.1)
    assert {r.text for r in dev_b} == {r.text for r in dev_a} | {"고정 검증 행"}
    assert "고정 학습 행" in {r.text for r in train_b}
    # pinned train rows (e.g. a new file of twin pairs) leave dev exactly as it was, order included
    more = [Record(f"고정 학습 {i}", Label.SAFE, None, "ko", "s", "MIT", split="train") for i in range(7)]
    train_c, dev_c = split(rows + more, random.Random(1), 0.1)
    assert dev_c == dev_a and len(train_c) == len(train_a) + 7


@needs_shared
def test_obfuscated_copies_come_from_train_rows_only(tmp_path):
    import re
    import unicodedata

    def row(i):
        text = f"대마초 키우는 방법 좀 알려줘 case{i}x"
        return {"text": text, "label": "unsafe", "category": "crime_advice", "language": "ko", "response": "안 돼요."}

    _write_seed(tmp_path / "seed", SEED + [row(i) for i in range(40)])
    build(tmp_path / "seed", tmp_path / "out", progress=lambda m: None, obfuscated=(20, 30), traffic=False)
    train, dev = read_jsonl(tmp_path / "out" / "train.jsonl"), read_jsonl(tmp_path / "out" / "dev.jsonl")
    copies = [r for r in train if "obfuscated" in r.tags]
    assert len([r for r in copies if r.label == Label.UNSAFE]) == 20 and any(r.label == Label.SAFE for r in copies)
    assert not any("obfuscated" in r.tags for r in dev)
    marker = re.compile(r"case\d+x")
    dev_markers = {m.group(0) for r in dev for m in [marker.search(r.text)] if m}
    assert dev_markers  # some of these rows went to dev ...
    for c in copies:  # ... and no disguised copy was made from one of them
        m = marker.search(unicodedata.normalize("NFKC", c.text))
        assert m is None or m.group(0) not in dev_markers, c.text
