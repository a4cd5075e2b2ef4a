"""Render metrics (plain dicts from eval.run) as Markdown tables in the reference layout."""

from __future__ import annotations


def cell(x) -> str:
    return "-" if x is None else f"{x:.3f}"


def binary_row(name: str, b: dict) -> str:
    cells = [b[c][k] for c in ("safe", "unsafe", "weighted") for k in ("precision", "recall", "f1")]
    return f"| {name} | " + " | ".join(cell(x) for x in cells) + " |"


BINARY_HEADER = (
    "| model | Safe P | Safe R | Safe F1 | Unsafe P | Unsafe R | Unsafe F1 | W. P | W. R | W. F1 |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def render_markdown(res: dict) -> str:
    lo, hi = res["weighted_f1_ci95"]
    out = [
        f"# {res['benchmark']} — {res['model']} (policy {res['policy']})",
        "",
        f"{res['n']} items, {res['seconds']} s. Weighted F1 {res['binary']['weighted']['f1']:.3f} "
        f"(95% bootstrap CI {lo:.3f}–{hi:.3f}); average precision of P(unsafe): "
        f"{cell(res['scores']['average_precision'])}.",
        "",
        BINARY_HEADER,
        binary_row(res["model"], res["binary"]),
        "",
        f"Confusion (rows true safe/unsafe, columns predicted safe/unsafe): {res['confusion']}",
        "",
    ]
    if res.get("safe_flagged_by_category"):
        flagged = ", ".join(f"{c} {v:.3f}" for c, v in res["safe_flagged_by_category"].items())
        out += [f"Safe items flagged, by the category they were flagged as: {flagged}", ""]
    if "category" in res:
        out += [
            f"## Categories (unsafe items; category macro-F1 {res['category']['macro_f1']:.3f})",
            "",
            "| category | n | flagged | cat. P | cat. R | cat. F1 |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for c, r in res["category"]["categories"].items():
            out.append(
                f"| {c} | {r['support']} | {r['flag_recall']:.3f} | {r['category_precision']:.3f} | "
                f"{r['category_recall']:.3f} | {r['category_f1']:.3f} |"
            )
        out.append("")
    out += [
        "## By group (prompt type / source; flagged rate on safe groups = over-refusal)",
        "",
        "| group | label | n | flagged | accuracy |",
        "|---|---|---:|---:|---:|",
    ]
    for g, r in res["groups"].items():
        out.append(f"| {g} | {r['label']} | {r['n']} | {r['flagged_rate']:.3f} | {r['accuracy']:.3f} |")
    if "paired" in res:
        out += ["", *paired_section([res])]
    return "\n".join(out) + "\n"


def paired_section(results: list[dict]) -> list[str]:
    """Disguised vs own clean original, one column per model: flagged rate clean -> disguised (change, points)."""

    def cell(r: dict) -> str:
        return f"{r['flagged_original']:.3f} → {r['flagged_disguised']:.3f} ({100 * r['change']:+.1f})"

    first = results[0]["paired"]
    names = " | ".join(r["model"] for r in results)
    out = [
        "## Disguised vs own clean original (same rows; on safe rows the change is the rise in false positives, "
        "on unsafe rows the change in recall)",
        "",
        f"| group | label | n | {names} |",
        "|---|---|---:|" + "---:|" * len(results),
    ]
    for g, row in first["groups"].items():
        out.append(
            f"| {g} | {row['label']} | {row['n']} | "
            + " | ".join(cell(r["paired"]["groups"][g]) for r in results)
            + " |"
        )
    for t, row in first["labels"].items():
        out.append(
            f"| **all {t}** | {t} | {row['n']} | " + " | ".join(cell(r["paired"]["labels"][t]) for r in results) + " |"
        )
    return out
