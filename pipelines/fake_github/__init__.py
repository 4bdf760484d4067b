"""A fake GitHub Actions REST API with deterministic generated data, for tests and demos."""

from pipelines.fake_github.faults import Faults
from pipelines.fake_github.generator import FakeConfig, FakeWorld, generate
from pipelines.fake_github.server import FakeGitHubServer

__all__ = ["FakeConfig", "FakeGitHubServer", "FakeWorld", "Faults", "generate"]
