"""The shared corpus of real reports and GitHub API recordings, and the mark for tests that read it.

The corpus sits beside the checkout (``../shared/corpus``), not in the repository:
some of its files are under copyleft licences. ``CI_METRICS_TEST_CORPUS`` names
another folder for it (a missing one shows the skip path). Where it is absent,
every test that reads it is skipped with one reason; every other test still runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pytest

ENV_VAR = "CI_METRICS_TEST_CORPUS"
DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "shared" / "corpus"
ROOT = Path(os.environ[ENV_VAR]) if os.environ.get(ENV_VAR) else DEFAULT_ROOT
JUNIT = ROOT / "junit"
GITHUB = ROOT / "github"

PRESENT = ROOT.is_dir()
REASON = f"shared corpus not found at {ROOT}"

needs_corpus = pytest.mark.skipif(not PRESENT, reason=REASON)


def corpus_params(values: Iterable, argnames: int = 1) -> list:
    """Parameters read from the corpus when the tests are collected.

    Without the corpus there is nothing to enumerate: one stand-in parameter,
    skipped with the same reason as ``needs_corpus``, keeps the test visible
    instead of an empty parameter set.
    """
    if PRESENT:
        return list(values)
    return [pytest.param(*(None,) * argnames, marks=needs_corpus, id="no-corpus")]
