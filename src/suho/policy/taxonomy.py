"""The harm taxonomy (`taxonomy.yaml`, package data) as typed objects."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from importlib.resources import files

import yaml


class Label(str, Enum):
    """What the guard says about a text (and what a data record's label is)."""

    SAFE = "safe"
    UNSAFE = "unsafe"


class Group(str, Enum):
    LEGAL = "legal"
    ETHICAL = "ethical"
    ETC = "etc"


class Category(str, Enum):
    """Stable category ids; the order is the order of the category label tokens."""

    CRIME_ADVICE = "crime_advice"
    PRIVACY_VIOLATION = "privacy_violation"
    COPYRIGHT_INFRINGEMENT = "copyright_infringement"
    DISCRIMINATION_HATE = "discrimination_hate"
    INSULT_OFFENSIVE = "insult_offensive"
    SEXUAL_MINORS = "sexual_minors"
    SELF_HARM = "self_harm"
    UNCERTAIN_PREDICTION = "uncertain_prediction"
    SENSITIVE_BIASED = "sensitive_biased"
    MALICIOUS_PERSONIFICATION = "malicious_personification"


CATEGORY_IDS: tuple[str, ...] = tuple(c.value for c in Category)


@dataclass(frozen=True)
class CategoryInfo:
    id: Category
    group: Group
    name_ko: str
    name_en: str
    definition: str
    not_in: str
    examples: tuple[str, ...]
    reply: dict[str, str]  # language -> fixed safeguard reply ({crisis_line} filled from the policy)

    def name(self, language: str) -> str:
        return self.name_ko if language == "ko" else self.name_en


@dataclass(frozen=True)
class EdgeCase:
    """A borderline case decided once (taxonomy.yaml `edges`): the label it gets and why."""

    case: str
    label: str
    category: str | None
    why: str
    examples: tuple[str, ...]


@lru_cache(maxsize=1)
def _raw() -> dict:
    return yaml.safe_load(files("suho.policy").joinpath("taxonomy.yaml").read_text(encoding="utf-8"))


def edge_cases() -> tuple[EdgeCase, ...]:
    """The taxonomy's decided edge cases, in file order."""
    return tuple(
        EdgeCase(e["case"], e["label"], e.get("category"), e["why"], tuple(e["examples"])) for e in _raw()["edges"]
    )


@lru_cache(maxsize=1)
def taxonomy() -> dict[Category, CategoryInfo]:
    """All categories, keyed by id, in token order. Fails loudly if the YAML and the enum disagree."""
    raw = _raw()
    out: dict[Category, CategoryInfo] = {}
    for item in raw["categories"]:
        cat = Category(item["id"])
        out[cat] = CategoryInfo(
            id=cat,
            group=Group(item["group"]),
            name_ko=item["name"]["ko"],
            name_en=item["name"]["en"],
            definition=item["definition"],
            not_in=item["not_in"],
            examples=tuple(item["examples"]),
            reply=dict(item["reply"]),
        )
    if tuple(c.value for c in out) != CATEGORY_IDS:
        raise RuntimeError("taxonomy.yaml must list exactly the Category ids, in enum order")
    return out
