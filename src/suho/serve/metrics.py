"""Prometheus metrics in the text exposition format (0.0.4), written by hand: three small types, no dependency.

Flagged *rate* per category is a query over two counters, which stay correct across restarts and replicas:
`sum by (category) (rate(suho_flagged_total[5m])) / scalar(sum(rate(suho_inputs_total[5m])))`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(names: Iterable[str], values: Iterable[str], extra: str = "") -> str:
    parts = [f'{n}="{_escape(str(v))}"' for n, v in zip(names, values)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _num(x: float) -> str:
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    return repr(float(x)) if not float(x).is_integer() else str(int(x))


class _Metric:
    kind = ""

    def __init__(self, name: str, help_: str, labels: tuple[str, ...] = ()):
        self.name, self.help, self.label_names = name, help_, labels
        self._lock = threading.Lock()

    def _key(self, labels: tuple[str, ...]) -> tuple[str, ...]:
        if len(labels) != len(self.label_names):
            raise ValueError(f"{self.name} takes labels {self.label_names}, got {labels}")
        return tuple(str(v) for v in labels)

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]


class Counter(_Metric):
    kind = "counter"

    def __init__(self, name: str, help_: str, labels: tuple[str, ...] = ()):
        super().__init__(name, help_, labels)
        self._values: dict[tuple[str, ...], float] = {}

    def inc(self, *labels: str, by: float = 1.0) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + by

    def value(self, *labels: str) -> float:
        return self._values.get(self._key(labels), 0.0)

    def render(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        return self.header() + [f"{self.name}{_labels(self.label_names, k)} {_num(v)}" for k, v in items]


class Gauge(_Metric):
    """A value read at scrape time from a callback (queue depth, readiness)."""

    kind = "gauge"

    def __init__(self, name: str, help_: str, read: Callable[[], float]):
        super().__init__(name, help_)
        self.read = read

    def render(self) -> list[str]:
        return self.header() + [f"{self.name} {_num(self.read())}"]


class Histogram(_Metric):
    kind = "histogram"

    def __init__(self, name: str, help_: str, buckets: tuple[float, ...], labels: tuple[str, ...] = ()):
        super().__init__(name, help_, labels)
        self.buckets = tuple(sorted(buckets)) + (math.inf,)
        self._series: dict[tuple[str, ...], tuple[list[int], list[float]]] = {}  # key -> (bucket counts, [sum])

    def observe(self, value: float, *labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            counts, total = self._series.setdefault(key, ([0] * len(self.buckets), [0.0]))
            for i, upper in enumerate(self.buckets):
                if value <= upper:
                    counts[i] += 1
            total[0] += value

    def render(self) -> list[str]:
        with self._lock:
            items = sorted((k, (list(c), s[0])) for k, (c, s) in self._series.items())
        lines = self.header()
        for key, (counts, total) in items:
            for upper, n in zip(self.buckets, counts):
                le = 'le="' + _num(upper) + '"'
                lines.append(f"{self.name}_bucket{_labels(self.label_names, key, le)} {n}")
            lines.append(f"{self.name}_sum{_labels(self.label_names, key)} {_num(total)}")
            lines.append(f"{self.name}_count{_labels(self.label_names, key)} {counts[-1]}")
        return lines


class Metrics:
    """Everything the service exports. Updated from the event loop and the model thread; each metric locks itself."""

    def __init__(self, queue_depth: Callable[[], float] = lambda: 0, ready: Callable[[], float] = lambda: 0):
        self.requests = Counter(
            "suho_requests_total", "HTTP requests by endpoint and status code.", ("endpoint", "status")
        )
        self.latency = Histogram(
            "suho_request_duration_seconds", "HTTP request latency by endpoint.", LATENCY_BUCKETS, ("endpoint",)
        )
        self.batch_size = Histogram("suho_batch_size", "Texts per detection forward pass (micro-batch).", BATCH_BUCKETS)
        self.inference = Histogram(
            "suho_inference_duration_seconds", "Model-thread time per detection micro-batch.", LATENCY_BUCKETS
        )
        self.inputs = Counter("suho_inputs_total", "Texts checked, by endpoint and policy.", ("endpoint", "policy"))
        self.flagged = Counter(
            "suho_flagged_total",
            "Texts flagged (block or caution), by category, action and policy.",
            ("category", "action", "policy"),
        )
        self.replies = Counter("suho_replies_total", "Safeguard replies generated.")
        self.failures = Counter(
            "suho_failed_inputs_total", "Texts answered by fail_mode instead of the model, by reason.", ("reason",)
        )
        self.queue_depth = Gauge("suho_queue_depth", "Texts waiting for the model thread.", queue_depth)
        self.ready = Gauge("suho_ready", "1 when the model is loaded and the worker runs.", ready)
        self._all = [
            self.requests,
            self.latency,
            self.batch_size,
            self.inference,
            self.inputs,
            self.flagged,
            self.replies,
            self.failures,
            self.queue_depth,
            self.ready,
        ]

    def render(self) -> str:
        return "\n".join(line for m in self._all for line in m.render()) + "\n"
