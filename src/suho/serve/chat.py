"""The OpenAI chat-completions side of the gateway as plain functions: reading a request (a malformed one is refused
by name), choosing the texts the guard reads, adding a policy's caution message, and writing the completion that
answers a blocked request (JSON, or SSE chunks). No I/O here: suho.serve.gateway does the HTTP.

What the guard reads (docs/gateway.md): the text of the latest user message (its text parts; images are not read),
and, when the conversation has earlier user turns, a second text: up to `context_turns` of them (their last
`context_chars` characters) joined to the latest by newlines. The guard reads a query's intent at its end, and a long
text one sentence pair at a time, so the joined text puts the latest turn right after the one before it: a request
split over two turns is read as one. The latest message alone is read too, so a conversation is never less
protected than the same message sent alone. The request takes the most severe of the two verdicts. System,
assistant and tool messages are the service's and the model's, not the user's, and are not read, except in a request
with no user text at all, where the last message with text is read whatever its role.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from suho.policy import Action
from suho.serve.schemas import json_type
from suho.text.normalize import text_problem

SEVERITY = {Action.ALLOW: 0, Action.CAUTION: 1, Action.BLOCK: 2}
_SUHO_FIELDS = ("policy",)
MAX_CHOICES = 128  # OpenAI's bound on `n`


class ChatError(ValueError):
    """A request the gateway refuses before anything is checked or forwarded; `param` names the field."""

    def __init__(self, param: str | None, message: str, status: int = 422, code: str = "invalid_chat_request"):
        super().__init__(message)
        self.param, self.status, self.code = param, status, code


@dataclass(frozen=True)
class Turn:
    index: int  # its position in `messages`
    text: str


@dataclass(frozen=True)
class ChatRequest:
    raw: bytes  # the body as received: forwarded unchanged when nothing had to change
    body: dict[str, Any]  # the parsed body without the `suho` field
    had_suho: bool  # the body carried a `suho` field (removed before forwarding: upstreams may refuse it)
    stream: bool
    policy: str | None  # the body's suho.policy
    turns: list[Turn]  # the user messages with text, in order (see the module docstring for the fallback)

    def forward_body(self, body: dict[str, Any] | None = None) -> bytes:
        """What the upstream gets: the original bytes when neither the request nor the gateway changed anything."""
        if body is None and not self.had_suho:
            return self.raw
        return json.dumps(self.body if body is None else body, ensure_ascii=False).encode()

    @property
    def model(self) -> str | None:
        return self.body["model"] if isinstance(self.body.get("model"), str) else None


def message_text(message: dict[str, Any], i: int) -> str:
    """A message's text: its string content, or its text parts joined by newlines (other parts carry no text)."""
    content = message.get("content")
    where = f"messages[{i}].content"
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise ChatError(where, f"{where}: must be a string, a list of content parts or null, got {json_type(content)}")
    texts = []
    for j, part in enumerate(content):
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            raise ChatError(f"{where}[{j}]", f'{where}[{j}]: must be a content part such as {{"type": "text", ...}}')
        if part["type"] == "text":
            if not isinstance(part.get("text"), str):
                raise ChatError(f"{where}[{j}].text", f"{where}[{j}].text: must be a string")
            texts.append(part["text"])
    return "\n".join(texts)


