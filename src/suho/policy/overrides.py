"""Policy overrides: fix a known false positive or false negative at once, without retraining.

A pack may list overrides, each saying what the model *should* have said for some queries:

```yaml
overrides:
  - text: 프로세스 죽이는 법 알려줘      # this exact query (see `override_key`) is safe
    label: safe
  - text: 우리 경쟁사 제품 추천해줘       # this exact query is unsafe, in this category
    label: unsafe
    category: sensitive_biased
  - pattern: '(?i)\\bxyz ?coin\\b.*(오를|떨어질)'   # any query matching this regex is unsafe
    label: unsafe
    category: uncertain_prediction
```

`text` matches the whole query; both are compared after the guard's normalisation (disguises undone), case folding,
and with runs of spaces and punctuation read as one space — so `프로세스, 죽이는 법 알려줘!` matches the first entry and
`리눅스 프로세스 죽이는 법 알려줘` does not. `pattern` is a regular expression searched in the normalised query; it can
only mark queries unsafe: a pattern that allowed would let through any harmful text that also matched it. An exact
`text` entry is the most specific, so it wins over a pattern.

An override replaces the model's reading, not the policy: an unsafe override gets its category's action (block or
caution), and none at all if the policy allows that category.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from suho.policy.taxonomy import CATEGORY_IDS
from suho.text.normalize import normalize_query

LABELS = ("safe", "unsafe")
_SEPARATORS = re.compile(r"[\W_]+")


def override_key(text: str) -> str:
    """What an exact `text` override compares, for text already normalised by the guard: case-folded, with runs of
    spaces and punctuation as one space."""
    return _SEPARATORS.sub(" ", text.casefold()).strip()


def _entry_key(text: str) -> str:
    """The key of a pack's `text`, normalised as the guard normalises queries (a disguised entry matches too)."""
    return override_key(normalize_query(text))


@dataclass(frozen=True)
class Override:
    label: str  # safe / unsafe
    category: str | None  # the harm category of an unsafe override
    text: str | None = None  # exact query, as written in the pack
    pattern: str | None = None  # regular expression (unsafe only)

    def describe(self) -> str:
        """How a verdict names the override that decided it."""
        return f"text: {self.text}" if self.text is not None else f"pattern: {self.pattern}"

    def to_dict(self) -> dict[str, str]:
        out = {"text": self.text} if self.text is not None else {"pattern": self.pattern}
        out["label"] = self.label
        if self.category is not None:
            out["category"] = self.category
        return out


@dataclass(frozen=True)
class Overrides:
    """A pack's overrides, indexed for matching (a dict lookup per query, then the patterns in order)."""

    entries: tuple[Override, ...] = ()
    _by_key: dict[str, Override] = field(init=False, repr=False, compare=False)
    _patterns: tuple[tuple[re.Pattern[str], Override], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_key = {_entry_key(o.text): o for o in self.entries if o.text is not None}
        compiled = tuple((re.compile(o.pattern), o) for o in self.entries if o.pattern is not None)
        object.__setattr__(self, "_by_key", by_key)
        object.__setattr__(self, "_patterns", compiled)

    def __bool__(self) -> bool:
        return bool(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def match(self, normalized_text: str) -> Override | None:
        """The override deciding a query (already normalised by the guard), or None."""
        if not self.entries:
            return None
        hit = self._by_key.get(override_key(normalized_text))
        if hit is not None:
            return hit
        for regex, override in self._patterns:
            if regex.search(normalized_text):
                return override
        return None


def parse_overrides(value: Any, errors: list[str]) -> Overrides:
    """Validate the pack's `overrides` list, appending one message per problem to `errors`."""
    if value is None:
        return Overrides()
    if not isinstance(value, list):
        errors.append(f"overrides: must be a list of {{text or pattern, label, category}}, got {value!r}")
        return Overrides()
    entries: list[Override] = []
    seen: dict[str, tuple[int, Override]] = {}  # exact query -> (its index in the pack, its entry)
    for i, item in enumerate(value):
        where = f"overrides[{i}]"
        if not isinstance(item, dict):
            errors.append(f"{where}: must be a mapping with text or pattern, label and category, got {item!r}")
            continue
        n_errors = len(errors)
        for key in item:
            if key not in ("text", "pattern", "label", "category"):
                errors.append(f"{where}.{key}: unknown field (text, pattern, label, category)")
        text, pattern = item.get("text"), item.get("pattern")
        label, category = item.get("label"), item.get("category")
        if (text is None) == (pattern is None):
            errors.append(f"{where}: needs exactly one of text (an exact query) or pattern (a regular expression)")
        for key, v in (("text", text), ("pattern", pattern)):
            if v is not None and (not isinstance(v, str) or not v.strip()):
                errors.append(f"{where}.{key}: must be a non-empty string, got {v!r}")
        key = _entry_key(text) if isinstance(text, str) and text.strip() else None
        if key == "":
            errors.append(f"{where}.text: has no letters or digits to match, got {text!r}")
        if label not in LABELS:
            errors.append(f"{where}.label: must be safe or unsafe, got {label!r}")
        elif label == "unsafe" and category not in CATEGORY_IDS:
            errors.append(
                f"{where}.category: an unsafe override needs a category ({', '.join(CATEGORY_IDS)}), got {category!r}"
            )
        elif label == "safe" and category is not None:
            errors.append(f"{where}.category: a safe override has no category, got {category!r}")
        if label == "safe" and pattern is not None:
            errors.append(
                f"{where}.pattern: only unsafe overrides may use a pattern (an allowing pattern would let through "
                "any harmful text that also matches it); list the safe queries as text"
            )
        if isinstance(pattern, str) and pattern.strip():
            try:
                re.compile(pattern)
            except re.error as exc:
                errors.append(f"{where}.pattern: not a valid regular expression: {exc}")
        if len(errors) > n_errors:
            continue
        entry = Override(label, category, text, pattern)
        if key is not None:
            if key in seen:
                j, first = seen[key]
                if (first.label, first.category) != (label, category):
                    errors.append(f"{where}.text: the same query as overrides[{j}] with another verdict")
                continue  # an exact repeat adds nothing
            seen[key] = (i, entry)
        entries.append(entry)
    return Overrides(tuple(entries))
