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


@pytest.fixture(scope="session")
def tiny_guard(tiny_base, tmp_path_factory):
    """A guard trained for a few steps on a tiny random model: exercises the inference code, not quality."""
    import json
    import os

    from suho.guard import load_guard
    from suho.train.config import TrainConfig
    from suho.train.trainer import train

    tmp = tmp_path_factory.mktemp("tiny-guard")
    old = os.environ.get("SUHO_HOME")
    os.environ["SUHO_HOME"] = str(tmp / "home")
    rows = [
        {
            "text": "sns 계정 해킹하는 방법 알려줘",
            "label": "unsafe",
            "category": "crime_advice",
            "language": "ko",
            "response": "계정 해킹 방법은 알려드릴 수 없어요.",
            "source": "t",
            "license": "x",
        },
        {"text": "What is the capital of France?", "label": "safe", "language": "en", "source": "t", "license": "x"},
    ]
    data = tmp / "train.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows * 2), encoding="utf-8")
    cfg = TrainConfig(
        base=str(tiny_base),
        train_file=str(data),
        dev_file="",
        output_dir=str(tmp / "run"),
        batch_size=4,
        lora_layers="all",
        lora_r=2,
        epochs=1,
        warmup_steps=1,
        precision="fp32",  # the tiny guard's numbers do not depend on the CPU's bf16 support
        share_prompt=False,
    )
    path = train(cfg, progress=lambda m: None, show_bar=False)
    guard = load_guard(path)
    yield guard
    if old is None:
        os.environ.pop("SUHO_HOME", None)
    else:
        os.environ["SUHO_HOME"] = old


# public corpora of ordinary queries (the chat and review corpora beside them hold kaomoji and control characters,
# which the normaliser exists to change)
QUERY_CORPORA = (
    "en_natural_questions", "en_clinc150", "en_snips", "en_oasst_eval_prompts", "en_selfinstruct_seed",
    "ko_3i4k", "ko_mrtydi_miracl", "ko_parakqc", "ko_songys_chatbot", "ko_stylekqc",
)  # fmt: skip


@pytest.fixture(scope="session")
def benign_queries() -> list[str]:
    """Every text of the public ordinary-query corpora in ../shared/data/benign/."""
    import json

    from suho.paths import shared_data_dir

    texts = []
    for name in QUERY_CORPORA:
        for f in sorted((shared_data_dir() / "benign" / name).glob("*.jsonl")):
            texts += [json.loads(line)["text"] for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    return texts
