"""Fault injection knobs: what a real deployment (Tomcat behind nginx) does to a client.

Each knob is one-shot or counted, so a test says exactly which request misbehaves and can then
check that the client ends in a verified upload or a clear failure.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class _Rule:
    path: str | None
    remaining: int
    status: int = 0
    nbytes: int = 0
    method: str | None = None
    countdown: int = 1

    def matches(self, method: str, path: str) -> bool:
        return ((self.path is None or self.path in path)
                and (self.method is None or self.method == method))


@dataclass
class Faults:
    """Mutable knobs; all access goes through the lock because handler threads read them."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    fail_rules: list[_Rule] = field(default_factory=list)
    drop_rules: list[_Rule] = field(default_factory=list)
    gateway_rules: list[_Rule] = field(default_factory=list)
    delay_seconds: float = 0.0
    delay_path: str | None = None
    body_limit: int | None = None
    #: Seconds a commit spends archiving (the prearchive row shows ``ARCHIVING`` meanwhile).
    archive_delay: float = 0.0
    #: nginx ``proxy_read_timeout``: a commit taking longer is answered 504 at this point while
    #: the server finishes archiving in the background.
    proxy_timeout: float | None = None
    #: A front end answering every request with a redirect: ``(target, status, keep_path)``.
    redirect: tuple[str, int, bool] | None = None
    #: A proxy that refuses chunked request bodies with 411 Length Required.
    refuse_chunked: bool = False
    #: Seconds the importer spends on each stored file (a slow server, a big unit).
    import_file_delay: float = 0.0
    #: Tomcat's ``maxSwallowSize``: after an error answer, at most this many body bytes are
    #: read before the connection is closed under the client (None = read the whole body).
    swallow_limit: int | None = None

    def fail_nth_request(self, n: int, status: int = 500, path: str | None = None,
                         method: str | None = None) -> None:
        """The n-th request from now (1-based) matching ``path``/``method`` answers ``status``
        without being processed (a proxy or a crashed handler)."""
        with self.lock:
            self.fail_rules.append(_Rule(path, 1, status=status, method=method, countdown=n))

    def drop_connection_after(self, nbytes: int, path: str | None = "/services/import",
                              times: int = 1) -> None:
        """Close the socket after ``nbytes`` of a matching request body were read."""
        with self.lock:
            self.drop_rules.append(_Rule(path, times, nbytes=nbytes))

    def gateway_timeout_after_body(self, path: str | None = "/services/import", times: int = 1,
                                   method: str | None = "POST") -> None:
        """Process the matching request completely, then answer 504 like nginx after
        ``proxy_read_timeout`` (the server carried on: the work is done)."""
        with self.lock:
            self.gateway_rules.append(_Rule(path, times, status=504, method=method))

    def slow(self, seconds: float, path: str | None = None) -> None:
        """Delay every matching response by ``seconds`` (0 switches it off)."""
        with self.lock:
            self.delay_seconds = seconds
            self.delay_path = path

    def redirect_all(self, target: str, status: int = 301, keep_path: bool = True) -> None:
        """Answer every request with ``status`` to ``target`` (+ the request's path and query
        when ``keep_path``): an http→https front end, a moved site, or a single sign-on page."""
        with self.lock:
            self.redirect = (target.rstrip("/") if keep_path else target, status, keep_path)

    def clear(self) -> None:
        with self.lock:
            self.fail_rules.clear()
            self.drop_rules.clear()
            self.gateway_rules.clear()
            self.delay_seconds = 0.0
            self.delay_path = None
            self.body_limit = None
            self.archive_delay = 0.0
            self.proxy_timeout = None
            self.redirect = None
            self.refuse_chunked = False
            self.import_file_delay = 0.0
            self.swallow_limit = None

    # -- used by the handler -------------------------------------------------------------------
    def take_failure(self, method: str, path: str) -> int | None:
        with self.lock:
            for rule in self.fail_rules:
                if rule.matches(method, path):
                    rule.countdown -= 1
                    if rule.countdown == 0:
                        self.fail_rules.remove(rule)
                        return rule.status
            return None

    def take_drop(self, path: str) -> int | None:
        return self._take(self.drop_rules, "POST", path, "nbytes")

    def take_gateway(self, method: str, path: str) -> int | None:
        return self._take(self.gateway_rules, method, path, "status")

    def _take(self, rules: list[_Rule], method: str, path: str, attr: str) -> int | None:
        with self.lock:
            for rule in rules:
                if rule.matches(method, path):
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        rules.remove(rule)
                    return int(getattr(rule, attr))
            return None

    def delay_for(self, path: str) -> float:
        with self.lock:
            if self.delay_seconds and (self.delay_path is None or self.delay_path in path):
                return self.delay_seconds
            return 0.0
