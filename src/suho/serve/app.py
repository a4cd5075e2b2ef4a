"""The HTTP service: `create_app(guard, settings)` returns a FastAPI app; `suho serve` runs it under uvicorn.

Endpoints: POST /v1/moderations (OpenAI's moderation shape), POST /v1/guard (the full verdict and reply), GET /healthz
(the process is up), /readyz (the model is loaded: 503 before, so a load balancer sends nothing to a loading replica),
/metrics (Prometheus text). Errors use OpenAI's `{"error": {"message", "type", "param", "code"}}` shape and name the
field or the limit that was hit. Query text is never logged unless `log_text` is set.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import time
import uuid
from collections.abc import Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.exceptions import HTTPException

from suho.guard import Guard
from suho.policy import Policy, available_policies, load_policy
from suho.policy.verdict import CheckResult
from suho.serve.batcher import InferenceError, MicroBatcher, NotReady, Overloaded, TooManyWindows
from suho.serve.errors import ApiError
from suho.serve.gateway import GATEWAY_ENDPOINTS, mount_gateway
from suho.serve.keys import client_keys, match_key
from suho.serve.metrics import Metrics
from suho.serve.schemas import (
    ErrorResponse,
    GuardRequest,
    GuardResponse,
    GuardResult,
    ModerationRequest,
    ModerationResponse,
    ModerationResult,
)
from suho.serve.settings import ServeSettings

log = logging.getLogger("suho.serve")

ENDPOINTS = ("/v1/moderations", "/v1/guard", "/healthz", "/readyz", "/metrics", *GATEWAY_ENDPOINTS)


class _Service:
    """What the endpoints share: settings, the batcher (which holds the guard), policies and metrics."""

    def __init__(self, settings: ServeSettings):
        self.settings = settings
        self.extra = [load_policy(p) for p in settings.extra_policies]  # a bad pack fails before the model loads
        self.keys = client_keys(
            settings.api_key, settings.keys_file, set(available_policies()) | {p.name for p in self.extra}
        )
        self.metrics = Metrics(queue_depth=lambda: self.batcher.queued, ready=lambda: float(self.batcher.ready))
        self.batcher = MicroBatcher(
            self.metrics,
            max_batch_size=settings.max_batch_size,
            max_wait_ms=settings.max_wait_ms,
            max_queue=settings.max_queue,
            max_windows=settings.max_windows,
        )
        self.policies: dict[str, Policy] = {}
        self.default_policy: Policy | None = None
        self.load_error: str | None = None

    @property
    def model_name(self) -> str:
        return self.batcher.guard.name if self.batcher.guard else ""

    def set_guard(self, guard: Guard) -> None:
        policies = {name: load_policy(name) for name in available_policies()}
        policies[guard.policy.name] = guard.policy
        policies.update({p.name: p for p in self.extra})  # a loaded pack may replace a shipped one of the same name
        self.policies, self.default_policy = policies, policies[guard.policy.name]
        self.batcher.guard = guard
        log.info(
            "model %s ready (engine %s); policies %s (default %s)",
            guard.name,
            getattr(guard, "engine", "?"),
            ", ".join(policies),
            guard.policy.name,
        )

    async def load(self, loader: Callable[[], Guard]) -> None:
        try:
            guard = await self.batcher.in_model_thread(loader)
        except Exception as exc:
            self.load_error = f"{type(exc).__name__}: {exc}"
            log.error("model load failed: %s", self.load_error)
            return
        self.set_guard(guard)

    def policy(self, name: str | None) -> Policy:
        if name is None:
            if self.default_policy is None:
                raise NotReady("the model is still loading")
            return self.default_policy
        if name not in self.policies:
            close = difflib.get_close_matches(name, list(self.policies), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ApiError(
                422,
                f"policy: unknown policy {name!r}{hint}; this server has {', '.join(self.policies) or 'none yet'}",
                param="policy",
                code="unknown_policy",
            )
        return self.policies[name]

    def check_limits(self, texts: list[str]) -> None:
        s = self.settings
        if len(texts) > s.max_inputs:
            raise ApiError(
                413, f"input has {len(texts)} items; max_inputs is {s.max_inputs}", param="input", code="max_inputs"
            )
        for i, text in enumerate(texts):
            if len(text) > s.max_chars:
                raise ApiError(
                    413,
                    f"input[{i}] has {len(text)} characters; max_chars is {s.max_chars}",
                    param=f"input[{i}]",
                    code="max_chars",
                )

    async def check(
        self, endpoint: str, texts: list[str], policy_name: str | None, force_reply: bool, replies: bool = True
    ) -> tuple[Policy, list[CheckResult] | None, str | None]:
        """(policy, results, None), or (policy, None, error) when fail_mode answers instead of the model. `replies`:
        whether blocked texts get a safeguard reply (an endpoint that does not return one passes False)."""
        self.check_limits(texts)
        t0 = time.perf_counter()
        try:
            policy = self.policy(policy_name)
            results = await asyncio.wait_for(
                self.batcher.check(texts, policy, force_reply=force_reply, replies=replies),
                self.settings.request_timeout_s,
            )
        except NotReady as exc:
            raise ApiError(
                503, str(exc), type_="service_unavailable", code="not_ready", headers={"Retry-After": "5"}
            ) from exc
        except TooManyWindows as exc:
            raise ApiError(413, str(exc), param=exc.param, code="max_windows") from exc
        except Overloaded as exc:
            raise ApiError(
                503, f"server busy: {exc}", type_="service_unavailable", code="max_queue", headers={"Retry-After": "1"}
            ) from exc
        except InferenceError as exc:
            reason, error = "inference_error", f"inference failed ({exc.kind})"
        except asyncio.TimeoutError:
            reason, error = "timeout", f"request_timeout_s ({self.settings.request_timeout_s:g} s) exceeded"
        else:
            self._record(endpoint, policy, texts, results, time.perf_counter() - t0)
            return policy, results, None
        self.metrics.failures.inc(reason, by=len(texts))
        error += f"; answered by fail_mode={self.settings.fail_mode}"
        log.warning("%s: %d inputs: %s", endpoint, len(texts), error)
        return policy, None, error

    def _record(self, endpoint: str, policy: Policy, texts: list[str], results: list[CheckResult], secs: float):
        self.metrics.inputs.inc(endpoint, policy.name, by=len(texts))
        flagged = [r.verdict for r in results if r.verdict.flagged]
        for v in flagged:
            self.metrics.flagged.inc(v.category.value, v.action.value, policy.name)
        summary = ",".join(
            f"{r.verdict.action.value}:{r.verdict.category.value if r.verdict.category else '-'}" for r in results
        )
        text = f" texts={texts!r}" if self.settings.log_text else ""
        log.info(
            "%s policy=%s n=%d flagged=%d %.1f ms [%s]%s",
            *(endpoint, policy.name, len(texts), len(flagged), secs * 1000, summary, text),
        )


class _Gate:
    """ASGI middleware before routing: bearer auth on /v1/*, then the body-size limit, so neither an unauthenticated
    caller nor an oversized body gets its JSON parsed. Outermost, it also records request counts and latencies."""

    def __init__(self, app, service: _Service):
        self.app, self.svc = app, service

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        endpoint = path if path in ENDPOINTS else "other"
        status = [500]

        async def send_status(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        t0 = time.perf_counter()
        try:
            error = self._auth(scope) if path.startswith("/v1/") else None
            if error is None and scope["method"] == "POST":
                error, receive = await self._limit_body(scope, receive)
            if error is not None:
                await error.response()(scope, receive, send_status)
            else:
                await self.app(scope, receive, send_status)
        finally:
            self.svc.metrics.requests.inc(endpoint, str(status[0]))
            self.svc.metrics.latency.observe(time.perf_counter() - t0, endpoint)

    def _auth(self, scope) -> ApiError | None:
        """None when the bearer token is one of the server's keys (recorded as scope["suho.client"]) or the server
        has none."""
        if not self.svc.keys:
            return None
        header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        scheme, _, token = header.partition(" ")
        client = match_key(self.svc.keys, token.strip()) if scheme.lower() == "bearer" else None
        if client is not None:
            scope["suho.client"] = client
            return None
        return ApiError(
            401,
            "missing or wrong bearer token: send 'Authorization: Bearer <SUHO_API_KEY>'",
            type_="authentication_error",
            code="invalid_api_key",
            headers={"WWW-Authenticate": "Bearer"},
        )

    async def _limit_body(self, scope, receive):
        limit = self.svc.settings.max_body_bytes
        too_big = ApiError(
            413,
            f"request body over {limit} bytes (max_body_bytes = max_inputs x max_chars x 12 + 64 KiB)",
            code="max_body_bytes",
        )
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            return (too_big if not length.isdigit() or int(length) > limit else None), receive
        body, more = bytearray(), True  # chunked: read it here, up to the limit, then replay it
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return None, receive
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > limit:
                return too_big, receive
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        return None, replay


def _validation_error(exc: RequestValidationError) -> ApiError:
    """422 naming the field: `input[2]: must be a string`, `force_reply: Input should be a valid boolean`."""
    messages, first_param, first_code = [], None, None
    for err in exc.errors():
        loc = [p for p in err["loc"] if p != "body"]
        if err["type"] == "json_invalid":
            where = loc[0] if loc else "?"
            param, msg = None, f"malformed JSON at character {where}: {err.get('ctx', {}).get('error')}"
        elif not loc:
            param, msg = None, "the body must be a JSON object (send Content-Type: application/json)"
        else:
            param = str(loc[0]) + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc[1:])
            text = {"missing": "required field", "extra_forbidden": "unknown field"}.get(err["type"], err["msg"])
            msg = text if text.startswith(param) else f"{param}: {text}"
        messages.append(msg)
        first_param, first_code = first_param or param, first_code or err["type"]
    return ApiError(422, "; ".join(messages), param=first_param, code=first_code)


async def _on_api_error(request, exc: ApiError) -> JSONResponse:
    return exc.response()


async def _on_validation_error(request, exc: RequestValidationError) -> JSONResponse:
    return _validation_error(exc).response()


async def _on_http_error(request, exc: HTTPException) -> JSONResponse:  # 400, 404, 405 in the same error shape
    detail = str(exc.detail)
    if exc.status_code == 400 and detail == "There was an error parsing the body":  # FastAPI's words for bad bytes
        detail = "request body is not valid JSON in UTF-8 (invalid bytes, or nested too deeply)"
    return ApiError(exc.status_code, detail, code=str(exc.status_code), headers=exc.headers).response()


def create_app(guard: Guard | Callable[[], Guard], settings: ServeSettings | None = None) -> FastAPI:
    """The service around a loaded `guard`, or around a loader run in the model thread at startup (readyz is 503
    until it returns; healthz turns 503 if it raises, so an orchestrator restarts the replica)."""
    settings = settings or ServeSettings()
    svc = _Service(settings)
    gateway = None

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        svc.batcher.start()
        loading = None
        if isinstance(guard, Guard):
            svc.set_guard(guard)
        else:
            loading = asyncio.get_running_loop().create_task(svc.load(guard))
        try:
            yield
        finally:  # uvicorn has already let in-flight requests finish (graceful shutdown)
            if loading is not None:
                loading.cancel()
            if gateway is not None:
                await gateway.aclose()
            await svc.batcher.close()

    app = FastAPI(title="suho", summary="Korean-first safety guard for LLM services", lifespan=lifespan)
    app.state.service = svc
    app.add_middleware(_Gate, service=svc)
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(HTTPException, _on_http_error)
    errors = {code: {"model": ErrorResponse} for code in (401, 413, 422, 503)}
    fail_closed = settings.fail_mode == "closed"

    @app.post("/v1/moderations", response_model=ModerationResponse, responses=errors)
    async def moderations(req: ModerationRequest) -> ModerationResponse:
        """OpenAI-compatible moderation; `flagged` follows the policy, `suho` carries our own verdict."""
        policy, results, error = await svc.check("/v1/moderations", req.input, req.policy, False, replies=False)
        if error is not None:
            out = [ModerationResult.failed(error, policy.name, fail_closed) for _ in req.input]
        else:
            out = [ModerationResult.from_verdict(r.verdict) for r in results]
        return ModerationResponse(id=f"modr-{uuid.uuid4().hex}", model=svc.model_name, results=out)

    @app.post("/v1/guard", response_model=GuardResponse, responses=errors)
    async def guard_check(req: GuardRequest) -> GuardResponse:
        """The full verdict per text, and the safeguard reply where the policy blocks (or with force_reply)."""
        policy, results, error = await svc.check("/v1/guard", req.input, req.policy, force_reply=req.force_reply)
        if error is not None:
            out = [GuardResult.failed(error, policy.name, fail_closed) for _ in req.input]
        else:
            out = [GuardResult.from_check(r) for r in results]
        return GuardResponse(model=svc.model_name, results=out)

    @app.get("/healthz")
    async def healthz():
        if svc.load_error:
            return JSONResponse({"status": "failed", "error": svc.load_error}, status_code=503)
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz():
        if not svc.batcher.ready:
            status = f"model load failed: {svc.load_error}" if svc.load_error else "loading"
            return JSONResponse({"status": status}, status_code=503)
        return {
            "status": "ready",
            "model": svc.model_name,
            "default_policy": svc.default_policy.name,
            "policies": sorted(svc.policies),
            "settings": settings.public(),
        }

    @app.get("/metrics", response_class=PlainTextResponse)
    async def metrics():
        return PlainTextResponse(svc.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    if settings.upstream:
        gateway = mount_gateway(app, svc, guard.policy if isinstance(guard, Guard) else None)
    return app
