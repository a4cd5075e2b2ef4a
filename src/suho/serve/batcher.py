"""Micro-batching: concurrent requests share forward passes, and only one thread ever touches the model.

Each request becomes a job on a queue owned by the event loop. One collector coroutine takes the oldest job, keeps
taking more for up to `max_wait_ms` or until `max_batch_size` texts, and runs `guard.detect` on all of them in the
single model thread; while that forward runs, new requests pile up and form the next batch, so under load batches fill
by themselves and the wait only costs latency when the server is idle.

Requests may ask for different policies. `decide()` reads nothing but the per-category scores P(unsafe)·P(c|unsafe),
which every Verdict carries, so one forward pass under the guard's own policy serves them all and each job's verdicts
are re-decided under its policy (`Verdict.under`). Replies follow `Guard.check`: generated only where the policy
blocks or the request forces them, one at a time in the model thread, alternating with detection batches — a burst of
blocked queries delays detection by at most one generation, and steady detection traffic cannot starve the replies.

A job whose texts need more than `max_batch_size` detection windows (long texts are read one window per sentence) is
screened first (`max_windows`), then detected in steps of `max_batch_size` windows that take turns with the batches
and replies (`Guard.detect_steps`), so one long text delays other requests by one step, not by all of its windows.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from suho.guard import Guard
from suho.model.format import WINDOW_TOKENS
from suho.model.windows import MAX_WINDOWS
from suho.policy import Action, Policy
from suho.policy.verdict import CheckResult
from suho.serve.metrics import Metrics

log = logging.getLogger("suho.serve")


class InferenceError(RuntimeError):
    """The model raised on a job; the app answers it with the configured fail_mode."""

    def __init__(self, cause: BaseException):
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.kind = type(cause).__name__


class TooManyWindows(RuntimeError):
    """A request's texts need more detection windows than the guard reads per text or the server allows per request;
    refused before any forward pass (the app answers 413, never fail_mode)."""

    def __init__(self, message: str, param: str):
        super().__init__(message)
        self.param = param


def screen_windows(counts: list[int], max_windows: int) -> TooManyWindows | None:
    """Why a request whose texts need `counts` detection windows is refused, or None when it is not."""
    worst = max(range(len(counts)), key=counts.__getitem__)
    if counts[worst] > min(MAX_WINDOWS, max_windows):
        over = MAX_WINDOWS < counts[worst]
        limit = f"the guard reads at most {MAX_WINDOWS} per text" if over else f"max_windows is {max_windows}"
        return TooManyWindows(
            f"input[{worst}] needs {counts[worst]} detection windows (one per sentence of a text over {WINDOW_TOKENS} "
            f"tokens); {limit}: split it (e.g. per message)",
            f"input[{worst}]",
        )
    if sum(counts) > max_windows:
        return TooManyWindows(
            f"input needs {sum(counts)} detection windows in all (input[{worst}] {counts[worst]}; one per sentence of "
            f"a text over {WINDOW_TOKENS} tokens, else one per text); max_windows is {max_windows}: spread the texts "
            "over requests",
            "input",
        )
    return None


class Overloaded(RuntimeError):
    """More texts queued than max_queue; the app answers 503 so a load balancer tries another replica."""


class NotReady(RuntimeError):
    """The model is not loaded yet, or the service is shutting down."""


@dataclasses.dataclass(eq=False)
class _Job:
    texts: list[str]
    policy: Policy
    force_reply: bool
    replies: bool
    future: asyncio.Future
    results: list[CheckResult] = dataclasses.field(default_factory=list)
    replies_left: int = 0


class MicroBatcher:
    def __init__(
        self,
        metrics: Metrics,
        *,
        max_batch_size: int = 32,
        max_wait_ms: float = 5.0,
        max_queue: int = 1024,
        max_windows: int = 512,
    ):
        self.guard: Guard | None = None  # set once loaded; until then `check` raises NotReady
        self.metrics = metrics
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_ms / 1000
        self.max_queue = max_queue
        self.max_windows = max_windows
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="suho-model")
        self._jobs: deque[_Job] = deque()
        self._replies: deque[tuple[_Job, int]] = deque()
        # jobs over max_batch_size detection windows, each with its detection advanced one step per round
        self._long: deque[tuple[_Job, Iterator]] = deque()
        self._inflight: list[_Job] = []
        self._queued = 0  # texts in self._jobs
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._wakeup = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="suho-batcher")

    @property
    def ready(self) -> bool:
        return self.guard is not None and self._task is not None and not self._task.done()

    @property
    def queued(self) -> int:
        return self._queued

    async def in_model_thread(self, fn, *args: Any) -> Any:
        """Run `fn` in the one thread that owns the model (also used to load it)."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def close(self) -> None:
        """Stop the collector; jobs still queued or running get NotReady. The server drains requests before this."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        pending = list(self._jobs) + self._inflight + [job for job, _ in self._replies] + [j for j, _ in self._long]
        for job in pending:
            self._fail(job, NotReady("the service is shutting down"))
        self._jobs.clear()
        self._replies.clear()
        self._long.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)
        # Let a model call that is still running finish (bounded), so nothing else touches the model meanwhile.
        done = asyncio.get_running_loop().run_in_executor(None, self._pool.shutdown)
        await asyncio.wait([done], timeout=30)

    # -- the request side --------------------------------------------------------------------------------------
    async def check(
        self, texts: list[str], policy: Policy, *, force_reply: bool = False, replies: bool = True
    ) -> list[CheckResult]:
        """`Guard.check(texts, policy=policy, force_reply=...)`, batched with whatever else is waiting; `replies=False`
        is `guard.detect` (no reply is generated, for callers that would not return it). Raises TooManyWindows when
        the texts need more detection windows than allowed (see `screen_windows`)."""
        if not self.ready:
            raise NotReady("the model is still loading" if self.guard is None else "the worker is not running")
        if self._queued and self._queued + len(texts) > self.max_queue:
            raise Overloaded(f"{self._queued} texts already queued; max_queue is {self.max_queue}")
        job = _Job(list(texts), policy, force_reply, replies, asyncio.get_running_loop().create_future())
        self._jobs.append(job)
        self._queued += len(job.texts)
        self._wakeup.set()
        return await job.future  # cancelled by the caller's timeout: the collector then skips the job

    # -- the model side ----------------------------------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            try:
                if self._replies:
                    await self._reply(*self._replies.popleft())
                if self._long:
                    await self._long_step()
                if self._jobs or not (self._replies or self._long):
                    batch = await self._collect()  # waits for a job when there is nothing else to do
                    batch = await self._screen(batch) if batch else batch
                    if batch:
                        await self._detect(batch)
            except Exception as exc:  # a bug here must not stop the service: fail what was in flight, go on
                log.exception("batcher error")
                for job in self._inflight:
                    self._fail(job, exc)
            finally:
                self._inflight = []

    async def _wait_for_job(self, timeout: float | None) -> bool:
        while not self._jobs:
            self._wakeup.clear()
            if timeout is None:
                await self._wakeup.wait()
                continue
            if timeout <= 0:
                return False
            try:
                await asyncio.wait_for(self._wakeup.wait(), timeout)
            except asyncio.TimeoutError:
                return bool(self._jobs)
        return True

    async def _collect(self) -> list[_Job]:
        await self._wait_for_job(None)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait_s
        batch: list[_Job] = []
        size = 0
        while size < self.max_batch_size:
            if not self._jobs and not await self._wait_for_job(deadline - loop.time()):
                break
            job = self._jobs[0]
            if batch and size + len(job.texts) > self.max_batch_size:
                break  # it starts the next batch
            self._jobs.popleft()
            self._queued -= len(job.texts)
            if job.future.done():
                continue  # timed out or cancelled while queued: skip the work
            batch.append(job)
            size += len(job.texts)
        self._inflight = batch
        return batch

    async def _screen(self, batch: list[_Job]) -> list[_Job]:
        """The jobs of `batch` the model may read: one that needs too many detection windows is refused here, before
        a forward pass, so it cannot fail or stall its neighbours (counting costs one tokenization per text)."""
        counts = await self.in_model_thread(lambda: [[self.guard.windows_needed(t) for t in j.texts] for j in batch])
        kept = []
        for job, n in zip(batch, counts, strict=True):
            refused = screen_windows(n, self.max_windows)
            if refused is not None:
                if not job.future.done():
                    job.future.set_exception(refused)
            elif sum(n) > self.max_batch_size:  # a long job takes turns instead of holding the model for all of it
                steps = self.guard.detect_steps(job.texts, job.policy, windows_per_step=self.max_batch_size)
                self._long.append((job, steps))
            else:
                kept.append(job)
        return kept

    async def _long_step(self) -> None:
        """One step (max_batch_size windows) of the oldest long job, then it goes to the back of the line: short
        batches and replies run between its steps, so a long text delays them by one step, not by all of it."""
        job, steps = self._long.popleft()
        if job.future.done():
            return  # timed out or cancelled: drop the rest of its work
        self._inflight = [job]
        try:
            verdicts = await self.in_model_thread(next, steps)
        except Exception as exc:
            log.error("inference failed on a long job of %d: %s: %s", len(job.texts), type(exc).__name__, exc)
            self._fail(job, exc)
            return
        if verdicts is None:
            self._long.append((job, steps))
            return
        self._finish(job, verdicts)

    async def _detect(self, batch: list[_Job]) -> None:
        texts = [t for job in batch for t in job.texts]
        self.metrics.batch_size.observe(len(texts))
        t0 = time.perf_counter()
        try:
            verdicts = await self.in_model_thread(self.guard.detect, texts)
        except Exception as exc:
            if len(batch) > 1:  # isolate the failure: one bad job must not fail its neighbours
                for job in batch:
                    await self._detect([job])
                return
            log.error("inference failed on a batch of %d: %s: %s", len(texts), type(exc).__name__, exc)
            self._fail(batch[0], exc)
            return
        self.metrics.inference.observe(time.perf_counter() - t0)
        start = 0
        for job in batch:
            mine = verdicts[start : start + len(job.texts)]
            start += len(job.texts)
            if job.policy != self.guard.policy:
                mine = [v.under(job.policy, text) for v, text in zip(mine, job.texts, strict=True)]
            self._finish(job, mine)

    def _finish(self, job: _Job, verdicts: list) -> None:
        """A job's verdicts (under its own policy) are in: answer it, or queue the replies its policy needs."""
        if job.future.done():
            return
        job.results = [CheckResult(v) for v in verdicts]
        need = [
            i
            for i, r in enumerate(job.results)
            if job.replies and (job.force_reply or r.verdict.action == Action.BLOCK)
        ]
        if need:
            job.replies_left = len(need)
            self._replies.extend((job, i) for i in need)
        else:
            job.future.set_result(job.results)

    async def _reply(self, job: _Job, i: int) -> None:
        if job.future.done():
            return
        self._inflight = [job]
        text, verdict = job.texts[i], job.results[i].verdict
        respond = partial(self.guard.respond, text, verdict, policy=job.policy)
        try:
            reply = await self.in_model_thread(respond)
        except Exception as exc:
            log.error("reply generation failed: %s: %s", type(exc).__name__, exc)
            self._fail(job, exc)
            return
        self.metrics.replies.inc()
        job.results[i] = CheckResult(verdict, reply)
        job.replies_left -= 1
        if job.replies_left == 0 and not job.future.done():
            job.future.set_result(job.results)

    @staticmethod
    def _fail(job: _Job, exc: BaseException) -> None:
        if job.future.done():
            return
        err = exc if isinstance(exc, NotReady) else InferenceError(exc)
        job.future.set_exception(err)
