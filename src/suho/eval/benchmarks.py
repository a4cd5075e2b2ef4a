"""Benchmarks by name, each a list of labelled items with its label mapping written down once."""

from __future__ import annotations

import csv
import difflib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from suho.data.schema import read_jsonl
from suho.paths import REPO_ROOT, shared_data_dir


@dataclass(frozen=True)
class Item:
    text: str
    label: str  # safe / unsafe
    category: str | None = None
    language: str = "ko"
    group: str | None = None  # e.g. XSTest prompt type, look-alike tag, source
    original: str | None = None  # a disguised item's clean text: the report compares each item with its original


@dataclass(frozen=True)
class Benchmark:
    name: str
    description: str
    load: Callable[[], list[Item]]
    test_set: bool = False  # results are reported on it: never fit anything to it (training, thresholds)


BENCHMARKS: dict[str, Benchmark] = {}


def register(name: str, description: str, test_set: bool = False):
    def deco(fn):
        BENCHMARKS[name] = Benchmark(name, description, fn, test_set)
        return fn

    return deco


def _from_records(path: Path, language: str | None = None) -> list[Item]:
    items = []
    for r in read_jsonl(path):
        if language and r.language != language:
            continue
        group = "lookalike" if "lookalike" in r.tags else r.source
        items.append(Item(r.text, r.label.value, r.category, r.language, group))
    return items


@register("ko-dev", "our dev split, Korean rows (data/dev.jsonl)")
def _ko_dev() -> list[Item]:
    return _from_records(REPO_ROOT / "data" / "dev.jsonl", "ko")


@register("en-dev", "our dev split, English rows")
def _en_dev() -> list[Item]:
    return _from_records(REPO_ROOT / "data" / "dev.jsonl", "en")


@register("dev", "our whole dev split")
def _dev() -> list[Item]:
    return _from_records(REPO_ROOT / "data" / "dev.jsonl")


@register(
    "ko-obfuscated",
    "Korean dev rows, each disguised three ways by suho.data.obfuscate (jamo, spacing, separators, zero-width, "
    "초성, digit swaps, romanisation, repeats); group = 'kind · label'. Never trained on: training copies come from "
    "train rows only",
    test_set=True,
)
def _ko_obfuscated() -> list[Item]:
    from suho.data.obfuscate import BENCHMARK_KINDS

    return _disguised_dev(BENCHMARK_KINDS, per_record=3)


def _disguised_dev(kinds: tuple[str, ...], per_record: int, language: str = "ko") -> list[Item]:
    """Dev rows of one language disguised by suho.data.obfuscate (seed 7), each item naming its clean original."""
    from suho.data.obfuscate import variants

    rows = [r for r in read_jsonl(REPO_ROOT / "data" / "dev.jsonl") if r.language == language]
    return [
        Item(r.text, r.label.value, r.category, language, f"{kind} · {r.label.value}", original)
        for r, kind, original in variants(rows, kinds=kinds, per_record=per_record, seed=7, language=language)
    ]


@register(
    "ko-keyboard",
    "Korean dev rows typed with the keyboard in English mode (`eoakch` for 대마초): the whole query or one word, "
    "by suho.data.obfuscate; group = 'keyboard · label'. Never trained on",
    test_set=True,
)
def _ko_keyboard() -> list[Item]:
    return _disguised_dev(("keyboard",), per_record=1)


@register(
    "en-obfuscated",
    "English dev rows with one key word disguised by suho.data.obfuscate: digits for letters (`b0mb`) or look-alike "
    "Cyrillic letters (`kіll`); group = 'kind · label'. Never trained on",
    test_set=True,
)
def _en_obfuscated() -> list[Item]:
    return _disguised_dev(("leet", "homoglyph"), per_record=1, language="en")


@register("xstest", "XSTest v2 (Röttger et al. 2024): label column as is; group = prompt type", test_set=True)
def _xstest() -> list[Item]:
    with (shared_data_dir() / "xstest" / "xstest_prompts.csv").open(encoding="utf-8") as fh:
        return [Item(r["prompt"], r["label"], None, "en", r["type"]) for r in csv.DictReader(fh)]


@register(
    "kosbi-test", "KoSBi test: sentence_label unsafe -> unsafe (discrimination_hate), safe -> safe", test_set=True
)
def _kosbi() -> list[Item]:
    rows = json.loads((shared_data_dir() / "kosbi" / "kosbi_test.json").read_text(encoding="utf-8"))
    return [
        Item(
            r["sentence"],
            r["sentence_label"],
            "discrimination_hate" if r["sentence_label"] == "unsafe" else None,
            "ko",
            r["demographic_category"],
        )
        for r in rows
        if r["sentence_label"] in ("safe", "unsafe")
    ]


@register(
    "square-test",
    "SQuARe test: contentious/ethical -> sensitive_biased, predictive -> uncertain_prediction "
    "(unsafe under ko-KR), not sensitive -> safe; 'etc' rows skipped",
    test_set=True,
)
def _square() -> list[Item]:
    m = {"contentious": "sensitive_biased", "ethical": "sensitive_biased", "predictive": "uncertain_prediction"}
    rows = json.loads((shared_data_dir() / "square" / "question_test.json").read_text(encoding="utf-8"))
    out = []
    for r in rows:
        if r["sensitive?"] == 0:
            out.append(Item(r["question"], "safe", None, "ko", "not sensitive"))
        elif r["category"] in m:
            out.append(Item(r["question"], "unsafe", m[r["category"]], "ko", r["category"]))
    return out


