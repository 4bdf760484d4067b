"""The layer's SQL files (``pipelines/kpi/sql``) and the binding of their named parameters."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_COMMENT = re.compile(r"--[^\n]*")


@cache
def load(name: str) -> str:
    """The text of ``pipelines/kpi/sql/<name>.sql``, without its trailing semicolon."""
    path = resources.files("pipelines.kpi").joinpath("sql", f"{name}.sql")
    if not path.is_file():
        raise KeyError(f"no SQL file {name!r} in pipelines/kpi/sql")
    return path.read_text().strip().rstrip(";")


def bind(sql: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Only the parameters ``sql`` names (DuckDB rejects unused ones); every one named must
    have a value."""
    names = set(_PARAM.findall(_COMMENT.sub("", sql)))
    missing = names - params.keys()
    if missing:
        raise KeyError(f"SQL parameters without a value: {sorted(missing)}")
    return {k: v for k, v in params.items() if k in names}
