"""Spread chat requests over several servers of one model, and stop sending to a server that fails.

One vLLM or llama.cpp server is one GPU (or a few CPU cores); a job of many thousand prompts ends
about N times sooner on N replicas. Each request goes to the healthy server with the fewest
requests in flight (least outstanding; ties go to the one sent least), so a slow server gets less
work without being timed, and each server keeps its own concurrency limit.

A server that fails ``unhealthy_after`` times in a row (connection refused, timeout, 5xx) is
marked unhealthy: it gets nothing for a back-off period that doubles each time it is marked again
(capped), then one probe request; an answer makes it healthy again. When every server is marked,
a request fails at once with each server's state and last error instead of waiting. With a single
server nothing is marked: there is nowhere else to send, and the per-request retries with back-off
decide alone.

:class:`SingleFlight` makes identical requests share one call, so a prompt asked twice at once
(two runs of one process, or a duplicate in one batch) is still sent, and paid for, once.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

from kg_store.errors import ConfigError, LLMUnavailableError

T = TypeVar("T")


class Outcome(Enum):
    """How an attempt on a server ended, for its health."""

    OK = "ok"  # it answered
    FAILED = "failed"  # connection error, timeout, 5xx: counts towards marking it unhealthy
    NEUTRAL = "neutral"  # it is up but refused this request (429, 4xx): no bearing on health


@dataclass
class Endpoint:
    """One server's live state; read it through :meth:`EndpointPool.snapshot`."""

    url: str
    outstanding: int = 0  # requests in flight
    sent: int = 0  # requests given to it
    answered: int = 0
    failures: int = 0  # consecutive failed attempts
    marks: int = 0  # times marked unhealthy in a row (0: healthy)
    unhealthy_until: float = 0.0  # clock time of the next probe while marked
    probing: bool = False
    last_error: str = ""


class NoHealthyEndpointError(LLMUnavailableError):
    """Every server is marked unhealthy; the message names each one, its state and its last error."""


class EndpointPool:
    """Picks a server per attempt (:meth:`acquire`) and learns from the outcome (:meth:`release`)."""

    def __init__(self, urls: Sequence[str], max_concurrency: int, *, unhealthy_after: int = 3,
                 backoff_seconds: float = 5.0, backoff_max_seconds: float = 300.0,
                 clock: Callable[[], float] = time.monotonic):
        if not urls or max_concurrency < 1 or unhealthy_after < 1 or backoff_seconds < 0:
            raise ConfigError("An endpoint pool needs at least one URL, max_concurrency >= 1, "
                              "unhealthy_after >= 1 and backoff_seconds >= 0.")
        self.endpoints = [Endpoint(url) for url in urls]
        self.max_concurrency = max_concurrency
        self.unhealthy_after = unhealthy_after
        self.backoff_seconds = backoff_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self._clock = clock
        self._marking = len(self.endpoints) > 1
        self._changed = threading.Condition()

    def acquire(self, avoid: Collection[str] = ()) -> Endpoint:
        """A server with a free slot, preferring those not in ``avoid`` (where this request failed).

        Waits while every usable server is busy; raises NoHealthyEndpointError when none is usable.
        """
        with self._changed:
            while True:
                now = self._clock()
                usable = [e for e in self.endpoints if self._usable(e, now)]
                if not usable:
                    raise NoHealthyEndpointError(f"No LLM endpoint is healthy: {self.describe()}.")
                preferred = [e for e in usable if e.url not in avoid] or usable
                free = [e for e in preferred if e.marks or e.outstanding < self.max_concurrency]
                if free:
                    return self._take(min(free, key=lambda e: (e.outstanding, e.sent)))
                self._changed.wait(timeout=self._until_next_probe(now))

    def release(self, endpoint: Endpoint, outcome: Outcome, error: str = "") -> None:
        """Record how an attempt ended; a failed probe, or the n-th failure in a row, marks the server."""
        with self._changed:
            endpoint.outstanding -= 1
            probe, endpoint.probing = endpoint.probing, False
            if outcome is Outcome.OK or (outcome is Outcome.NEUTRAL and probe):
                endpoint.failures = endpoint.marks = 0
                endpoint.answered += outcome is Outcome.OK
            elif outcome is Outcome.FAILED:
                endpoint.failures += 1
                endpoint.last_error = error
                if self._marking and (probe or (not endpoint.marks and endpoint.failures >= self.unhealthy_after)):
                    endpoint.marks += 1
                    wait = min(self.backoff_max_seconds, self.backoff_seconds * 2 ** (endpoint.marks - 1))
                    endpoint.unhealthy_until = self._clock() + wait
            self._changed.notify_all()

    def has_alternative(self, avoid: Collection[str]) -> bool:
        """Whether a server outside ``avoid`` could take a request now (then a retry need not wait)."""
        with self._changed:
            now = self._clock()
            return any(self._usable(e, now) for e in self.endpoints if e.url not in avoid)

    def describe(self) -> str:
        """Each server with its state and last error, for messages."""
        now = self._clock()
        return "; ".join(f"{e.url} ({self._state(e, now)})" for e in self.endpoints)

    def snapshot(self) -> list[dict[str, Any]]:
        """Per server: url, healthy, outstanding, sent, answered, failures in a row, last error."""
        with self._changed:
            return [{"url": e.url, "healthy": not e.marks, "outstanding": e.outstanding, "sent": e.sent,
                     "answered": e.answered, "failures": e.failures, "last_error": e.last_error}
                    for e in self.endpoints]

    def _usable(self, endpoint: Endpoint, now: float) -> bool:
        """Healthy, or marked with its back-off over and no probe in flight."""
        return not endpoint.marks or (now >= endpoint.unhealthy_until and not endpoint.probing)

    def _take(self, endpoint: Endpoint) -> Endpoint:
        endpoint.probing = bool(endpoint.marks)
        endpoint.outstanding += 1
        endpoint.sent += 1
        return endpoint

    def _until_next_probe(self, now: float) -> float | None:
        waits = [e.unhealthy_until - now for e in self.endpoints if e.marks and e.unhealthy_until > now]
        return max(0.01, min(waits)) if waits else None

    def _state(self, endpoint: Endpoint, now: float) -> str:
        last = f", last: {endpoint.last_error}" if endpoint.last_error else ""
        if not endpoint.marks:
            return f"healthy{last}"
        left = endpoint.unhealthy_until - now
        probe = "probe in flight" if endpoint.probing else (f"next probe in {left:.1f} s" if left > 0 else "probe due")
        return f"unhealthy, {endpoint.failures} failures in a row, {probe}{last}"


class SingleFlight:
    """Runs ``work`` once per key: callers that arrive while it runs, or shortly after, get its result.

    The last ``remember`` results are kept, so a caller that looked the cache up before another
    caller's answer was stored still does not send the prompt again (runs of one process share it).
    """

    def __init__(self, remember: int = 4096) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, Future[Any]] = {}
        self._done: OrderedDict[str, Any] = OrderedDict()
        self._remember = remember

    def run(self, key: str, work: Callable[[], T]) -> T:
        with self._lock:
            if key in self._done:
                self._done.move_to_end(key)
                return self._done[key]
            running = self._running.get(key)
            leader = running is None
            if leader:
                running = self._running[key] = Future()
        if not leader:
            return running.result()
        try:
            result = work()
        except BaseException as exc:
            running.set_exception(exc)
            raise
        else:
            running.set_result(result)
            with self._lock:
                self._done[key] = result
                while len(self._done) > self._remember:
                    self._done.popitem(last=False)
            return result
        finally:
            with self._lock:
                del self._running[key]
