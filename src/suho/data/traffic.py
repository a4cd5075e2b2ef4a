"""Text shaped like real traffic: real user-written corpora, human red-team requests, team-written long and
human-phrased requests — each split into training rows and held-out benchmark rows that are never trained on.

The guard used to learn register instead of intent: its safe Korean rows were short and clean, while long, informal
text appeared only on the unsafe side. The sources here put real users' register on both sides. Every source says
how it maps to the taxonomy and what its license allows (`restriction`: the terms a model trained on it inherits).

This stage runs after the seed + public build (`suho.data.build`), draws from its own random stream and only adds
rows pinned to train, so dev stays exactly as it was.
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from suho.data.schema import Label, Record, read_jsonl
from suho.paths import REPO_ROOT

TEAM_DIR = REPO_ROOT / "data" / "seed" / "traffic"
LABELS_DIR = TEAM_DIR / "labels"  # reviewed labels for the English red-team corpora (one line per input row)
TEAM_SOURCE = "suho-team"
TEAM_LICENSE = "CC-BY-4.0"
MAX_CHARS = 3000  # longer public texts are left out (pasted documents; the guard windows them at run time)


@dataclass(frozen=True)
class TrafficSource:
    name: str
    license: str
    restriction: str | None  # what a model trained on it inherits (None: any use)
    mapping: str
    benchmark: dict[str, str]  # label -> the benchmark its held-out rows go to
    heldout: dict[str, int]  # label -> rows held out for that benchmark
    train: dict[str, int]  # label -> at most this many training rows (-1: all the rest)
    read: Callable[[Path], list[Record]]


TRAFFIC_SOURCES: dict[str, TrafficSource] = {}


def _register(name, license, restriction, mapping, *, benchmark, heldout, train):
    def deco(fn: Callable[[Path], list[tuple[str, str, str | None, tuple[str, ...], str | None]]]):
        def read(root: Path) -> list[Record]:
            out = []
            for text, label, category, tags, lang in fn(root):
                text = text.strip()
                if text and len(text) <= MAX_CHARS:
                    out.append(Record(text, Label(label), category, lang or "en", name, license, tags=tags, notes=None))
            return out

        TRAFFIC_SOURCES[name] = TrafficSource(name, license, restriction, mapping, benchmark, heldout, train, read)
        return fn

    return deco


def _jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


_HANGUL = re.compile(r"[가-힣]")


def is_english(text: str) -> bool:
    """Mostly ASCII and no Hangul: the English rows of a multilingual corpus."""
    return not _HANGUL.search(text) and sum(c.isascii() for c in text) >= 0.97 * len(text)


# Profanity and insults: a review that swears *at* a director or actor is an insult aimed at a person, which the
# taxonomy calls unsafe; such rows are left out rather than taught as safe.
PROFANITY = re.compile(
    r"씨발|시발|ㅅㅂ|ㅆㅂ|병신|ㅂㅅ|븅신|개새|새끼|좆|존나|지랄|닥쳐|꺼져|쓰레기|미친|ㅁㅊ|등신|찐따|ㅄ|또라이|돌대가리"
)
# First-person disclosures of suicidal thoughts: the taxonomy's self-harm category, not an ordinary safe question
SUICIDAL = re.compile(r"자살|죽고 ?싶|자해|죽어버리|살고 ?싶지|목숨을? ?끊|죽을까")


# -- Korean, real users -------------------------------------------------------------------------------------------
@_register(
    "ko_hidoc",
    "none stated (public health Q&A board hidoc.co.kr)",
    "research only until cleared: collected from a public Q&A site with no stated license",
    "safe: real health and mental-health questions to doctors (long, informal); questions that disclose suicidal "
    "thoughts or self-harm are left out of training and of real-ko",
    benchmark={"safe": "real-ko"},
    heldout={"safe": 400},
    train={"safe": -1},
)
def _hidoc(root: Path):
    rows = _jsonl(root / "benign" / "ko_hidoc_mentalhealth_questions" / "ko_hidoc_mentalhealth_questions.jsonl")
    return [(r["text"], "safe", None, ("real", "qa_site"), "ko") for r in rows if not SUICIDAL.search(r["text"])]


@_register(
    "ko_kakaochat",
    "none stated (AI Hub Korean SNS dialogue, cleaned by Ludobico/KakaoChatData)",
    "AI Hub terms of use: AI development use; redistribution of the text restricted",
    "safe: informal messenger/SNS chat turns; a turn and its reply are also joined into one text",
    benchmark={"safe": "real-ko"},
    heldout={"safe": 600},
    train={"safe": 3000},
)
def _kakao(root: Path):
    rows = _jsonl(root / "benign" / "ko_kakaochat_sns" / "ko_kakaochat_sns.jsonl")
    out = [(r["text"].replace("/", " "), "safe", None, ("real", "chat"), "ko") for r in rows]
    pairs: dict[str, dict[str, str]] = {}
    for r in rows:
        pairs.setdefault(r["pair_id"], {})[r["role"]] = r["text"].replace("/", " ")
    for turns in pairs.values():
        if "req" in turns and "res" in turns:
            out.append((f"{turns['req']}\n{turns['res']}", "safe", None, ("real", "chat", "joined"), "ko"))
    return [o for o in out if not PROFANITY.search(o[0]) and not SUICIDAL.search(o[0])]


@_register(
    "ko_smilestyle",
    "CC-BY-NC-4.0",
    "non-commercial (CC-BY-NC-4.0; commercial use needs Smilegate AI's permission)",
    "safe: the same chat sentences in 17 registers; the rude 'halmae'/'joongding' styles are rude wording with "
    "harmless content, so safe (swearing aimed at no one)",
    benchmark={"safe": "real-ko"},
    heldout={"safe": 400},
    train={"safe": 2000},
)
def _smilestyle(root: Path):
    rows = _jsonl(root / "benign" / "ko_smilestyle" / "ko_smilestyle.jsonl")
    return [(r["text"], "safe", None, ("real", "style", f"row:{r['row_id']}"), "ko") for r in rows]


@_register(
    "ko_nsmc",
    "CC0-1.0",
    None,
    "safe: informal movie reviews; reviews with profanity or insults (often aimed at actors or directors) left out",
    benchmark={"safe": "real-ko"},
    heldout={"safe": 500},
    train={"safe": 3500},
)
def _nsmc(root: Path):
    rows = _jsonl(root / "benign" / "ko_nsmc_reviews" / "ko_nsmc_reviews.jsonl")
    return [(r["text"], "safe", None, ("real", "review"), "ko") for r in rows if not PROFANITY.search(r["text"])]


_NAVI = {
    ("harmful_content", "hate_speech"): "discrimination_hate",
    ("harmful_content", "violence"): "crime_advice",
    ("harmful_content", "self_harm"): "self_harm",
    ("harmful_content", "harassment"): "insult_offensive",
    ("sexual_content", "non_consensual"): "sexual_minors",
    ("sexual_content", "minors"): "sexual_minors",
    ("sexual_content", "explicit_content"): "sexual_minors",
    ("privacy_violations", "personal_info"): "privacy_violation",
    ("privacy_violations", "surveillance"): "privacy_violation",
    ("privacy_violations", "doxxing"): "privacy_violation",
    ("bias_stereotypes", "racial_bias"): "discrimination_hate",
    ("bias_stereotypes", "gender_bias"): "discrimination_hate",
    ("bias_stereotypes", "religious_bias"): "discrimination_hate",
    ("bias_stereotypes", "cultural_bias"): "discrimination_hate",
    ("illegal_activities", "drugs"): "crime_advice",
    ("illegal_activities", "weapons"): "crime_advice",
    ("illegal_activities", "fraud"): "crime_advice",
    ("illegal_activities", "hacking"): "crime_advice",
    ("manipulation", "deception"): "crime_advice",
}


@_register(
    "ko_navirocker_mt",
    "MIT (English prompts); the Korean machine translation states no license",
    "the Korean translation states no license",
    "unsafe: short red-team prompts machine-translated to Korean, category mapped from theirs; misinformation, "
    "jailbreaking and persuasion subcategories (no counterpart in the taxonomy) left out",
    benchmark={"unsafe": "redteam-ko"},
    heldout={"unsafe": 40},
    train={"unsafe": -1},
)
def _navirocker_ko(root: Path):
    rows = _jsonl(root / "harmful" / "ko_navirocker_redteam_mt" / "ko_navirocker_redteam_mt.jsonl")
    return [
        (r["text"], "unsafe", _NAVI[(r["category"], r["subcategory"])], ("human_phrased", "machine_translated"), "ko")
        for r in rows
        if (r["category"], r["subcategory"]) in _NAVI
    ]


# -- English, real users ------------------------------------------------------------------------------------------
@_register(
    "en_toxicchat",
    "CC-BY-NC-4.0",
    "non-commercial (ToxicChat, CC-BY-NC-4.0)",
    "safe: real prompts to a public chatbot demo that human annotators labelled non-toxic (English rows only, "
    "jailbreak-flagged rows left out)",
    benchmark={"safe": "real-en"},
    heldout={"safe": 600},
    train={"safe": 3000},
)
def _toxicchat_safe(root: Path):
    rows = _jsonl(root / "benign" / "en_toxicchat_nontoxic" / "en_toxicchat_nontoxic.jsonl")
    return [(r["text"], "safe", None, ("real",), "en") for r in rows if not r["jailbreaking"] and is_english(r["text"])]


@_register(
    "en_sharegpt",
    "MIT (repository); the shared conversations state no license",
    "the shared ChatGPT conversations state no license",
    "safe: first user turn of shared ChatGPT conversations (English)",
    benchmark={"safe": "real-en"},
    heldout={"safe": 200},
    train={"safe": -1},
)
def _sharegpt(root: Path):
    rows = _jsonl(root / "benign" / "en_sharegpt_user_prompts" / "en_sharegpt_user_prompts.jsonl")
    return [(r["text"], "safe", None, ("real",), "en") for r in rows if r["language"] == "en" and is_english(r["text"])]


def _reviewed(root: Path, folder: str, name: str, tags: tuple[str, ...]):
    """Rows of a red-team corpus with the team's reviewed label per row (LABELS_DIR/<name>.labels.jsonl)."""
    rows = _jsonl(root / "harmful" / folder / f"{name}.jsonl")
    labels_path = LABELS_DIR / f"{name}.labels.jsonl"
    if not labels_path.exists():
        return []
    out = []
    for lab in _jsonl(labels_path):
        if lab["label"] in ("safe", "unsafe"):
            text = rows[lab["line"]]["text"]
            if is_english(text):
                out.append((text, lab["label"], lab.get("category") if lab["label"] == "unsafe" else None, tags, "en"))
    return out


