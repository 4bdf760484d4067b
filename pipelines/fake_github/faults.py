"""Failure modes the fake GitHub API can inject, chosen by request number.

Faults key off the server's API request counter (1, 2, 3, …) rather than
randomness. A value of 0 turns a mode off. Concurrent clients interleave their
requests, so a URL's retries could land on failing numbers again and again;
:class:`FaultStreaks` caps how often one URL fails in a row, as a real outage
ends, so a client with enough retries always gets through.
"""

from __future__ import annotations

import argparse
import threading
from dataclasses import dataclass


@dataclass
class Faults:
    """Which faults to inject; the server reads this on every request."""

    error_every: int = 0  # request n with n % error_every < error_burst (n >= error_every) fails
    error_burst: int = 1
    error_status: int = 502  # 502 or 503
    slow_every: int = 0  # every Nth request waits slow_s more
    slow_s: float = 0.5
    drop_every: int = 0  # every Nth request: socket closed without an answer
    secondary_every: int = 0  # every Nth request: secondary rate limit
    secondary_status: int = 403  # 403 or 429
    retry_after_s: int = 1
    primary_exhaust_after: int = 0  # after N requests the primary limit is used up …
    primary_reset_s: int = 2  # … until this many seconds later
    insert_during_pagination: bool = False  # a new run appears after page 1 of a runs list

    def error_due(self, n: int) -> bool:
        every = self.error_every
        return every > 0 and n >= every and n % every < self.error_burst

    def slow_due(self, n: int) -> bool:
        return self.slow_every > 0 and n % self.slow_every == 0

    def drop_due(self, n: int) -> bool:
        return self.drop_every > 0 and n % self.drop_every == 0

    def secondary_due(self, n: int) -> bool:
        return self.secondary_every > 0 and n % self.secondary_every == 0


class FaultStreaks:
    """Consecutive injected failures (errors or drops) per URL, capped."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._streaks: dict[str, int] = {}

    def fail(self, url: str, due: bool, limit: int) -> bool:
        """True when a fault is due and the URL has failed fewer than ``limit`` times in a row."""
        with self._lock:
            n = self._streaks.get(url, 0)
            if due and n < limit:
                self._streaks[url] = n + 1
                return True
            self._streaks.pop(url, None)
            return False


def add_fault_arguments(parser: argparse.ArgumentParser) -> None:
    """The CLI flags that fill :class:`Faults`."""
    g = parser.add_argument_group("faults (0 = off)")
    g.add_argument("--error-every", type=int, default=0, help="every Nth request starts a burst")
    g.add_argument("--error-burst", type=int, default=1, help="consecutive failing requests")
    g.add_argument("--error-status", type=int, default=502, choices=(500, 502, 503, 504))
    g.add_argument("--slow-every", type=int, default=0, help="every Nth request is slow")
    g.add_argument("--slow-s", type=float, default=0.5, help="extra seconds for slow requests")
    g.add_argument("--drop-every", type=int, default=0, help="every Nth request: drop connection")
    g.add_argument("--secondary-every", type=int, default=0, help="every Nth: secondary limit")
    g.add_argument("--secondary-status", type=int, default=403, choices=(403, 429))
    g.add_argument("--retry-after-s", type=int, default=1)
    g.add_argument("--primary-exhaust-after", type=int, default=0, help="requests until 403")
    g.add_argument("--primary-reset-s", type=int, default=2)
    g.add_argument("--insert-during-pagination", action="store_true")


def faults_from_args(ns: argparse.Namespace) -> Faults:
    """:class:`Faults` from parsed CLI flags."""
    return Faults(
        error_every=ns.error_every,
        error_burst=ns.error_burst,
        error_status=ns.error_status,
        slow_every=ns.slow_every,
        slow_s=ns.slow_s,
        drop_every=ns.drop_every,
        secondary_every=ns.secondary_every,
        secondary_status=ns.secondary_status,
        retry_after_s=ns.retry_after_s,
        primary_exhaust_after=ns.primary_exhaust_after,
        primary_reset_s=ns.primary_reset_s,
        insert_during_pagination=ns.insert_during_pagination,
    )
