"""A minimal client for any OpenAI-compatible chat endpoint (OpenAI, vLLM, llama.cpp, Ollama, LiteLLM, ...).

httpx is imported when a client is made, not with this module, so prompts and `suho synth --dry-run` work on a base
install (httpx comes with the `train`, `serve` and `dev` extras).

Synthetic generation runs for hours against rate-limited or self-hosted teachers, so transient failures (connection
drops, timeouts, 429, 5xx) are retried with exponential back-off and jitter, honouring `Retry-After`; anything else
(a bad model name, a rejected key) fails at once with the server's own message instead of burning the retry budget.
"""

from __future__ import annotations

import email.utils
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import httpx

Messages = list[dict[str, str]]
OPENAI_BASE_URL = "https://api.openai.com/v1"


def resolve_base_url(base_url: str | None) -> str:
    """The endpoint to use: the one given, else $OPENAI_BASE_URL, else OpenAI's API."""
    return base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_BASE_URL


class TeacherError(RuntimeError):
    """The teacher endpoint could not give an answer; the message says why (status, server text, attempts)."""


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class ChatResult:
    text: str
    usage: Usage
    model: str
    finish_reason: str | None = None


class Teacher(Protocol):
    """What `synthesize` needs from a teacher: tests and other backends can pass any object with this method."""

    def chat(self, messages: Messages, *, temperature: float = 1.0, max_tokens: int = 1024) -> ChatResult: ...


def _server_message(resp: httpx.Response) -> str:
    """The error text an OpenAI-style server puts in `{"error": {"message": ...}}`, else the raw body (cut)."""
    try:
        err = resp.json().get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        if isinstance(err, str) and err:
            return err
    except (ValueError, AttributeError):
        pass
    return resp.text[:500] or resp.reason_phrase


def _retry_after(resp: httpx.Response) -> float | None:
    """Seconds the server asked us to wait (`Retry-After` as seconds or an HTTP date), if it said."""
    value = resp.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class ChatClient:
    """POST `{base_url}/chat/completions`; one instance per teacher, reusing its HTTP connection pool."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 120.0,
        max_retries: int = 5,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        on_retry: Callable[[str], None] | None = None,
    ) -> None:
        if not base_url:
            raise ValueError("base_url is required (e.g. http://localhost:8000/v1)")
        if not model:
            raise ValueError("model is required: the teacher model's name as the endpoint knows it")
        try:
            import httpx
        except ModuleNotFoundError as exc:
            raise RuntimeError("suho synth needs httpx: pip install httpx") from exc
        self._httpx = httpx
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._sleep = sleep
        self._on_retry = on_retry  # told of each retry, so a long wait on a dead teacher is not silent
        self._rng = rng or random.Random()
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(api_key_env) if api_key_env else None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._http = httpx.Client(timeout=timeout, headers=headers)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _delay(self, attempt: int, server_wait: float | None) -> float:
        """Exponential back-off with jitter (so parallel runs do not retry in lockstep); Retry-After is a floor."""
        backoff = self._rng.uniform(0.5, 1.0) * min(self.backoff_max, self.backoff_base * 2**attempt)
        return max(backoff, server_wait) if server_wait is not None else backoff

    def chat(self, messages: Messages, *, temperature: float = 1.0, max_tokens: int = 1024) -> ChatResult:
        """One completion. Retries transient failures up to `max_retries` times, then raises TeacherError."""
        payload = {"model": self.model, "messages": messages, "temperature": temperature, "max_tokens": max_tokens}
        last = ""
        for attempt in range(self.max_retries + 1):
            wait = None
            try:
                resp = self._http.post(self.url, json=payload)
            except self._httpx.TransportError as exc:  # connection refused/reset, DNS, timeouts
                last = f"{type(exc).__name__}: {exc}"
            else:
                if resp.status_code == 200:
                    return self._parse(resp)
                last = f"HTTP {resp.status_code}: {_server_message(resp)}"
                if resp.status_code != 429 and resp.status_code < 500:
                    raise TeacherError(f"teacher {self.url} rejected the request ({last})")
                wait = _retry_after(resp)
            if attempt < self.max_retries:
                delay = self._delay(attempt, wait)
                if self._on_retry is not None:
                    self._on_retry(f"teacher: {last}; retry {attempt + 1}/{self.max_retries} in {delay:.1f} s")
                self._sleep(delay)
        raise TeacherError(f"teacher {self.url} failed after {self.max_retries + 1} attempts; last error: {last}")

    def _parse(self, resp: httpx.Response) -> ChatResult:
        try:
            data = resp.json()
            choice = data["choices"][0]
            text = choice["message"].get("content") or ""
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise TeacherError(
                f"teacher {self.url} sent a response that is not a chat completion: {resp.text[:300]!r}"
            ) from exc
        usage = data.get("usage") or {}
        return ChatResult(
            text=text,
            usage=Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)),
            model=str(data.get("model") or self.model),
            finish_reason=choice.get("finish_reason"),
        )
