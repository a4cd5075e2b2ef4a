"""A stand-in LLM service for trying, testing and benchmarking the gateway: an OpenAI-compatible chat server that
answers "echo: <the last user message>". It is not a language model. Standard library only; loopback only.

    python -m suho.serve.echo_llm --port 8001          # prints: listening on http://127.0.0.1:8001/v1
    suho gateway --upstream http://127.0.0.1:8001/v1

Serves POST /v1/chat/completions (streamed or not) and GET /v1/models. The request's `model` picks a behaviour:
  echo (or any other name)  answer at once
  slow:S                    wait S seconds before answering
  drip:S                    S seconds between streamed chunks
  status:N                  answer HTTP N with an OpenAI error body
  cut                       send the start of the answer, then drop the connection
GET /debug/requests lists the requests it received (newest last, the last 100): method, path, headers and body, so a
test can see what the gateway sent on; GET /debug/hung-up counts streamed answers whose reader left before the end.
With --key-env NAME it wants `Authorization: Bearer $NAME` (else 401).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import signal
import socket
import sys
import threading
import time
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODELS = ["echo", "slow:S", "drip:S", "status:N", "cut"]
MAX_SLEEP_S = 600.0  # a test's slow upstream still ends


class EchoServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], key: str = ""):
        super().__init__(address, Handler)
        self.key = key
        self.received: deque[dict] = deque(maxlen=100)
        self.hung_up = 0  # streamed answers the client stopped reading before the end
        self.lock = threading.Lock()


def _text(content) -> str:
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return content if isinstance(content, str) else ""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, and chunked streaming
    server: EchoServer

    def log_message(self, format, *args) -> None:  # quiet: a benchmark's upstream prints nothing per request
        pass

    def _json(self, status: int, obj) -> None:
        data = json.dumps(obj, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, code: str) -> None:
        self._json(status, {"error": {"message": message, "type": "echo_error", "param": None, "code": code}})

    def _authorised(self) -> bool:
        if not self.server.key or self.headers.get("Authorization") == f"Bearer {self.server.key}":
            return True
        self._error(401, "wrong or missing upstream key", "invalid_api_key")
        return False

    def _record(self, body: bytes) -> None:
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = body.decode("utf-8", "replace")
        entry = {"method": self.command, "path": self.path, "headers": dict(self.headers.items()), "body": parsed}
        with self.server.lock:
            self.server.received.append(entry)

    def do_GET(self) -> None:
        if self.path == "/debug/requests":
            with self.server.lock:
                return self._json(200, list(self.server.received))
        if self.path == "/debug/hung-up":
            return self._json(200, {"hung_up": self.server.hung_up})
        self._record(b"")
        if self.path != "/v1/models":
            return self._error(404, f"no route {self.path}", "not_found")
        if self._authorised():
            data = [{"id": m, "object": "model", "created": 0, "owned_by": "suho-echo"} for m in MODELS]
            self._json(200, {"object": "list", "data": data})

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._record(body)
        if self.path != "/v1/chat/completions":
            return self._error(404, f"no route {self.path}", "not_found")
        if not self._authorised():
            return
        try:
            req = json.loads(body)
            messages = req["messages"]
        except (ValueError, KeyError, TypeError):
            return self._error(400, "the body must be JSON with messages", "invalid_request")
        model = str(req.get("model") or "echo")
        kind, _, arg = model.partition(":")
        try:
            number = float(arg) if kind in ("slow", "drip", "status") else 0.0
        except ValueError:
            return self._error(400, f"model {model!r}: {kind}: takes a number", "invalid_model")
        if kind == "status":
            status = int(number) if 400 <= number < 600 else 500
            return self._error(status, f"upstream answered {status} as asked", f"status_{status}")
        if kind == "slow":
            time.sleep(min(number, MAX_SLEEP_S))
        users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        reply = "echo: " + (_text(users[-1].get("content")) if users else "")
        if req.get("stream"):
            return self._stream(req, model, reply, number if kind == "drip" else 0.0, cut=kind == "cut")
        words = len(reply.split())
        self._json(
            200,
            {
                "id": f"chatcmpl-echo-{uuid.uuid4().hex[:12]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": words, "total_tokens": 1 + words},
            },
        )

    def _stream(self, req: dict, model: str, reply: str, gap_s: float, cut: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        head = {"id": f"chatcmpl-echo-{uuid.uuid4().hex[:12]}", "object": "chat.completion.chunk", "model": model}
        head["created"] = int(time.time())

        def event(delta: dict, finish: str | None = None) -> None:
            data = {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            self._chunk(f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode())

        try:
            self._events(req, head, reply, gap_s, cut, event)
        except (BrokenPipeError, ConnectionResetError):  # the client went away: stop generating
            with self.server.lock:
                self.server.hung_up += 1
            self.close_connection = True

    def _events(self, req: dict, head: dict, reply: str, gap_s: float, cut: bool, event) -> None:
        event({"role": "assistant", "content": ""})
        words = reply.split(" ")
        for i, word in enumerate(words):
            if cut and i == 1:  # the answer has started: drop the connection mid-stream
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if i and gap_s:
                time.sleep(min(gap_s, MAX_SLEEP_S))
            event({"content": word if i == 0 else " " + word})
        event({}, "stop")
        if (req.get("stream_options") or {}).get("include_usage"):
            usage = {"prompt_tokens": 1, "completion_tokens": len(words), "total_tokens": 1 + len(words)}
            self._chunk(f"data: {json.dumps({**head, 'choices': [], 'usage': usage})}\n\n".encode())
        self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")  # the last chunk of a chunked body

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1", help="a loopback address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8001, help="TCP port; 0 picks a free one (default 8001)")
    p.add_argument("--key-env", help="environment variable holding the key clients must send (default: none)")
    args = p.parse_args(argv)
    try:
        loopback = args.host == "localhost" or ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        p.error(f"--host must be a loopback address, got {args.host!r}: this stand-in is for one machine")
    key = os.environ.get(args.key_env, "") if args.key_env else ""
    if args.key_env and not key:
        p.error(f"--key-env: environment variable {args.key_env!r} is not set")
    server = EchoServer((args.host, args.port), key)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    print(f"listening on http://{args.host}:{server.server_address[1]}/v1", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
