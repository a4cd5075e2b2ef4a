"""Request and response bodies of the HTTP API (pydantic v2), and the one mapping onto OpenAI's moderation categories.

Inputs are normalised to a list of non-empty strings by one validator, so both endpoints accept exactly the same
`input` and every type error names the offending item (`input[2] must be a string, got number`). Size limits depend
on the server's settings and are checked by the app (413), not here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, field_validator
from pydantic_core import PydanticCustomError

from suho.policy import CATEGORY_IDS
from suho.policy.verdict import CheckResult, Verdict
from suho.text.normalize import text_problem

# OpenAI moderation category keys (omni-moderation), in OpenAI's order.
OPENAI_CATEGORIES: tuple[str, ...] = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)

# Each suho category -> the OpenAI keys it counts towards. The Etc. group has no OpenAI counterpart: a query flagged
# there has `flagged: true` with every OpenAI category false, and `suho.category` says why.
TO_OPENAI: dict[str, tuple[str, ...]] = {
    "crime_advice": ("illicit",),
    "privacy_violation": ("illicit",),
    "copyright_infringement": ("illicit",),
    "discrimination_hate": ("hate",),
    "insult_offensive": ("harassment",),
    "sexual_minors": ("sexual", "sexual/minors"),
    "self_harm": ("self-harm", "self-harm/intent"),
    "uncertain_prediction": (),
    "sensitive_biased": (),
    "malicious_personification": (),
}
if tuple(TO_OPENAI) != CATEGORY_IDS:
    raise RuntimeError("TO_OPENAI must list every suho category, in token order")


def json_type(value: Any) -> str:
    """A parsed JSON value's type as JSON names it, for error messages."""
    names = {
        bool: "boolean",
        int: "number",
        float: "number",
        str: "string",
        dict: "object",
        list: "array",
        type(None): "null",
    }
    return names.get(type(value), type(value).__name__)