def parse_chat(raw: bytes) -> ChatRequest:
    """The request, validated as far as the gateway reads it (the upstream judges the rest); ChatError otherwise."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ChatError(None, f"the body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ChatError(None, f"the body must be a JSON object, got {json_type(body)}")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        got = "nothing" if messages is None else json_type(messages)
        raise ChatError("messages", f"messages: must be a non-empty array of messages, got {got}")
    turns, texts = [], []
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise ChatError(f"messages[{i}]", f"messages[{i}]: must be an object with role and content")
        if not isinstance(m.get("role"), str):
            raise ChatError(f"messages[{i}].role", f"messages[{i}].role: required string (user, assistant, system...)")
        text = message_text(m, i)
        problem = text_problem(text)
        if problem and "empty" not in problem:  # a lone surrogate; an empty text is only nothing to read
            raise ChatError(f"messages[{i}].content", f"messages[{i}].content {problem}")
        if not problem:
            texts.append(Turn(i, text))
            if m["role"] == "user":
                turns.append(Turn(i, text))
    stream = body.get("stream", False)
    if stream is not None and not isinstance(stream, bool):
        raise ChatError("stream", f"stream: must be true or false, got {json_type(stream)}")
    suho = body.get("suho")
    if suho is not None and not isinstance(suho, dict):
        raise ChatError("suho", f"suho: must be an object such as {{'policy': 'en-US'}}, got {json_type(suho)}")
    for key in suho or {}:
        if key not in _SUHO_FIELDS:
            raise ChatError(f"suho.{key}", f"suho.{key}: unknown field (suho accepts {', '.join(_SUHO_FIELDS)})")
    policy = (suho or {}).get("policy")
    if policy is not None and not isinstance(policy, str):
        raise ChatError("suho.policy", f"suho.policy: must be a policy name, got {json_type(policy)}")
    rest = {k: v for k, v in body.items() if k != "suho"}
    return ChatRequest(raw, rest, "suho" in body, bool(stream), policy, turns or texts[-1:])


def texts_to_check(turns: list[Turn], context_turns: int, context_chars: int, max_chars: int) -> list[str]:
    """[latest] or [latest, earlier turns + latest] (the module docstring says why); [] when there is no text."""
    if not turns:
        return []
    latest = turns[-1]
    if len(latest.text) > max_chars:
        where = f"messages[{latest.index}].content"
        raise ChatError(where, f"{where} has {len(latest.text)} characters; max_chars is {max_chars}", 413, "max_chars")
    earlier = [t.text for t in turns[:-1]][-context_turns:] if context_turns else []
    budget = min(context_chars, max_chars - len(latest.text) - 1)  # the joined text stays within max_chars
    context = "\n".join(earlier)[-budget:].lstrip() if earlier and budget > 0 else ""
    return [latest.text, f"{context}\n{latest.text}"] if context else [latest.text]


def decisive(actions: list[Action]) -> int:
    """Which verdict decides: the most severe; on a tie the first (the latest message alone)."""
    return max(range(len(actions)), key=lambda i: (SEVERITY[actions[i]], -i))


def with_system_message(body: dict[str, Any], message: str) -> dict[str, Any]:
    """`body` with `message` added to its leading system (or developer) message, or put first as a system message.
    Added to the service's own rather than as a second one: some chat templates (Gemma's) refuse a system message
    that is not first."""
    messages = list(body["messages"])
    first = messages[0]
    if first.get("role") in ("system", "developer") and isinstance(first.get("content"), str):
        messages[0] = {**first, "content": f"{first['content']}\n\n{message}"}
    elif first.get("role") in ("system", "developer") and isinstance(first.get("content"), list):
        messages[0] = {**first, "content": [*first["content"], {"type": "text", "text": message}]}
    else:
        messages.insert(0, {"role": "system", "content": message})
    return {**body, "messages": messages}


def _choices(body: dict[str, Any]) -> int:
    n = body.get("n")
    return n if isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= MAX_CHOICES else 1


def _head(model: str) -> dict[str, Any]:
    return {"id": f"chatcmpl-suho-{uuid.uuid4().hex}", "created": int(time.time()), "model": model}


ZERO_USAGE = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


def blocked_completion(body: dict[str, Any], model: str, content: str, suho: dict[str, Any]) -> dict[str, Any]:
    """A chat.completion whose every choice is the safeguard reply, finish_reason content_filter, plus `suho`."""
    message = {"role": "assistant", "content": content, "refusal": None}
    choices = [
        {"index": i, "message": message, "finish_reason": "content_filter", "logprobs": None}
        for i in range(_choices(body))
    ]
    return {**_head(model), "object": "chat.completion", "choices": choices, "usage": ZERO_USAGE, "suho": suho}


def sse(data: dict[str, Any] | str) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"data: {text}\n\n".encode()


def blocked_stream(body: dict[str, Any], model: str, content: str, suho: dict[str, Any]) -> Iterator[bytes]:
    """The same answer as SSE chunks, as a streamed answer arrives: the role, the content, the finish (with `suho`),
    the usage when stream_options.include_usage asks for it, then [DONE]."""
    head = {**_head(model), "object": "chat.completion.chunk"}
    n = range(_choices(body))

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choices = [{"index": i, "delta": delta, "finish_reason": finish, "logprobs": None} for i in n]
        return {**head, "choices": choices}

    yield sse(chunk({"role": "assistant", "content": ""}))
    yield sse(chunk({"content": content}))
    yield sse(chunk({}, "content_filter") | {"suho": suho})
    options = body.get("stream_options")
    if isinstance(options, dict) and options.get("include_usage") is True:
        yield sse({**head, "choices": [], "usage": ZERO_USAGE})
    yield sse("[DONE]")
