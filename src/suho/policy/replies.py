"""Safeguard replies as the policy wants them: its fixed reply per category, or the model's own made safe to send.

A self-harm reply always carries the policy's crisis line: the model is trained to give it, and when a generated
reply lacks it one fixed sentence naming it is appended (`Reply.crisis_line_added`), because a missing number there
is the one reply error that must never reach a user. An empty generation is replaced by a fixed refusal.
"""

from __future__ import annotations

from suho.policy.pack import Policy, crisis_numbers
from suho.policy.taxonomy import Category, taxonomy
from suho.policy.verdict import Reply

CRISIS_SENTENCE = {
    "ko": "혼자 견디지 마시고 {line}에 연락해 보세요.",
    "en": "You don't have to go through this alone: please reach out to {line}.",
}

FALLBACK = {
    "ko": "죄송하지만 이 요청은 도와드리기 어려워요. 다른 궁금한 점이 있으면 말씀해 주세요.",
    "en": "Sorry, I can't help with that request. Is there something else I can help you with?",
}


def has_crisis_line(reply: str, crisis_line: str) -> bool:
    """True when the reply gives the crisis line: any of its phone numbers (3+ digits), else its full text."""
    numbers = crisis_numbers(crisis_line)
    if numbers:
        return any(n in reply for n in numbers)
    return crisis_line.strip() in reply


def template_reply(category: Category, language: str, policy: Policy) -> Reply:
    """The taxonomy's fixed reply for `category` in `language`, with the policy's crisis line filled in."""
    text = taxonomy()[category].reply[language].format(crisis_line=policy.crisis_line_for(language))
    return Reply(text, category, language, template=True)


def generated_reply(text: str, category: Category, language: str, policy: Policy, *, ended: bool) -> Reply:
    """The model's decoded reply, with the fallback and crisis-line rules above applied. `ended`: generation stopped
    at the end-of-turn token, not at the token limit."""
    line = policy.crisis_line_for(language)
    fallback = not text
    if fallback:
        text = FALLBACK[language]
    added = category == Category.SELF_HARM and not has_crisis_line(text, line)
    if added:
        text = f"{text} {CRISIS_SENTENCE[language].format(line=line)}"
    return Reply(text, category, language, truncated=not ended, fallback=fallback, crisis_line_added=added)