def _input_texts(value: Any, *, text_parts: bool) -> list[str]:
    """`input` as a list of non-empty strings; errors name the item. `text_parts` accepts OpenAI's
    `{"type": "text", "text": ...}` items (what omni-moderation clients send)."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise PydanticCustomError(
            "input_type", "input must be a string or a list of strings, got {got}", {"got": json_type(value)}
        )
    if not items:
        raise PydanticCustomError("input_empty", "input must not be an empty list")
    texts = []
    for i, item in enumerate(items):
        where = "input" if isinstance(value, str) else f"input[{i}]"
        if text_parts and isinstance(item, dict):
            if item.get("type") != "text" or not isinstance(item.get("text"), str):
                raise PydanticCustomError(
                    "input_part",
                    '{where} must be a string or a {"type": "text", "text": "..."} part; only text is supported',
                    {"where": where},
                )
            item = item["text"]
        if not isinstance(item, str):
            raise PydanticCustomError(
                "input_item_type", "{where} must be a string, got {got}", {"where": where, "got": json_type(item)}
            )
        problem = text_problem(item)
        if problem:
            raise PydanticCustomError("input_text", "{where} {problem}", {"where": where, "problem": problem})
        texts.append(item)
    return texts


# -- /v1/moderations (OpenAI-compatible) --------------------------------------------------------------------------
class ModerationRequest(BaseModel):
    # Unknown fields are ignored, as OpenAI-speaking clients and gateways may send more than we read.
    model_config = ConfigDict(extra="ignore")

    input: str | list[str] = Field(description="one text or a list of texts")
    model: StrictStr | None = Field(None, description="accepted for compatibility; the server's model answers")
    policy: StrictStr | None = Field(None, description="suho extension: a policy pack the server loaded")

    @field_validator("input", mode="before")
    @classmethod
    def _texts(cls, value: Any) -> list[str]:
        return _input_texts(value, text_parts=True)


class SuhoModeration(BaseModel):
    label: Literal["safe", "unsafe"]
    category: str | None
    action: Literal["block", "caution", "allow"]
    category_scores: dict[str, float]
    policy: str
    override: str | None = None
    error: str | None = None


class ModerationResult(BaseModel):
    flagged: bool
    categories: dict[str, bool]
    category_scores: dict[str, float]
    category_applied_input_types: dict[str, list[str]]
    suho: SuhoModeration

    @classmethod
    def from_verdict(cls, v: Verdict) -> ModerationResult:
        """`flagged` follows the policy (block or caution); OpenAI scores sum the suho categories mapped to each key
        (P(unsafe and one of them)); a key is true when the category the policy acted on maps to it."""
        scores = dict.fromkeys(OPENAI_CATEGORIES, 0.0)
        for cat, keys in TO_OPENAI.items():
            for key in keys:
                scores[key] += v.category_scores[cat]
        acted = set(TO_OPENAI[v.category.value]) if v.category else set()
        fields = v.to_dict()
        return cls(
            flagged=v.flagged,
            categories={k: k in acted for k in OPENAI_CATEGORIES},
            category_scores={k: round(min(s, 1.0), 6) for k, s in scores.items()},
            category_applied_input_types={k: ["text"] for k in OPENAI_CATEGORIES},
            suho=SuhoModeration(**{k: fields[k] for k in SuhoModeration.model_fields if k in fields}),
        )

    @classmethod
    def failed(cls, error: str, policy: str, fail_closed: bool) -> ModerationResult:
        """What fail_mode answers when the guard could not decide: flagged (closed) or not (open), `suho.error` set."""
        return cls(
            flagged=fail_closed,
            categories=dict.fromkeys(OPENAI_CATEGORIES, False),
            category_scores=dict.fromkeys(OPENAI_CATEGORIES, 0.0),
            category_applied_input_types={k: ["text"] for k in OPENAI_CATEGORIES},
            suho=SuhoModeration(
                label="unsafe" if fail_closed else "safe",
                category=None,
                action="block" if fail_closed else "allow",
                category_scores={},
                policy=policy,
                error=error,
            ),
        )


class ModerationResponse(BaseModel):
    id: str
    model: str
    results: list[ModerationResult]


# -- /v1/guard (the full verdict) ---------------------------------------------------------------------------------
class GuardRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: str | list[str] = Field(description="one text or a list of texts")
    policy: StrictStr | None = Field(None, description="policy pack name (ko-KR, en-US or one the server loaded)")
    force_reply: StrictBool = Field(False, description="generate the safeguard reply even when the policy allows")

    @field_validator("input", mode="before")
    @classmethod
    def _texts(cls, value: Any) -> list[str]:
        return _input_texts(value, text_parts=False)


class GuardResult(BaseModel):
    label: Literal["safe", "unsafe"]
    category: str | None = Field(description="the category the policy acted on (null when safe)")
    action: Literal["block", "caution", "allow"]
    p_unsafe: float | None
    category_scores: dict[str, float] = Field(description="P(unsafe) x P(category | unsafe) for every category")
    model_category: str | None = Field(description="the model's top category, whatever the policy says")
    reply: str | None = Field(None, description="safeguard reply: when the policy blocks, or with force_reply")
    override: str | None = Field(None, description="the policy override that decided instead of the model's scores")
    language: str | None = None
    policy: str
    error: str | None = Field(None, description="set when fail_mode answered instead of the model")

    @classmethod
    def from_check(cls, result: CheckResult) -> GuardResult:
        fields = result.to_dict()
        return cls(**{k: fields[k] for k in cls.model_fields if k in fields})

    @classmethod
    def failed(cls, error: str, policy: str, fail_closed: bool) -> GuardResult:
        return cls(
            label="unsafe" if fail_closed else "safe",
            category=None,
            action="block" if fail_closed else "allow",
            p_unsafe=None,
            category_scores={},
            model_category=None,
            policy=policy,
            error=error,
        )


class GuardResponse(BaseModel):
    model: str
    results: list[GuardResult]


class ErrorBody(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    """OpenAI's error shape, so clients that speak it surface our messages unchanged."""

    error: ErrorBody