# -- held-out slices written by `suho data build` (data/benchmarks/): never trained on ------------------------------
BUILT_DIR = REPO_ROOT / "data" / "benchmarks"


def _built(name: str) -> list[Item]:
    path = BUILT_DIR / f"{name}.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `suho data build` to write the held-out benchmarks")
    items = []
    for r in read_jsonl(path):
        family = next((t[3:] for t in r.tags if t.startswith("jb:")), None)
        if family:
            group = f"{family} · {r.label.value}"
        elif r.notes and r.source == "suho-team" and not r.notes.startswith("twin of"):
            group = f"{r.notes} · {r.label.value}"
        else:
            group = f"{r.source} · {r.label.value}"
        items.append(Item(r.text, r.label.value, r.category, r.language, group))
    return items


for _name, _desc in {
    "real-ko": "real Korean user text never trained on (health Q&A-site questions, messenger chat, styled chat, movie "
    "reviews): all safe; report the flagged rate",
    "real-en": "real English user prompts never trained on (ToxicChat non-toxic, ShareGPT first turns, innocuous "
    "red-team openers): all safe; report the flagged rate",
    "redteam-ko": "human-phrased Korean harmful requests never trained on (team-written, indirect/polite/story/opinion "
    "forms, each with its safe twin; machine-translated red-team prompts): recall, and the twins' flagged rate",
    "redteam-en": "human red-team requests never trained on (Anthropic red-team openers, Do-Not-Answer, CatQA, "
    "CoCoNot, ToxicChat), reviewed by the team: recall",
    "comments-ko": "Korean online comments never trained on (BEEP! news comments, HateScore online comments): "
    "weighted F1",
    "long-ko": "team-written long Korean texts never trained on (pastes, code, emails, venting, victims' stories; "
    "harm anywhere in the text)",
    "lookalike-en": "English safe prompts that look unsafe, never trained on (CoCoNot contrast, OKTest): flagged rate",
    "jailbreak-ko": "held-out Korean jailbreak templates wrapped around held-out requests, unsafe and safe alike, plus "
    "held-out rule-only prompts; group = 'tactic family · label'",
    "jailbreak-en": "the same in English",
}.items():
    register(_name, _desc, test_set=True)(lambda n=_name: _built(n))


# -- reserved public benchmarks (data/eval/, see its README): never trained on -------------------------------------
EVAL_DIR = REPO_ROOT / "data" / "eval"


def _eval_csv(name: str) -> list[dict]:
    with (EVAL_DIR / name).open(encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


@register(
    "multijail-ko",
    "MultiJail (Deng et al. 2024), Korean: human red-team prompts translated by people; all unsafe (recall)",
    test_set=True,
)
def _multijail_ko() -> list[Item]:
    return [Item(r["ko"], "unsafe", None, "ko", r["tags"].strip("[]'")) for r in _eval_csv("multijail.csv")]


@register("multijail-en", "MultiJail, the English originals; all unsafe (recall)", test_set=True)
def _multijail_en() -> list[Item]:
    return [Item(r["en"], "unsafe", None, "en", r["tags"].strip("[]'")) for r in _eval_csv("multijail.csv")]


@register(
    "harmbench",
    "HarmBench text behaviours (standard and copyright; contextual rows with their context "
    "first); all unsafe (recall); group = semantic category",
    test_set=True,
)
def _harmbench() -> list[Item]:
    out = []
    for r in _eval_csv("harmbench_behaviors_text_all.csv"):
        text = f"{r['ContextString']}\n\n{r['Behavior']}" if r["ContextString"] else r["Behavior"]
        out.append(Item(text, "unsafe", None, "en", r["SemanticCategory"]))
    return out


@register(
    "jbb",
    "JailbreakBench behaviours: 100 harmful (unsafe) and 100 benign twins (safe); weighted F1; group = JBB category",
    test_set=True,
)
def _jbb() -> list[Item]:
    harmful = [Item(r["goal"], "unsafe", None, "en", r["category"]) for r in _eval_csv("jbb_harmful.csv")]
    return harmful + [Item(r["goal"], "safe", None, "en", r["category"]) for r in _eval_csv("jbb_benign.csv")]


@register(
    "jbb-attacks",
    "JailbreakBench's published attack prompts (PAIR, GCG, JBC, random search) wrapping its "
    "harmful behaviours; all unsafe (recall); group = attack method",
    test_set=True,
)
def _jbb_attacks() -> list[Item]:
    with (EVAL_DIR / "jbb_attack_prompts.jsonl").open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return [Item(r["prompt"], "unsafe", None, "en", r["method"]) for r in rows]


@register(
    "sst", "SimpleSafetyTests: 100 clearly harmful prompts; all unsafe (recall); group = harm area", test_set=True
)
def _sst() -> list[Item]:
    return [Item(r["prompts_final"], "unsafe", None, "en", r["harm_area"]) for r in _eval_csv("simplesafetytests.csv")]


def load_benchmark(name: str) -> list[Item]:
    """A registered benchmark, or `file:PATH.jsonl` for any file in the suho schema."""
    if name.startswith("file:"):
        return _from_records(Path(name[5:]))
    if name not in BENCHMARKS:
        close = difflib.get_close_matches(name, list(BENCHMARKS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise KeyError(f"unknown benchmark {name!r}{hint}; known: {', '.join(BENCHMARKS)}, file:PATH.jsonl")
    return BENCHMARKS[name].load()
