"""The shared corpus of real reports and GitHub API recordings, and the mark for tests that read it.

The corpus sits beside the checkout (``../shared/corpus``), not in the repository:
some of its files are under copyleft licences. Where it is absent, the tests that
read it are skipped with that reason; every other test still runs.
"""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "shared" / "corpus"
JUNIT = ROOT / "junit"
GITHUB = ROOT / "github"

needs_corpus = pytest.mark.skipif(not ROOT.is_dir(), reason=f"shared corpus not found at {ROOT}")
