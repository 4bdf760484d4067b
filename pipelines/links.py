"""Links out of ci-metrics: to GitHub (runs, commits, pull requests) and into the explorer.

The dashboard and the alerts both link to the explorer (``CI_METRICS_EXPLORER_URL``) and
to GitHub, so the URLs are built here, below both. The explorer's parameter names are
those of ``reports/explorer/params.py`` (``repo``, ``workflow``, ``branch``, ``event``,
``start``, ``end``) and of its run page (``run_id``); every value is URL-encoded. A base
or a stored URL that is not http(s) gives no link, so a hostile value stays text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from urllib.parse import quote, urlencode, urlsplit

GITHUB = "https://github.com"


def web_url(url: object) -> str | None:
    """``url`` when it is an absolute http(s) URL with a host, else None."""
    if not isinstance(url, str) or any(c in url for c in "\r\n\t \\"):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def repo_url(repo: str, html_url: object = None) -> str | None:
    """The repository's web page: its stored ``html_url``, else github.com's address."""
    return web_url(html_url) or web_url(f"{GITHUB}/{quote(repo, safe='/')}")


def commit_url(base: str | None, sha: object) -> str | None:
    """The commit ``sha`` on the repository page ``base``."""
    if not base or not isinstance(sha, str) or not sha:
        return None
    return f"{base.rstrip('/')}/commit/{quote(sha, safe='')}"


def pull_url(base: str | None, number: object) -> str | None:
    """Pull request ``number`` on the repository page ``base``."""
    if not base or not isinstance(number, int) or isinstance(number, bool):
        return None
    return f"{base.rstrip('/')}/pull/{number}"


class Explorer:
    """Page addresses of the explorer at ``base`` (empty or not http(s): no links)."""

    def __init__(self, base: str = "") -> None:
        checked = web_url(base.strip()) if base else None
        self.base = checked.rstrip("/") if checked else ""

    def __bool__(self) -> bool:
        return bool(self.base)

    def _url(self, path: str, pairs: Sequence[tuple[str, str]]) -> str | None:
        if not self.base:
            return None
        query = urlencode(list(pairs))
        return f"{self.base}{path}?{query}" if query else f"{self.base}{path}"

    @staticmethod
    def _period(start: date | str | None, end: date | str | None) -> list[tuple[str, str]]:
        return [(k, str(v)) for k, v in (("start", start), ("end", end)) if v]

    def overview(
        self,
        repos: Iterable[str] = (),
        start: date | str | None = None,
        end: date | str | None = None,
        **filters: Iterable[str],
    ) -> str | None:
        """The overview (``/``) for ``repos`` over ``start`` .. ``end``; ``filters`` adds
        ``workflow``, ``branch`` or ``event`` values."""
        pairs = [("repo", r) for r in repos]
        pairs += [(k, v) for k, values in filters.items() for v in values]
        return self._url("/", pairs + self._period(start, end))

    def workflow(
        self,
        repo: str,
        workflow: str,
        start: date | str | None = None,
        end: date | str | None = None,
        **filters: Iterable[str],
    ) -> str | None:
        """The workflow page of ``workflow`` in ``repo``."""
        pairs = [("repo", repo), ("workflow", workflow)]
        pairs += [(k, v) for k, values in filters.items() for v in values]
        return self._url("/workflow", pairs + self._period(start, end))

    def run(self, repo: str, run_id: int | str) -> str | None:
        """The run page of run ``run_id`` of ``repo``."""
        return self._url("/run", [("repo", repo), ("run_id", str(run_id))])
