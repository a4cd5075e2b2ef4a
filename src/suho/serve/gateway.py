"""The gateway: OpenAI's chat-completions API in front of any service that speaks it, with the guard in between.

POST /v1/chat/completions: the guard reads the user's latest message with the conversation's earlier user turns
(suho.serve.chat says exactly what); `allow` forwards the request unchanged and relays the answer as it comes (SSE
chunk by chunk, status and errors as the upstream gave them); `block` answers with the safeguard reply as a normal
completion, finish_reason content_filter, without calling the upstream; `caution` forwards it with the policy's
caution message added as a system message. Every answer says the verdict in X-Suho-* headers. GET /v1/models is
relayed. Mounted by `create_app` when `settings.upstream` is set (`suho gateway`, or `suho serve --upstream`).
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any
from urllib.parse import quote

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from suho.policy import Action, Policy, available_policies, load_policy
from suho.policy.caution import caution_text
from suho.serve.batcher import NotReady
from suho.serve.chat import (
    ChatError,
    ChatRequest,
    blocked_completion,
    blocked_stream,
    decisive,
    parse_chat,
    sse,
    texts_to_check,
    with_system_message,
)
from suho.serve.errors import ApiError
from suho.serve.schemas import ErrorResponse, GuardResult
from suho.text.lang import detect_language

log = logging.getLogger("suho.serve")

CHAT = "/v1/chat/completions"
MODELS = "/v1/models"
GATEWAY_ENDPOINTS = (CHAT, MODELS)
CHECKED = ("message", "conversation")  # what texts_to_check's texts are, in order
# answer to a request the guard could not check, under fail_mode closed
FAILED_REPLY = {
    "ko": "지금은 안전 점검을 마치지 못해 요청을 보내지 않았어요. 잠시 후 다시 시도해 주세요.",
    "en": "The safety check could not be completed, so this request was not sent. Please try again shortly.",
}
# headers that describe one connection, or that the gateway sets itself, are not relayed in either direction
_NOT_RELAYED = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "content-encoding",
    "accept-encoding",
    "authorization",
    "date",
    "server",
}


class _Relay(StreamingResponse):
    """An upstream SSE answer passed on chunk by chunk; the upstream response is closed however the relay ends (a
    client that hangs up stops the upstream's generation too)."""

    def __init__(self, upstream: httpx.Response, content, status_code: int, headers: dict[str, str]):
        super().__init__(content, status_code=status_code, headers=headers)
        self.upstream = upstream

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.upstream.aclose()


class Gateway:
    """The gateway's routes around the app's service (its `check`, `settings`, `keys` and `model_name`)."""

    def __init__(self, service):
        self.svc = service
        s = service.settings
        self.root = s.upstream.rstrip("/")
        self.upstream_key = os.environ.get(s.upstream_key_env, "").strip() if s.upstream_key_env else ""
        if s.upstream_key_env and not self.upstream_key:
            raise ValueError(f"upstream_key_env: environment variable {s.upstream_key_env!r} is not set or empty")
        self.timeout = httpx.Timeout(
            s.upstream_timeout_s, connect=s.upstream_connect_timeout_s, pool=s.upstream_connect_timeout_s
        )
        self._http: httpx.AsyncClient | None = None

    def http(self) -> httpx.AsyncClient:
        """One connection pool for the upstream, made in the serving event loop on first use."""
        if self._http is None:
            limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
            self._http = httpx.AsyncClient(timeout=self.timeout, limits=limits, follow_redirects=False)
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # -- routes ------------------------------------------------------------------------------------------------
    async def chat_completions(self, request: Request) -> Response:
        t0 = time.perf_counter()
        try:
            req = parse_chat(await request.body())
            s = self.svc.settings
            texts = texts_to_check(req.turns, s.context_turns, s.context_chars, s.max_chars)
        except ChatError as exc:
            raise ApiError(exc.status, str(exc), param=exc.param, code=exc.code) from exc
        name = self._policy_name(request, req)
        if not texts:  # no message has text (images only): nothing the guard can read
            try:
                policy = self.svc.policy(name)
            except NotReady as exc:
                raise ApiError(503, str(exc), type_="service_unavailable", code="not_ready") from exc
            return await self._forward(request, req.forward_body(), _headers("allow", None, policy.name, "nothing"))
        policy, results, error = await self.svc.check(CHAT, texts, name, False)
        if error is not None:
            return await self._failed(request, req, texts[0], policy, error)
        i = decisive([r.verdict.action for r in results])
        verdict, reply = results[i].verdict, results[i].reply
        category = verdict.category.value if verdict.category else None
        headers = _headers(verdict.action.value, category, policy.name, CHECKED[i])
        if verdict.action == Action.BLOCK:
            suho = GuardResult.from_check(results[i]).model_dump() | {"checked": CHECKED[i]}
            response = self._blocked(req, reply.text, suho, headers)
        elif verdict.action == Action.CAUTION:
            message = self._caution_message(policy, verdict)
            response = await self._forward(request, req.forward_body(with_system_message(req.body, message)), headers)
        else:
            response = await self._forward(request, req.forward_body(), headers)
        log.info(
            "%s policy=%s action=%s checked=%s status=%d %.1f ms",
            *(CHAT, policy.name, verdict.action.value, CHECKED[i], response.status_code),
            (time.perf_counter() - t0) * 1000,
        )
        return response

    async def models(self, request: Request) -> Response:
        return await self._forward(request, None, {})

    # -- decisions ---------------------------------------------------------------------------------------------
    def _policy_name(self, request: Request, req: ChatRequest) -> str | None:
        """The body's suho.policy, else the X-Suho-Policy header, else the client key's policy, else the server's."""
        asked = req.policy or request.headers.get("x-suho-policy") or None
        client = request.scope.get("suho.client")
        if client is not None and client.fixed_policy and asked not in (None, client.policy):
            raise ApiError(
                403,
                f"policy: key {client.name!r} is fixed to policy {client.policy!r}; it may not ask for {asked!r}",
                type_="permission_error",
                param="policy",
                code="policy_fixed",
            )
        return asked or (client.policy if client is not None else None)

    def _caution_message(self, policy: Policy, verdict) -> str:
        if not policy.caution_message:
            raise ApiError(
                500,
                f"policy {policy.name!r} cautions but has no caution_message",
                type_="server_error",
                code="caution_message_missing",
            )
        language = policy.reply_language if policy.reply_language != "auto" else verdict.language
        return caution_text(policy.caution_message, verdict.category, language)

    async def _failed(self, request: Request, req: ChatRequest, text: str, policy: Policy, error: str) -> Response:
        """The guard could not answer: fail_mode closed blocks (not forwarded), open forwards; both say why."""
        if self.svc.settings.fail_mode == "open":
            return await self._forward(request, req.forward_body(), _headers("allow", None, policy.name, error=error))
        headers = _headers("block", None, policy.name, error=error)
        suho = GuardResult.failed(error, policy.name, fail_closed=True).model_dump() | {"checked": None}
        return self._blocked(req, FAILED_REPLY[detect_language(text)], suho, headers)

    def _blocked(self, req: ChatRequest, content: str, suho: dict[str, Any], headers: dict[str, str]) -> Response:
        model = req.model or self.svc.model_name
        if req.stream:
            chunks = blocked_stream(req.body, model, content, suho)
            return StreamingResponse(_aiter(chunks), media_type="text/event-stream", headers=headers)
        return JSONResponse(blocked_completion(req.body, model, content, suho), headers=headers)

    # -- the upstream ------------------------------------------------------------------------------------------
    def _upstream_headers(self, request: Request) -> dict[str, str]:
        out = {k: v for k, v in request.headers.items() if k not in _NOT_RELAYED and not k.startswith("x-suho-")}
        out["accept-encoding"] = "identity"  # relayed as it comes, byte for byte
        if self.upstream_key:
            out["authorization"] = f"Bearer {self.upstream_key}"
        elif not self.svc.keys and "authorization" in request.headers:  # no keys of our own: it is the upstream's
            out["authorization"] = request.headers["authorization"]
        return out

    async def _forward(self, request: Request, content: bytes | None, headers: dict[str, str]) -> Response:
        """The request sent on to the upstream (same method and path under its root) and its answer relayed."""
        url = self.root + request.url.path.removeprefix("/v1")
        http = self.http()
        sent = http.build_request(request.method, url, content=content, headers=self._upstream_headers(request))
        try:
            upstream = await http.send(sent, stream=True)
        except httpx.HTTPError as exc:
            raise _upstream_error(exc, "before answering") from exc
        relayed = {k: v for k, v in upstream.headers.items() if k not in _NOT_RELAYED} | headers
        if upstream.headers.get("content-type", "").startswith("text/event-stream"):
            return _Relay(upstream, _relay(upstream), upstream.status_code, relayed)
        try:
            body = await upstream.aread()
        except httpx.HTTPError as exc:
            raise _upstream_error(exc, "while answering") from exc
        finally:
            await upstream.aclose()
        return Response(body, status_code=upstream.status_code, headers=relayed)


def _headers(action: str, category: str | None, policy: str, checked: str | None = None, error: str | None = None):
    """The verdict as response headers; a pack's name is percent-encoded, as header values are latin-1."""
    out = {"x-suho-action": action, "x-suho-policy": quote(policy, safe="")}
    if category:
        out["x-suho-category"] = category
    if checked:
        out["x-suho-checked"] = checked
    if error:
        out["x-suho-error"] = error
    return out


def _upstream_error(exc: httpx.HTTPError, when: str) -> ApiError:
    """502 (unreachable, or broke the connection) or 504 (too slow), in OpenAI's error shape."""
    what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    log.warning("upstream failed %s: %s", when, what)
    if isinstance(exc, httpx.TimeoutException):
        return ApiError(504, f"the upstream timed out {when} ({what})", type_="upstream_error", code="upstream_timeout")
    return ApiError(502, f"the upstream failed {when} ({what})", type_="upstream_error", code="upstream_unreachable")


async def _relay(upstream: httpx.Response):
    """The upstream's bytes as they arrive; a failure mid-answer ends the stream with an SSE error event, which
    OpenAI's clients raise as an APIError (the status line has already gone out)."""
    try:
        async for chunk in upstream.aiter_bytes():
            yield chunk
    except httpx.HTTPError as exc:
        yield sse(_upstream_error(exc, "mid-answer").body())


async def _aiter(items):
    for item in items:
        yield item


def check_cautions(policies: list[Policy]) -> None:
    """Refuse to serve a pack that cautions a category but has no caution_message to say how (names the pack)."""
    for p in policies:
        cautioned = [c for c, r in p.rules.items() if r.action == Action.CAUTION]
        if cautioned and not p.caution_message:
            raise ValueError(
                f"policy {p.name!r} cautions {', '.join(cautioned)} but has no caution_message: the gateway adds that "
                "system message to cautioned requests (see the shipped packs)"
            )


def mount_gateway(app: FastAPI, service, default: Policy | None = None) -> Gateway:
    """Add the gateway's routes to the service's app; `default` is the guard's policy when already known."""
    check_cautions([load_policy(n) for n in available_policies()] + service.extra + ([default] if default else []))
    gateway = Gateway(service)
    errors = {code: {"model": ErrorResponse} for code in (401, 403, 413, 422, 502, 503, 504)}
    app.add_api_route(CHAT, gateway.chat_completions, methods=["POST"], responses=errors, summary="Chat (guarded)")
    app.add_api_route(MODELS, gateway.models, methods=["GET"], responses=errors, summary="Upstream models")
    return gateway