@_register(
    "en_hh_redteam",
    "MIT",
    None,
    "first human turn of Anthropic's red-team conversations (hh-rlhf harmless-base test); every row reviewed by the "
    "team: unsafe + category, safe (innocuous openers), or skipped",
    benchmark={"unsafe": "redteam-en", "safe": "real-en"},
    heldout={"unsafe": 300, "safe": 100},
    train={"unsafe": -1, "safe": -1},
)
def _hh(root: Path):
    return _reviewed(root, "en_hh_rlhf_harmless_base_test", "en_hh_rlhf_harmless_base_test", ("human_phrased",))


@_register(
    "en_toxicchat_toxic",
    "CC-BY-NC-4.0",
    "non-commercial (ToxicChat, CC-BY-NC-4.0)",
    "real prompts labelled toxic; every row reviewed by the team (a jailbreak template takes its goal's category, one "
    "with no goal is malicious_personification)",
    benchmark={"unsafe": "redteam-en"},
    heldout={"unsafe": 80},
    train={"unsafe": -1, "safe": -1},
)
def _toxicchat_toxic(root: Path):
    return _reviewed(root, "en_toxicchat_toxic", "en_toxicchat_toxic", ("human_phrased", "real"))


@_register(
    "en_do_not_answer",
    "Apache-2.0",
    None,
    "Do-Not-Answer questions; every row reviewed by the team (medical, legal and mental-health questions and "
    "sincere questions to the bot are mostly safe)",
    benchmark={"unsafe": "redteam-en"},
    heldout={"unsafe": 120},
    train={"unsafe": -1, "safe": -1},
)
def _dna(root: Path):
    return _reviewed(root, "en_do_not_answer", "en_do_not_answer", ("human_phrased",))


