"""Run a benchmark through a guard: predictions JSONL, metrics JSON, Markdown summary, PR-curve PNG."""

from __future__ import annotations

import json
import time
from pathlib import Path

from suho.eval import metrics
from suho.eval.benchmarks import Item, load_benchmark
from suho.eval.report import render_markdown


def detect_all(guard, texts: list[str], desc: str, *, progress: bool = True, chunk: int = 256) -> list:
    """`guard.detect` over many texts in chunks, with a progress bar: one Verdict per text."""
    from tqdm import tqdm

    verdicts = []
    with tqdm(total=len(texts), desc=desc, disable=not progress) as bar:
        for s in range(0, len(texts), chunk):
            verdicts += guard.detect(texts[s : s + chunk])
            bar.update(min(chunk, len(texts) - s))
    return verdicts


def evaluate(guard, items: list[Item], name: str, out_dir: Path | None = None, *, progress: bool = True) -> dict:
    t0 = time.time()
    verdicts = detect_all(guard, [it.text for it in items], f"eval {name}", progress=progress)
    seconds = time.time() - t0
    y_true = [it.label for it in items]
    y_pred = [v.label.value for v in verdicts]
    res: dict = {
        "benchmark": name,
        "model": guard.name,
        "engine": getattr(guard, "engine", None),
        "policy": guard.policy.name,
        "n": len(items),
        "seconds": round(seconds, 1),
        "binary": metrics.binary_table(y_true, y_pred),
        "weighted_f1_ci95": metrics.bootstrap_f1(y_true, y_pred),
        "confusion": metrics.confusion(y_true, y_pred),
        "scores": metrics.score_summary(y_true, [v.p_unsafe for v in verdicts]),
        "groups": metrics.group_table([it.group for it in items], y_true, y_pred),
    }
    safe_idx = [i for i, it in enumerate(items) if it.label == "safe"]
    if safe_idx:  # over-flagging by the category it was blocked or cautioned as (a real-traffic bar is per category)
        res["safe_flagged_by_category"] = metrics.flagged_by_category(
            [_category(verdicts[i]) if y_pred[i] == "unsafe" else None for i in safe_idx]
        )
    cat_idx = [i for i, it in enumerate(items) if it.label == "unsafe" and it.category]
    if cat_idx:
        res["category"] = metrics.category_table(
            [items[i].category for i in cat_idx],
            [verdicts[i].model_category.value for i in cat_idx],
            [verdicts[i].flagged for i in cat_idx],
        )
    with_original = [i for i, it in enumerate(items) if it.original is not None]
    if with_original:  # a disguise benchmark: each item is also compared with its own clean original
        originals = list(dict.fromkeys(items[i].original for i in with_original))
        scored = detect_all(guard, originals, f"eval {name} (originals)", progress=progress)
        pred_of = {t: v.label.value for t, v in zip(originals, scored)}
        res["paired"] = metrics.paired_table(
            [items[i].group for i in with_original],
            [y_true[i] for i in with_original],
            [y_pred[i] for i in with_original],
            [pred_of[items[i].original] for i in with_original],
        )
    if out_dir:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        with (out_dir / "predictions.jsonl").open("w", encoding="utf-8") as fh:
            for it, v in zip(items, verdicts):
                fh.write(
                    json.dumps(
                        {
                            "text": it.text,
                            "label": it.label,
                            "category": it.category,
                            "group": it.group,
                            "pred": v.label.value,
                            "pred_category": v.category.value if v.category else None,
                            "model_category": v.model_category.value,
                            "p_unsafe": v.p_unsafe,
                        },
                        ensure_ascii=False,
                    )
                    + "\n"
                )
        (out_dir / "metrics.json").write_text(json.dumps(res, indent=2, ensure_ascii=False), encoding="utf-8")
        (out_dir / "summary.md").write_text(render_markdown(res), encoding="utf-8")
        _pr_curve(y_true, [v.p_unsafe for v in verdicts], y_pred, out_dir / "pr_curve.png", name)
    return res


def _pr_curve(y_true, p_unsafe, y_pred, path: Path, name: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve, precision_score, recall_score

    yt = [t == "unsafe" for t in y_true]
    if all(yt) or not any(yt):
        return
    prec, rec, _ = precision_recall_curve(yt, p_unsafe)
    yp = [p == "unsafe" for p in y_pred]
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(rec, prec, label="P(unsafe)")
    ax.scatter(
        [recall_score(yt, yp, zero_division=0)],
        [precision_score(yt, yp, zero_division=0)],
        color="red",
        zorder=3,
        label="operating point (policy)",
    )
    ax.set_xlabel("recall (unsafe)")
    ax.set_ylabel("precision (unsafe)")
    ax.set_title(f"{name}: precision-recall")
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def evaluate_file(model: str, benchmark: str, out_dir: Path | None = None, policy: str = "ko-KR") -> dict:
    """Load a guard and evaluate one benchmark (a name or a JSONL path); prints the Markdown summary."""
    from suho.guard import load_guard

    guard = load_guard(model, policy=policy)
    name = benchmark if not benchmark.endswith(".jsonl") else f"file:{benchmark}"
    res = evaluate(guard, load_benchmark(name), name, out_dir)
    print(render_markdown(res))
    return res


def _category(verdict) -> str:
    """The category a flagged verdict acted on ('unknown' for a verdict that names none)."""
    category = getattr(verdict, "category", None)
    return category.value if category is not None else "unknown"
