"""Security of every response: the Content-Security-Policy and friends, and the optional
access token (``CI_METRICS_SERVE_TOKEN``).

With a token set, a request carries it as ``Authorization: Bearer T``, as the
``ci_metrics_token`` cookie, or once as ``?token=T``: the server then sets the cookie and
redirects to the same URL without it, so the token stays out of links, history and
logs. Tokens are compared with :func:`hmac.compare_digest`. Access is logged as method,
path and status only, never the query string.
"""

from __future__ import annotations

import hmac
import logging
import time
from urllib.parse import urlencode

from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp

COOKIE = "ci_metrics_token"
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
log = logging.getLogger("ci_metrics.explorer")


def _same(given: str | None, token: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


class SecurityMiddleware(BaseHTTPMiddleware):
    def __init__(self, app: ASGIApp, token: str | None) -> None:
        super().__init__(app)
        self.token = token

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        started = time.monotonic()
        response = await self._checked(request, call_next)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        log.info(
            "%s %s %d %.0fms",
            request.method,
            request.url.path,
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        return response

    async def _checked(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if self.token is None:
            return await call_next(request)
        if _same(_bearer(request), self.token) or _same(request.cookies.get(COOKIE), self.token):
            return await call_next(request)
        if _same(request.query_params.get("token"), self.token):
            rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            target = request.url.path + (f"?{urlencode(rest)}" if rest else "")
            response = RedirectResponse(target, status_code=303)
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict", path="/")
            response.headers["Cache-Control"] = "no-store"
            return response
        return PlainTextResponse(
            "401 Unauthorized: this explorer needs its access token "
            "(Authorization: Bearer …, or ?token=… once)\n",
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