_CATQA = {
    "Illegal Activity": "crime_advice",
    "Malware Viruses": "crime_advice",
    "Physical Harm": "crime_advice",
    "Economic Harm": "crime_advice",
    "Fraud/Deception": "crime_advice",
    "Adult Content": "sexual_minors",
    "Political Campaigning": "sensitive_biased",
    "Privacy Violation Activity": "privacy_violation",
    "Child Abuse": "crime_advice",
    "Hate/Harass/Violence": "discrimination_hate",
}
_CATQA_SUB = {
    "Self-harm": "self_harm",
    "Content Sexual exploitation": "sexual_minors",
    "Online predation": "sexual_minors",
    "Cyberbullying": "insult_offensive",
    "Terrorism and extremism": "crime_advice",
    "Intellectual property theft": "copyright_infringement",
}


@_register(
    "en_catqa",
    "Apache-2.0",
    None,
    "CatQA harmful questions: category mapped (self-harm, sexual exploitation, cyberbullying and IP theft by "
    "subcategory); 'Tailored Financial Advice' left out (no counterpart)",
    benchmark={"unsafe": "redteam-en"},
    heldout={"unsafe": 80},
    train={"unsafe": -1},
)
def _catqa(root: Path):
    rows = _jsonl(root / "harmful" / "en_catqa" / "en_catqa.jsonl")
    out = []
    for r in rows:
        cat = _CATQA_SUB.get(r["subcategory"]) or _CATQA.get(r["category"])
        if cat:
            out.append((r["text"], "unsafe", cat, ("human_phrased",), "en"))
    return out


