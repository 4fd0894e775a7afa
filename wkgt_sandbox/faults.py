"""Fault injection: added latency, forced status codes, dropped connections, failing the next N requests."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass


@dataclass
class FaultRule:
    """A fault applied to requests whose path matches `path_regex` (re.search) and `method`."""

    path_regex: str
    method: str | None = None
    latency: float = 0.0
    status: int | None = None
    drop: bool = False
    times: int | None = None
    """How many requests the rule applies to; None = unlimited."""
    after: bool = False
    """Apply latency/drop after the request was handled: the server did the work, the answer is late or lost."""
    redirect_to: str | None = None
    """Answer 307 with `Location: <redirect_to><path>?<query>` (e.g. another sandbox's URL)."""
    skip: int = 0
    """How many matching requests pass untouched before the rule applies (e.g. fail only the second upload)."""
    hits: int = 0
    html: str | None = None
    """Answer with this HTML page (`status`, default 200) instead: a proxy's login or maintenance page."""

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method) and re.search(self.path_regex, path) is not None


@dataclass(frozen=True)
class Fault:
    """The combined effect of all rules matching one request."""

    latency: float = 0.0
    status: int | None = None
    drop: bool = False
    after: bool = False
    redirect_to: str | None = None
    html: str | None = None


class Faults:
    """The fault rules of a sandbox; thread-safe, changeable while the server runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(
        self,
        path_regex: str,
        method: str | None = None,
        latency: float = 0.0,
        status: int | None = None,
        drop: bool = False,
        times: int | None = None,
        after: bool = False,
        redirect_to: str | None = None,
        skip: int = 0,
        html: str | None = None,
    ) -> FaultRule:
        """Add a rule; latency is added before the request is handled (or the drop / forced
        status / redirect), or with ``after=True`` once it was handled, before the answer goes out.
        The first ``skip`` matching requests pass untouched; ``html`` answers that page instead
        (with ``status``, default 200), as a proxy in front of a server may."""
        rule = FaultRule(path_regex, method, latency, status, drop, times, after=after, redirect_to=redirect_to, skip=skip, html=html)
        with self._lock:
            self._rules.append(rule)
        return rule

    def fail_next(self, n: int, status: int = 503) -> FaultRule:
        """Answer the next `n` requests (any path) with `status`."""
        return self.add(".*", status=status, times=n)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def take(self, method: str, path: str) -> Fault:
        """Consume one use of every matching rule and return their combined fault."""
        latency, status, drop, after, redirect_to, html = 0.0, None, False, False, None, None
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method, path):
                    continue
                rule.hits += 1
                if rule.hits <= rule.skip:
                    continue
                latency += rule.latency
                status = rule.status if rule.status is not None else status
                drop = drop or rule.drop
                after = after or rule.after
                redirect_to = rule.redirect_to or redirect_to
                html = rule.html if rule.html is not None else html
            self._rules = [r for r in self._rules if r.times is None or r.hits < r.skip + r.times]
        return Fault(latency, status, drop, after, redirect_to, html)
