"""A pack's `caution_message`: the system message the gateway adds to a request the policy cautions, per language.

```yaml
caution_message:
  ko: "이 요청은 '{category}'에 해당할 수 있습니다. 신중하게 답하세요: ..."
  en: "This request may involve {category}. Answer with care: ..."
```

`{category}` is the cautioned category's name in that language (taxonomy.yaml); no other placeholder is allowed.
Kept here rather than in code because what a service should be told to do with a cautioned request is a cultural
choice, like the actions and thresholds.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

from suho.policy.taxonomy import Category, taxonomy

PLACEHOLDERS = ("category",)


def parse_caution_message(value: Any, languages: Sequence[str], errors: list[str]) -> dict[str, str]:
    """The validated mapping language -> message ({} when absent or empty); problems are appended to `errors`."""
    if value is None or value == {}:
        return {}
    where = "caution_message"
    if not isinstance(value, dict):
        errors.append(f"{where}: must be a mapping of language ({', '.join(languages)}) -> system message")
        return {}
    out = {}
    for lang, text in value.items():
        if lang not in languages:
            errors.append(f"{where}.{lang}: unknown language (one of {', '.join(languages)})")
        elif not isinstance(text, str) or not text.strip():
            errors.append(f"{where}.{lang}: must be a non-empty string, got {text!r}")
        else:
            problem = _placeholder_problem(text)
            if problem:
                errors.append(f"{where}.{lang}: {problem}")
            else:
                out[lang] = text
    missing = [lang for lang in languages if lang not in value]
    if missing:
        errors.append(f"{where}: must give every language a reply can be in; missing {', '.join(missing)}")
    return out


def _placeholder_problem(text: str) -> str | None:
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:  # a lone { or }
        return f"{exc} (write a literal brace as {{{{ or }}}})"
    unknown = [f for f in fields if f not in PLACEHOLDERS]
    if unknown:
        return f"unknown placeholder {{{unknown[0]}}}; the only one is {{category}}"
    return None


def caution_text(messages: dict[str, str], category: Category, language: str) -> str:
    """The message for a request cautioned in `category`, in `language` (a pack's languages are all present)."""
    return messages[language].format(category=taxonomy()[category].name(language))