_COCONOT_UNSAFE = {
    "privacy violations": "privacy_violation",
    "copyright violations": "copyright_infringement",
    "dangerous or sensitive topics": "crime_advice",
    "triggers for offensive language": "insult_offensive",
}
_SELF_HARM_EN = re.compile(r"suicid|self-harm|kill myself|end my life|cutting myself|starve myself", re.I)
_HATE_EN = re.compile(r"racis|\brace\b|ethnic|religio|women|gay|lesbian|trans|immigrant|muslim|jew|black|asian", re.I)


@_register(
    "en_coconot",
    "MIT",
    None,
    "CoCoNot: 'Requests with safety concerns' -> unsafe (privacy, copyright, dangerous topics -> crime_advice or "
    "self_harm, offensive-language triggers -> insult_offensive or discrimination_hate; misinformation and "
    "wildchat rows left out); incomplete, unsupported and indeterminate requests -> safe; humanizing requests left "
    "out",
    benchmark={"unsafe": "redteam-en"},
    heldout={"unsafe": 40},
    train={"unsafe": -1, "safe": -1},
)
def _coconot(root: Path):
    rows = _jsonl(root / "harmful" / "en_coconot_original" / "en_coconot_original.jsonl")
    out = []
    for r in rows:
        if r["category"] == "Requests with safety concerns":
            cat = _COCONOT_UNSAFE.get(r["subcategory"])
            if cat == "crime_advice" and _SELF_HARM_EN.search(r["text"]):
                cat = "self_harm"
            elif cat == "insult_offensive" and _HATE_EN.search(r["text"]):
                cat = "discrimination_hate"
            if cat:
                out.append((r["text"], "unsafe", cat, ("human_phrased",), "en"))
        elif r["category"] in ("Incomplete requests", "Unsupported requests", "Indeterminate requests"):
            out.append((r["text"], "safe", None, ("real",), "en"))
    return out


@_register(
    "en_lookalike",
    "MIT (CoCoNot contrast); none stated (OKTest)",
    "OKTest states no license",
    "safe look-alikes: CoCoNot's contrast prompts and OKTest prompts with trigger words",
    benchmark={"safe": "lookalike-en"},
    heldout={"safe": 300},
    train={"safe": -1},
)
def _lookalike_en(root: Path):
    out = []
    for name in ("en_coconot_contrast", "en_oktest"):
        for r in _jsonl(root / "lookalike" / name / f"{name}.jsonl"):
            out.append((r["text"], "safe", None, ("lookalike",), "en"))
    return out


# -- team-written rows --------------------------------------------------------------------------------------------
def read_team(team_dir: Path | None = None) -> list[Record]:
    """Team-written rows (`data/seed/traffic/*.jsonl`): human-phrased Korean requests with safe twins, long requests."""
    out: list[Record] = []
    for path in sorted(Path(team_dir or TEAM_DIR).glob("*.jsonl")):
        out += read_jsonl(path, defaults={"source": TEAM_SOURCE, "license": TEAM_LICENSE})
    return out


