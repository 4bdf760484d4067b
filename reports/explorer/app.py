"""The explorer's routes: the pages, their exports, ``/metrics`` and the static files.

Every page reads one connection from :class:`~reports.explorer.source.Source`, takes the
same filter parameters, and answers as HTML, as JSON (``?format=json``: the page's data
and every table) or as the CSV of one table (``?format=csv&table=NAME``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

import duckdb
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from pipelines.kpi.catalogue import BRANCH_CLASSES
from pipelines.store import REPORT_MEMORY_LIMIT
from reports.explorer import metrics, overview, run, runners, testcase, workflow
from reports.explorer.auth import SecurityMiddleware
from reports.explorer.config import ExplorerConfig
from reports.explorer.index import StoreIndex
from reports.explorer.page import Here, Page
from reports.explorer.params import PRESETS, BadRequestError, Question
from reports.explorer.source import Source, StoreUnavailableError
from reports.explorer.tables import to_csv

Builder = Callable[[duckdb.DuckDBPyConnection, Here, ExplorerConfig, StoreIndex], Page]
FILTER_KEYS = ("repo", "workflow", "branch", "event")
NOT_KEPT = {*FILTER_KEYS, "start", "end", "format", "table", "token"}
DIMENSIONS = (
    ("repo", "Repositories"),
    ("workflow", "Workflows"),
    ("branch", "Branches"),
    ("event", "Events"),
)
BRANCH_LABELS = {"default": "Default branch", "pr": "Pull requests", "other": "Other branches"}
STATIC = {"dashboard.css": ("reports", "templates"), "explorer.css": ("reports.explorer", "static")}


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("reports.explorer", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def _static(name: str) -> str:
    package, folder = STATIC[name]
    return resources.files(package).joinpath(folder, name).read_text(encoding="utf-8")


def _when(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def _dims(found: dict[str, list[str]], q: Question) -> list[dict[str, Any]]:
    selected = dict(
        zip(
            FILTER_KEYS,
            (q.filters.repos, q.filters.workflows, q.filters.branches, q.filters.events),
            strict=True,
        )
    )
    out = []
    for name, label in DIMENSIONS:
        values = list(found[name])
        if name == "branch":
            values = [*BRANCH_CLASSES, *(v for v in values if v not in BRANCH_CLASSES)]
        values += [v for v in selected[name] if v not in values]
        options = [
            {
                "value": v,
                "label": BRANCH_LABELS.get(v, v) if name == "branch" else v,
                "checked": v in selected[name],
            }
            for v in values
        ]
        out.append({"name": name, "label": label, "options": options, "selected": selected[name]})
    return out


def _chrome(here: Here, source: Source, index: StoreIndex) -> dict[str, Any]:
    """What every page shows around its content: filter bar, presets, freshness."""
    q = here.question
    origin = source.origin()
    extracted = index.extracted
    return {
        "here": here,
        "q": q,
        "dims": _dims(index.choices, q),
        "hidden": [(k, v) for k, v in here.pairs if k not in NOT_KEPT and not k.endswith("_page")],
        "presets": [
            {"days": d, "url": q.preset(here.path, d, **_kept(here)), "current": q.period.days == d}
            for d in PRESETS
        ],
        "selected_any": not q.filters.empty,
        "clear_url": q.url(
            here.path, repo=None, workflow=None, branch=None, event=None, **_kept(here)
        )
        if here.path != "/workflow"
        else q.url("/"),
        "fresh": {
            "kind": origin.kind,
            "name": origin.path.rsplit("/", 1)[-1],
            "modified": _when(origin.modified_at),
            "extracted": _when(max(extracted.values())) if extracted else None,
        },
        "sort_url": lambda t, c: here.with_(
            **{
                f"{t.name}_sort": c.key,
                f"{t.name}_dir": "asc" if t.sort == c.key and t.descending else "desc",
                f"{t.name}_page": None,
            }
        ),
        "page_url": lambda t, n: here.with_(**{f"{t.name}_page": str(n)}),
    }


def _kept(here: Here) -> dict[str, list[str]]:
    """Page parameters (run_id, attempt, sorting) a preset or clear link keeps."""
    out: dict[str, list[str]] = {}
    for k, v in here.pairs:
        if k not in NOT_KEPT and not k.endswith("_page"):
            out.setdefault(k, []).append(v)
    return out


def _error(status: int, message: str, fmt: str) -> Response:
    reasons = {400: "Bad request", 404: "Not found", 503: "Unavailable"}
    if fmt == "json":
        return JSONResponse({"error": message}, status_code=status)
    if fmt == "csv":
        return PlainTextResponse(message + "\n", status_code=status)
    html = (
        _environment()
        .get_template("error.html.j2")
        .render(status=status, reason=reasons.get(status, ""), message=message)
    )
    return HTMLResponse(html, status_code=status)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _json_page(page: Page, here: Here, chrome: dict[str, Any] | None) -> Response:
    q = here.question
    body = {
        "page": here.path,
        "title": page.title,
        "filters": {k: [v for kk, v in q.filters.query() if kk == k] for k in FILTER_KEYS},
        "period": {
            "start": q.period.start.isoformat(),
            "end": q.period.end.isoformat(),
            "days": q.period.days,
        },
        **page.data,
        "tables": {t.name: t.records() for t in page.tables},
        "paging": {
            t.name: {"page": t.page, "pages": t.pages, "page_size": t.page_size, "total": t.total}
            for t in page.tables
            if t.page_size
        },
    }
    text = json.dumps(body, default=_json_default, ensure_ascii=False, allow_nan=False)
    return Response(text, media_type="application/json")


def _csv(page: Page, here: Here) -> Response:
    name = here.value("table")
    table = page.table(name or "")
    if table is None:
        names = ", ".join(t.name for t in page.tables)
        raise BadRequestError(f"table: {name!r} is not a table of this page ({names})")
    filename = f"{here.path.strip('/') or 'overview'}-{table.name}.csv"
    return Response(
        to_csv(table),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def create_app(config: ExplorerConfig) -> Starlette:
    """The ASGI app for ``config``; ``app.state.source`` is its store reader."""
    source = Source(config.db_path, config.memory_limit or REPORT_MEMORY_LIMIT)

    def page_route(path: str, build: Builder) -> Route:
        def endpoint(request: Request) -> Response:
            pairs = list(request.query_params.multi_items())
            params: dict[str, list[str]] = {}
            for k, v in pairs:
                params.setdefault(k, []).append(v)
            fmt = (params.get("format") or ["html"])[0]
            if fmt not in ("html", "json", "csv"):
                return _error(400, f"format: {fmt!r} is not html, json or csv", "html")
            try:
                with source.connect() as con:
                    index = source.memo(con, "index", lambda: StoreIndex.read(con))
                    q = Question.read(params, index.last_day)
                    here = Here(path, pairs, q)
                    page = build(con, here, config, index)
                    if fmt == "json":
                        return _json_page(page, here, None)
                    if fmt == "csv":
                        return _csv(page, here)
                    chrome = _chrome(here, source, index)
            except BadRequestError as exc:
                return _error(400, str(exc), fmt)
            except run.NotFoundError as exc:
                return _error(404, str(exc), fmt)
            except StoreUnavailableError as exc:
                return _error(503, str(exc), fmt)
            html = _environment().get_template(page.template).render(page=page, **chrome)
            return HTMLResponse(html)

        return Route(path, endpoint, methods=["GET", "HEAD"])

    def metrics_endpoint(request: Request) -> Response:
        try:
            with source.connect() as con:
                body = metrics.exposition(con, source.origin())
        except StoreUnavailableError as exc:
            return PlainTextResponse(str(exc) + "\n", status_code=503)
        return Response(body, media_type=metrics.CONTENT_TYPE)

    def static_endpoint(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC:
            return PlainTextResponse("not found\n", status_code=404)
        return Response(
            _static(name),
            media_type="text/css; charset=utf-8",
            headers={"Cache-Control": "max-age=300"},
        )

    routes = [
        page_route("/", lambda con, here, c, i: overview.overview(con, here, c.kpi, i.repos)),
        page_route("/workflows", lambda con, here, c, i: overview.workflows(con, here, c.kpi)),
        page_route(
            "/workflow",
            lambda con, here, c, i: workflow.workflow(con, here, c.kpi, i.repos, c.runs_page_size),
        ),
        page_route("/run", lambda con, here, c, i: run.run(con, here)),
        page_route("/test", lambda con, here, c, i: testcase.test(con, here)),
        page_route("/tests", lambda con, here, c, i: testcase.tests(con, here, c.runs_page_size)),
        page_route("/runners", lambda con, here, c, i: runners.runners(con, here, c.runner_rates)),
        Route("/metrics", metrics_endpoint, methods=["GET", "HEAD"]),
        Route("/static/{name}", static_endpoint, methods=["GET", "HEAD"]),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(SecurityMiddleware, token=config.token)])
    app.state.source = source
    return app
