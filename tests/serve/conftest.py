"""A real uvicorn server on an ephemeral loopback port, in a background thread, around any app."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import yaml

from suho.policy import CATEGORY_IDS


@contextmanager
def running(app, graceful_s: int = 5) -> Iterator[tuple[str, object]]:
    """(base URL, uvicorn.Server); the server is stopped (gracefully) on exit."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=graceful_s))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.should_exit = True
        thread.join(timeout=graceful_s + 5)
        sock.close()


def _pack(path, name: str, action: str, threshold: float, overrides: list | None = None) -> str:
    data = {
        "name": name,
        "culture": "test",
        "description": f"every category {action}",
        "reply_language": "auto",
        "crisis_line": "109",
        "categories": {c: {"action": action, "threshold": threshold} for c in CATEGORY_IDS},
    }
    if overrides:
        data["overrides"] = overrides
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="session")
def serve(tiny_guard, packs):
    """`with serve(guard_or_loader=None, **settings) as (url, server)`: the tiny guard (or a loader) behind a real
    server, with the strict/lenient packs loaded and no API key unless one is given."""
    from suho.serve import ServeSettings, create_app

    def start(guard=None, **settings):
        settings.setdefault("extra_policies", tuple(packs.values()))
        settings.setdefault("api_key", "")
        return running(create_app(guard or tiny_guard, ServeSettings(**settings)))

    return start


@pytest.fixture(scope="session")
def packs(tmp_path_factory) -> dict[str, str]:
    """Custom packs the tiny model cannot fall between: `strict` blocks everything above P(unsafe) 0.001,
    `lenient` allows every category, `overridden` is `strict` with two overrides (the hacking query is safe, the
    France question is crime advice). Passed to servers as extra_policies; requests select them by name."""
    tmp = tmp_path_factory.mktemp("packs")
    overrides = [
        {"text": "sns 계정 해킹하는 방법 알려줘", "label": "safe"},
        {"text": "what is the capital of france", "label": "unsafe", "category": "crime_advice"},
    ]
    return {
        "strict": _pack(tmp / "strict.yaml", "strict", "block", 0.001),
        "lenient": _pack(tmp / "lenient.yaml", "lenient", "allow", 0.5),
        "overridden": _pack(tmp / "overridden.yaml", "overridden", "block", 0.001, overrides),
    }