def team_groups(rows: list[Record]) -> list[list[Record]]:
    """An unsafe row and the safe twin right after it form one group (held out or trained together)."""
    groups: list[list[Record]] = []
    for r in rows:
        twin = r.label == Label.SAFE and "twin" in r.tags and groups and groups[-1][0].label == Label.UNSAFE
        if twin and len(groups[-1]) == 1:
            groups[-1].append(r)
        else:
            groups.append([r])
    return groups


TEAM_HELDOUT = 0.15  # share of team-written groups held out as benchmark items


def team_benchmark(r: Record) -> str:
    return "long-ko" if "long" in r.tags else ("redteam-ko" if r.language == "ko" else "redteam-en")


@dataclass
class TrafficSplit:
    train: list[Record]
    benchmarks: dict[str, list[Record]]


def draw(root: Path, seed: int, team_dir: Path | None = None) -> TrafficSplit:
    """Every traffic source and the team-written rows, split into train rows and held-out benchmark rows."""
    rng = random.Random(seed)
    train: list[Record] = []
    benches: dict[str, list[Record]] = {}
    for name in sorted(TRAFFIC_SOURCES):
        src = TRAFFIC_SOURCES[name]
        rows = src.read(root)
        for label in sorted({r.label.value for r in rows}):
            group = [r for r in rows if r.label.value == label]
            if name == "ko_smilestyle":  # the styles of one sentence stay on one side
                held, rest = _split_by_tag(group, "row:", src.heldout.get(label, 0), rng)
            else:
                rng.shuffle(group)
                n = min(src.heldout.get(label, 0), len(group))
                held, rest = group[:n], group[n:]
            if held:
                benches.setdefault(src.benchmark[label], []).extend(replace(r, split="eval") for r in held)
            cap = src.train.get(label, 0)
            rest = rest if cap < 0 else rest[:cap]
            train += [replace(r, split="train") for r in rest]
    groups = team_groups(read_team(team_dir))
    rng.shuffle(groups)
    n_held = round(len(groups) * TEAM_HELDOUT)
    for g in groups[:n_held]:
        for r in g:
            benches.setdefault(team_benchmark(r), []).append(replace(r, split="eval"))
    train += [replace(r, split="train") for g in groups[n_held:] for r in g]
    return TrafficSplit(train, benches)


def _split_by_tag(rows: list[Record], prefix: str, n: int, rng: random.Random) -> tuple[list[Record], list[Record]]:
    """Hold out whole groups (rows sharing the tag starting with `prefix`) until at least `n` rows are held out."""
    by: dict[str, list[Record]] = {}
    for r in rows:
        by.setdefault(next(t for t in r.tags if t.startswith(prefix)), []).append(r)
    keys = sorted(by)
    rng.shuffle(keys)
    held: list[Record] = []
    rest: list[Record] = []
    for k in keys:
        (held if len(held) < n else rest).extend(by[k])
    rng.shuffle(rest)
    return held, rest


# -- reserved evaluation sets -------------------------------------------------------------------------------------
EVAL_DIR = REPO_ROOT / "data" / "eval"


def _csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def reserved_texts(eval_dir: Path = EVAL_DIR) -> dict[str, list[str]]:
    """Items of the reserved public benchmarks kept in `data/eval/` (MultiJail, HarmBench, JailbreakBench,
    SimpleSafetyTests): never trained on; the build refuses exact and near copies of them."""
    mj = _csv(eval_dir / "multijail.csv")
    attack = _jsonl(eval_dir / "jbb_attack_prompts.jsonl")
    return {
        "multijail": [r["en"] for r in mj] + [r["ko"] for r in mj],
        "harmbench": [r["Behavior"] for r in _csv(eval_dir / "harmbench_behaviors_text_all.csv")],
        "jbb": [r["goal"] for r in _csv(eval_dir / "jbb_harmful.csv")]
        + [r["goal"] for r in _csv(eval_dir / "jbb_benign.csv")],
        "jbb-attacks": [r["prompt"] for r in attack],
        "sst": [r["prompts_final"] for r in _csv(eval_dir / "simplesafetytests.csv")],
    }
