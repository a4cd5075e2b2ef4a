"""Metrics and their Markdown rendering against cases small enough to compute by hand (values in the comments)."""

from __future__ import annotations

import pytest

from suho.eval import metrics
from suho.eval.report import render_markdown

S, U = "safe", "unsafe"

# 5 items, 3 safe + 2 unsafe; the model flags 4 of them.
#   Safe:   TP 1, predicted safe 1, true safe 3     -> P 1/1 = 1.000, R 1/3 = 0.333, F1 2*1*(1/3)/(4/3) = 0.500
#   Unsafe: TP 2, predicted unsafe 4, true unsafe 2 -> P 2/4 = 0.500, R 2/2 = 1.000, F1 2*.5*1/1.5   = 0.667
#   Weighted by support (3, 2): P (3*1 + 2*.5)/5 = 0.800, R (3*1/3 + 2*1)/5 = 0.600 (= accuracy),
#   F1 (3*0.5 + 2*2/3)/5 = 0.5667. (Macro F1 would be 0.583: the weighting is what is being checked.)
Y_TRUE = [S, S, S, U, U]
Y_PRED = [S, U, U, U, U]


def test_binary_table_reference_layout():
    t = metrics.binary_table(Y_TRUE, Y_PRED)
    assert t[S] == pytest.approx({"precision": 1.0, "recall": 1 / 3, "f1": 0.5, "support": 3})
    assert t[U] == pytest.approx({"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 2})
    assert t["weighted"] == pytest.approx({"precision": 0.8, "recall": 0.6, "f1": (1.5 + 4 / 3) / 5, "support": 5})


def test_binary_table_class_never_predicted_scores_zero_not_nan():
    t = metrics.binary_table([S, U, U], [U, U, U])
    assert t[S] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    # unsafe: P 2/3, R 1, F1 0.8; weighted (1*0 + 2*0.8)/3
    assert t[U]["f1"] == pytest.approx(0.8)
    assert t["weighted"]["f1"] == pytest.approx(1.6 / 3)


def test_confusion_rows_are_true_columns_predicted():
    assert metrics.confusion(Y_TRUE, Y_PRED) == [[1, 2], [0, 2]]


def test_category_table_hand_case():
    # crime: 2 items, 1 flagged; predicted crime twice, once right -> P 1/2, R 1/2, F1 1/2
    # privacy: 1 item, flagged; predicted privacy twice, once right -> P 1/2, R 1, F1 2/3
    # self_harm: 1 item, flagged, never predicted -> P 0, R 0, F1 0 ; macro F1 (1/2 + 2/3 + 0)/3 = 7/18
    true = ["crime_advice", "crime_advice", "privacy_violation", "self_harm"]
    pred = ["crime_advice", "privacy_violation", "privacy_violation", "crime_advice"]
    flagged = [True, False, True, True]
    t = metrics.category_table(true, pred, flagged)
    assert list(t["categories"]) == ["crime_advice", "privacy_violation", "self_harm"]
    assert t["categories"]["crime_advice"] == pytest.approx(
        {"support": 2, "flag_recall": 0.5, "category_precision": 0.5, "category_recall": 0.5, "category_f1": 0.5}
    )
    assert t["categories"]["privacy_violation"] == pytest.approx(
        {"support": 1, "flag_recall": 1.0, "category_precision": 0.5, "category_recall": 1.0, "category_f1": 2 / 3}
    )
    assert t["categories"]["self_harm"] == pytest.approx(
        {"support": 1, "flag_recall": 1.0, "category_precision": 0.0, "category_recall": 0.0, "category_f1": 0.0}
    )
    assert t["macro_f1"] == pytest.approx(7 / 18)


def test_group_table_flagged_rate_accuracy_and_mixed_label():
    groups = ["homonyms", "homonyms", "contrast", "contrast", None]
    true = [S, S, U, S, S]
    pred = [U, S, U, U, S]
    t = metrics.group_table(groups, true, pred)
    assert list(t) == ["-", "contrast", "homonyms"]  # sorted; a missing group is "-"
    assert t["homonyms"] == {"n": 2, "label": "safe", "flagged_rate": 0.5, "accuracy": 0.5}
    assert t["contrast"] == {"n": 2, "label": "mixed", "flagged_rate": 1.0, "accuracy": 0.5}
    assert t["-"] == {"n": 1, "label": "safe", "flagged_rate": 0.0, "accuracy": 1.0}


def test_average_precision_hand_case_and_single_class():
    # ranks by score: .8 (U), .4 (S), .35 (U), .1 (S) -> AP = 1/2 * (1/1) + 1/2 * (2/3) = 0.8333
    assert metrics.score_summary([S, S, U, U], [0.1, 0.4, 0.35, 0.8])["average_precision"] == pytest.approx(5 / 6)
    assert metrics.score_summary([S, S], [0.1, 0.9]) == {"average_precision": None}


def test_bootstrap_ci_degenerate_cases_and_containment():
    assert metrics.bootstrap_f1([S, U] * 10, [S, U] * 10, n=50) == (1.0, 1.0)
    assert metrics.bootstrap_f1([S, U] * 10, [U, S] * 10, n=50) == (0.0, 0.0)
    y_true, y_pred = Y_TRUE * 8, Y_PRED * 8
    point = metrics.binary_table(y_true, y_pred)["weighted"]["f1"]
    lo, hi = metrics.bootstrap_f1(y_true, y_pred, n=200)
    assert lo < point < hi
    assert metrics.bootstrap_f1(y_true, y_pred, n=40) == metrics.bootstrap_f1(y_true, y_pred, n=40)  # seeded
    # ten times the data (same proportions): a clearly narrower interval
    lo10, hi10 = metrics.bootstrap_f1(Y_TRUE * 80, Y_PRED * 80, n=200)
    assert hi10 - lo10 < (hi - lo) / 2


def _result() -> dict:
    return {
        "benchmark": "hand",
        "model": "m",
        "policy": "ko-KR",
        "n": 5,
        "seconds": 0.1,
        "binary": metrics.binary_table(Y_TRUE, Y_PRED),
        "weighted_f1_ci95": (0.25, 0.75),
        "confusion": metrics.confusion(Y_TRUE, Y_PRED),
        "scores": {"average_precision": None},
        "groups": metrics.group_table(["a", "a", "b", "b", "b"], Y_TRUE, Y_PRED),
        "category": metrics.category_table(
            ["crime_advice", "self_harm"], ["crime_advice", "crime_advice"], [True, True]
        ),
    }


def test_render_markdown_reference_row_and_sections():
    md = render_markdown(_result())
    lines = md.splitlines()
    assert lines[0] == "# hand — m (policy ko-KR)"
    assert "Weighted F1 0.567 (95% bootstrap CI 0.250–0.750); average precision of P(unsafe): -." in md
    header = lines.index(
        "| model | Safe P | Safe R | Safe F1 | Unsafe P | Unsafe R | Unsafe F1 | W. P | W. R | W. F1 |"
    )
    assert lines[header + 2] == "| m | 1.000 | 0.333 | 0.500 | 0.500 | 1.000 | 0.667 | 0.800 | 0.600 | 0.567 |"
    assert "Confusion (rows true safe/unsafe, columns predicted safe/unsafe): [[1, 2], [0, 2]]" in md
    # category: crime P 1/2 R 1 F1 2/3; self_harm 0; macro 1/3
    assert "## Categories (unsafe items; category macro-F1 0.333)" in md
    assert "| crime_advice | 1 | 1.000 | 0.500 | 1.000 | 0.667 |" in lines
    assert "| self_harm | 1 | 1.000 | 0.000 | 0.000 | 0.000 |" in lines
    # group a: S, S predicted S, U -> flagged 0.5, accuracy 0.5; group b: S, U, U predicted U, U, U
    assert "| a | safe | 2 | 0.500 | 0.500 |" in lines
    assert "| b | mixed | 3 | 1.000 | 0.667 |" in lines


def test_render_markdown_without_categories_has_no_category_section():
    res = _result()
    del res["category"]
    assert "## Categories" not in render_markdown(res)


def test_paired_table_compares_each_item_with_its_own_original():
    # safe group: originals flagged 0/1/0/0, disguised 1/1/0/0 -> 0.25 -> 0.50 (+0.25, a rise in false positives)
    # unsafe group: originals caught 1/1, disguised 1/0 -> recall 1.0 -> 0.5
    groups = ["chosung · safe"] * 4 + ["chosung · unsafe"] * 2
    y_true = ["safe"] * 4 + ["unsafe"] * 2
    disguised = ["unsafe", "unsafe", "safe", "safe", "unsafe", "safe"]
    original = ["safe", "unsafe", "safe", "safe", "unsafe", "unsafe"]
    t = metrics.paired_table(groups, y_true, disguised, original)
    safe = t["groups"]["chosung · safe"]
    assert (safe["label"], safe["n"], safe["flagged_original"], safe["flagged_disguised"]) == ("safe", 4, 0.25, 0.5)
    assert safe["change"] == pytest.approx(0.25)
    assert t["labels"]["unsafe"] == {"n": 2, "flagged_original": 1.0, "flagged_disguised": 0.5, "change": -0.5}
    res = {**_result(), "paired": t}
    lines = render_markdown(res).splitlines()
    assert "| chosung · safe | safe | 4 | 0.250 → 0.500 (+25.0) |" in lines
    assert "| **all unsafe** | unsafe | 2 | 1.000 → 0.500 (-50.0) |" in lines


class _ByWord:
    """A detector that flags any text containing 'ㅈㅅ' or '자살': enough to see the paired comparison wired up."""

    name = "by-word"
    policy = type("P", (), {"name": "ko-KR"})()

    def detect(self, texts):
        from suho.data.schema import Label

        def verdict(t):
            flagged = "ㅈㅅ" in t or "자살" in t
            return type("V", (), {"label": Label.UNSAFE if flagged else Label.SAFE, "p_unsafe": float(flagged)})()

        return [verdict(t) for t in texts]


def test_evaluate_scores_originals_of_disguised_items_outside_the_metrics(monkeypatch):
    from suho.eval.benchmarks import Item
    from suho.eval.run import evaluate

    monkeypatch.setattr(metrics, "bootstrap_f1", lambda *a, **k: (0.0, 1.0))
    items = [
        Item("ㅈㅅ 하는 법", "unsafe", None, "ko", "chosung · unsafe", original="자살 하는 법"),
        Item("ㅈㅅ 과제 마감", "safe", None, "ko", "chosung · safe", original="작성 과제 마감"),
        Item("오늘 ㄴㅆ 어때", "safe", None, "ko", "chosung · safe", original="오늘 날씨 어때"),
    ]
    res = evaluate(_ByWord(), items, "toy", progress=False)
    assert res["n"] == 3 and res["confusion"] == [[1, 1], [0, 1]]  # metrics count the three items only
    assert res["paired"]["groups"]["chosung · safe"]["flagged_original"] == 0.0
    assert res["paired"]["groups"]["chosung · safe"]["flagged_disguised"] == 0.5
    assert res["paired"]["labels"]["unsafe"]["change"] == 0.0
    assert "paired" not in evaluate(_ByWord(), [Item("자살", "unsafe")], "plain", progress=False)
