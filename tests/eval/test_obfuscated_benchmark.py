from suho.data.schema import read_jsonl
from suho.eval.benchmarks import load_benchmark
from suho.paths import REPO_ROOT


def test_ko_obfuscated_is_made_from_korean_dev_rows_and_never_trained_on():
    dev = [r for r in read_jsonl(REPO_ROOT / "data" / "dev.jsonl") if r.language == "ko"]
    items = load_benchmark("ko-obfuscated")
    assert len(items) >= 2.5 * len(dev)  # three disguises per row, fewer only where a kind has nothing to work on
    assert items == load_benchmark("ko-obfuscated")  # deterministic
    kinds = {it.group.split(" · ")[0] for it in items}
    assert kinds >= {"jamo", "spaced", "separator", "unicode", "chosung", "digits", "romanized", "repeat"}
    assert {it.group.split(" · ")[1] for it in items} == {"safe", "unsafe"}
    dev_texts = {r.text for r in dev}
    assert not any(it.text in dev_texts for it in items)
    train_texts = {r.text for r in read_jsonl(REPO_ROOT / "data" / "train.jsonl")}
    assert not any(it.text in train_texts for it in items)
    assert all(it.group.endswith(it.label) for it in items)
