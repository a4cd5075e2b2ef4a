"""`ServeSettings`: every knob of `suho serve`. Kept apart from the FastAPI app, so the `suho` command (whose parser
reads these fields) works where the `serve` extra (fastapi, uvicorn) is not installed."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from suho.config import option
from suho.model.format import WINDOW_TOKENS
from suho.model.windows import CHARS_PER_WINDOW

FAIL_MODES = ("closed", "open")


@dataclass
class ServeSettings:
    """Every knob of `suho serve`; precedence defaults < YAML (--config) < flags, as for the other stages."""

    host: str = option("127.0.0.1", "address to bind; anything but loopback should also set an API key")
    port: int = option(8000, "TCP port")
    max_chars: int = option(4000, "longest accepted input, in characters (413 above)")
    max_inputs: int = option(64, "most texts in one request (413 above)")
    max_windows: int = option(
        512,
        "most detection windows one request may take, its texts together (413 above): a text is one window, or one "
        f"per sentence when over {WINDOW_TOKENS} tokens (about {CHARS_PER_WINDOW} characters of prose each); bounds "
        "a request's model time",
    )
    max_batch_size: int = option(32, "most texts in one forward pass (micro-batch)")
    max_wait_ms: float = option(5.0, "how long a micro-batch waits for more requests before it runs")
    max_queue: int = option(1024, "most texts waiting for the model; beyond it requests get 503 (try another replica)")
    request_timeout_s: float = option(30.0, "a request still unanswered after this is answered by fail_mode")
    api_key: str = field(
        default_factory=lambda: os.environ.get("SUHO_API_KEY", ""),
        metadata={"help": "bearer token required on /v1/*; unset: $SUHO_API_KEY (prefer it: flags show in `ps`)"},
    )
    log_text: bool = option(False, "log query text (off: only counts, categories and timings are logged)")
    fail_mode: str = option("closed", "when inference fails or times out: closed = flag as block, open = allow")
    extra_policies: tuple[str, ...] = option((), "more policy packs (names or YAML paths) requests may select")
    keys_file: str = option("", "YAML file of client API keys, each with a name and its own policy (docs/gateway.md)")
    # -- the gateway (`suho gateway`, or `suho serve --upstream URL`): docs/gateway.md
    upstream: str = option(
        "",
        "OpenAI-compatible API root of the LLM service to guard, e.g. http://127.0.0.1:8080/v1: serves "
        "POST /v1/chat/completions and GET /v1/models in front of it (empty: no gateway)",
    )
    upstream_key_env: str = option(
        "",
        "environment variable holding the upstream's API key, sent as its bearer token (empty: none, or the client's "
        "own Authorization header when the server has no keys of its own)",
    )
    context_turns: int = option(3, "earlier user turns the gateway reads with the latest one (0: the latest alone)")
    context_chars: int = option(1000, "most characters of those earlier turns (their tail), so context costs little")
    upstream_connect_timeout_s: float = option(5.0, "longest wait to connect to the upstream (then 504)")
    upstream_timeout_s: float = option(
        120.0, "longest wait for the upstream's answer to start, or for its next bytes once it has (then 504)"
    )

    def __post_init__(self) -> None:
        errors = []
        ints = ("port", "max_chars", "max_inputs", "max_windows", "max_batch_size", "max_queue")
        for name in (*ints, "context_turns", "context_chars"):
            value = getattr(self, name)
            least = 0 if name in ("port", "context_turns") else 1  # port 0: any free port
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                errors.append(f"{name}: must be an integer >= {least}, got {value!r}")
        for name in ("max_wait_ms", "request_timeout_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                errors.append(f"{name}: must be a non-negative number, got {value!r}")
        for name in ("upstream_connect_timeout_s", "upstream_timeout_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                errors.append(f"{name}: must be a positive number, got {value!r}")
        errors += upstream_problems(self.upstream)
        if self.fail_mode not in FAIL_MODES:
            errors.append(f"fail_mode: must be closed or open, got {self.fail_mode!r}")
        if isinstance(self.max_queue, int) and isinstance(self.max_inputs, int) and self.max_queue < self.max_inputs:
            errors.append(f"max_queue: must be at least max_inputs ({self.max_inputs}), got {self.max_queue}")
        if errors:
            raise ValueError("invalid serve settings:\n" + "\n".join(f"  - {e}" for e in errors))
        self.extra_policies = tuple(self.extra_policies)

    @property
    def max_body_bytes(self) -> int:
        """Largest request body read: max_inputs x max_chars at 12 bytes a character (JSON-escaped astral) + 64 KiB."""
        return self.max_inputs * self.max_chars * 12 + 65536

    def public(self) -> dict:
        auth = bool(self.api_key or self.keys_file)
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "api_key"} | {"auth": auth}


def upstream_problems(url: str) -> list[str]:
    """Why `url` cannot be the gateway's upstream ([] when it can, or when it is empty: no gateway)."""
    if not url:
        return []
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [f"upstream: must be an http(s) URL such as http://127.0.0.1:8080/v1, got {url!r}"]
    if parts.username or parts.password:
        return ["upstream: must not hold credentials; put the key in the variable named by upstream_key_env"]
    if parts.query or parts.fragment:
        return [f"upstream: must be an API root without ?query or #fragment, got {url!r}"]
    return []
