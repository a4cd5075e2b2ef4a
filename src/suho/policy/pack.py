"""Policy packs: per culture, for each category an action and a probability threshold.

A pack is YAML (shipped ones are package data under `policy/packs/`; users may pass any file path). Loading validates
every field and reports *all* problems at once, each naming the field, so `suho policy validate FILE` is useful.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from enum import Enum
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from suho.policy.caution import parse_caution_message
from suho.policy.overrides import Overrides, parse_overrides
from suho.policy.taxonomy import CATEGORY_IDS

REPLY_LANGUAGES = ("auto", "ko", "en")
_LANGUAGES = REPLY_LANGUAGES[1:]  # the languages a reply can be written in ("auto" picks one of them)
REPLY_MODES = ("template", "generated")  # the taxonomy's fixed reply per category, or the model's own


class Action(str, Enum):
    BLOCK = "block"  # refuse: the guard's safeguard reply replaces the service's answer
    CAUTION = "caution"  # let through, flagged: the service should answer carefully (disclaimer, balance)
    ALLOW = "allow"  # not a harm under this policy: never flagged


class PolicyError(ValueError):
    """An invalid policy pack; `errors` lists every problem as 'field: message'."""

    def __init__(self, source: str, errors: list[str]):
        self.source = source
        self.errors = errors
        super().__init__(f"invalid policy {source}:\n" + "\n".join(f"  - {e}" for e in errors))


@dataclass(frozen=True)
class CategoryRule:
    action: Action
    threshold: float


@dataclass(frozen=True)
class Policy:
    name: str
    culture: str
    description: str
    reply_language: str
    crisis_line: str
    rules: dict[str, CategoryRule] = field(default_factory=dict)
    reply_mode: str = "template"
    # the same crisis line written for a reply in another language (a Korean reply under en-US names 988 in Korean);
    # a language not listed gets `crisis_line` as written
    crisis_line_by_language: dict[str, str] = field(default_factory=dict)
    # what the model should have said for known queries (suho.policy.overrides); applied before the thresholds
    overrides: Overrides = field(default_factory=Overrides)
    # the gateway's system message for a request this policy cautions, per language (suho.policy.caution)
    caution_message: dict[str, str] = field(default_factory=dict)

    def rule(self, category: str) -> CategoryRule:
        return self.rules[category]

    def crisis_line_for(self, language: str) -> str:
        """The crisis line as a reply in `language` gives it."""
        return self.crisis_line_by_language.get(language, self.crisis_line)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "culture": self.culture,
            "description": self.description,
            "reply_language": self.reply_language,
            "crisis_line": self.crisis_line,
            "crisis_line_by_language": dict(self.crisis_line_by_language),
            "reply_mode": self.reply_mode,
            "categories": {c: {"action": r.action.value, "threshold": r.threshold} for c, r in self.rules.items()},
            "overrides": [o.to_dict() for o in self.overrides.entries],
            "caution_message": dict(self.caution_message),
        }

    def with_rule(self, category: str, action: str | Action | None = None, threshold: float | None = None) -> Policy:
        """A copy with one category changed (run-time policy edits); validates like a loaded pack."""
        data = self.to_dict()
        if category not in data["categories"]:
            raise PolicyError(
                self.name, [f"categories: unknown category {category!r}{_suggest(category, data['categories'])}"]
            )
        if action is not None:
            data["categories"][category]["action"] = Action(action).value
        if threshold is not None:
            data["categories"][category]["threshold"] = threshold
        return policy_from_dict(data, source=f"{self.name} (edited)")


def _suggest(value: str, options) -> str:
    close = difflib.get_close_matches(str(value), list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def policy_from_dict(data: Any, source: str = "<dict>") -> Policy:
    """Validate a parsed pack; raises PolicyError listing every bad field."""
    errors: list[str] = []
    if not isinstance(data, dict):
        raise PolicyError(source, ["<root>: must be a mapping with name, culture, categories, ..."])
    known = {
        "name",
        "culture",
        "description",
        "reply_language",
        "reply_mode",
        "crisis_line",
        "crisis_line_by_language",
        "categories",
        "overrides",
        "caution_message",
    }
    for key in data:
        if key not in known:
            errors.append(f"{key}: unknown field{_suggest(key, known)}")

    def text(key: str, required: bool = True) -> str:
        value = data.get(key)
        if value is None:
            if required:
                errors.append(f"{key}: required")
            return ""
        if not isinstance(value, str) or not value.strip():
            errors.append(f"{key}: must be a non-empty string, got {value!r}")
            return ""
        return value

    name, culture = text("name"), text("culture")
    description, crisis_line = text("description", required=False), text("crisis_line")
    by_language = data.get("crisis_line_by_language") or {}
    if not isinstance(by_language, dict):
        errors.append(f"crisis_line_by_language: must be a mapping of language -> crisis line, got {by_language!r}")
        by_language = {}
    for lang, line in by_language.items():
        if lang not in _LANGUAGES:
            errors.append(
                f"crisis_line_by_language.{lang}: unknown language (one of {', '.join(_LANGUAGES)})"
                f"{_suggest(lang, _LANGUAGES)}"
            )
        elif not isinstance(line, str) or not line.strip():
            errors.append(f"crisis_line_by_language.{lang}: must be a non-empty string, got {line!r}")
        elif crisis_line and crisis_numbers(line) != crisis_numbers(crisis_line):
            errors.append(
                f"crisis_line_by_language.{lang}: must give the same numbers as crisis_line "
                f"({', '.join(crisis_numbers(crisis_line)) or 'none'}), got {line!r}"
            )
    reply_language = data.get("reply_language", "auto")
    if reply_language not in REPLY_LANGUAGES:
        errors.append(f"reply_language: must be one of {', '.join(REPLY_LANGUAGES)}, got {reply_language!r}")
    reply_mode = data.get("reply_mode", "template")
    if reply_mode not in REPLY_MODES:
        errors.append(f"reply_mode: must be one of {', '.join(REPLY_MODES)}, got {reply_mode!r}")
    rules: dict[str, CategoryRule] = {}
    cats = data.get("categories")
    if not isinstance(cats, dict):
        errors.append("categories: required mapping of category id -> {action, threshold}")
        cats = {}
    for cat in cats:
        if cat not in CATEGORY_IDS:
            errors.append(f"categories.{cat}: unknown category{_suggest(cat, CATEGORY_IDS)}")
    for cat in CATEGORY_IDS:
        where = f"categories.{cat}"
        rule = cats.get(cat)
        if rule is None:
            errors.append(f"{where}: missing (every category needs an action and a threshold)")
            continue
        if not isinstance(rule, dict):
            errors.append(f"{where}: must be a mapping with action and threshold, got {rule!r}")
            continue
        for key in rule:
            if key not in ("action", "threshold"):
                errors.append(f"{where}.{key}: unknown field{_suggest(key, ('action', 'threshold'))}")
        action = rule.get("action")
        if action not in {a.value for a in Action}:
            errors.append(
                f"{where}.action: must be block, caution or allow, got {action!r}"
                f"{_suggest(action, [a.value for a in Action])}"
            )
        threshold = rule.get("threshold")
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0.0 < threshold < 1.0:
            errors.append(f"{where}.threshold: must be a number strictly between 0 and 1, got {threshold!r}")
        if not any(e.startswith(where) for e in errors):
            rules[cat] = CategoryRule(Action(action), float(threshold))
    overrides = parse_overrides(data.get("overrides"), errors)
    advice = parse_caution_message(data.get("caution_message"), _LANGUAGES, errors)
    if errors:
        raise PolicyError(source, errors)
    return Policy(
        name, culture, description, reply_language, crisis_line, rules, reply_mode, dict(by_language), overrides, advice
    )


def crisis_numbers(line: str) -> list[str]:
    """The phone numbers in a crisis line (3+ digits, dashes allowed), in order and without repeats."""
    return list(dict.fromkeys(re.findall(r"\d[\d-]{2,}\d|\d{3,}", line)))


def _packs_dir():
    return files("suho.policy").joinpath("packs")


def available_policies() -> list[str]:
    """Names of the shipped packs."""
    return sorted(p.name[: -len(".yaml")] for p in _packs_dir().iterdir() if p.name.endswith(".yaml"))


def load_policy(name_or_path: str | Path | Policy = "ko-KR") -> Policy:
    """A shipped pack by name (`ko-KR`, `en-US`) or any YAML file path."""
    if isinstance(name_or_path, Policy):
        return name_or_path
    if not isinstance(name_or_path, (str, Path)):
        raise TypeError(
            f"policy must be a pack name, a YAML path or a Policy, got {type(name_or_path).__name__} "
            "(a dict: suho.policy.pack.policy_from_dict)"
        )
    ref = str(name_or_path)
    if ref in available_policies():
        text, source = _packs_dir().joinpath(f"{ref}.yaml").read_text(encoding="utf-8"), ref
    else:
        path = Path(ref).expanduser()
        if not path.is_file():
            raise PolicyError(
                ref,
                [
                    f"<name>: no shipped pack or file named {ref!r}{_suggest(ref, available_policies())}; "
                    f"shipped: {', '.join(available_policies())}"
                ],
            )
        try:
            text, source = path.read_text(encoding="utf-8"), str(path)
        except UnicodeDecodeError as exc:
            raise PolicyError(str(path), [f"<file>: not UTF-8 text: {exc}"]) from exc
    loader = yaml.SafeLoader(text)
    loader.name = source  # its error marks name the file, not "<unicode string>"
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        raise PolicyError(source, [f"<yaml>: not valid YAML: {exc}"]) from exc
    finally:
        loader.dispose()
    return policy_from_dict(data, source)
