"""One run of the whole pipeline, as ``ci-metrics materialize`` does it, for the crash test.

``tests/reliability/test_crash.py`` runs :func:`child_main` in a child process and kills
it with SIGKILL: from outside while it talks to the fake GitHub server, or from inside
through the hook below, which only this module reads (production code knows nothing of
it). ``CI_METRICS_CRASH_AT=PHASE:K:WHEN`` kills the process in or at the end of the
K-th transaction of a phase:

- ``write``: the raw loads (``replace_runs``, ``replace_jobs``, each test-result batch),
- ``kpi``: the KPI table builds (per-day ranges, then the window tables).

``WHEN`` is ``before`` (every statement has run, ``COMMIT`` has not: nothing may show),
``after`` (just committed, the connection still open: the commit sits in the write-ahead
log, not yet in the file), or a delay in seconds: a timer started with the transaction
kills the process in the middle of a statement when the statements take that long, else
it dies before ``COMMIT``.

The children are forked from a server process that has imported :data:`PRELOAD` once
(``multiprocessing``'s forkserver): importing Dagster costs more CPU than a small
run's work. Each child is still a process of its own, killed for real. The module also
runs as a script for a run by hand: ``crash_child.py DB_PATH API_URL REPOS FIRST LAST``
with ``GITHUB_TOKEN`` (and optionally ``DAGSTER_HOME``, ``CI_METRICS_OUTPUT_DIR``) set.
A run that is not killed ends by printing how many transactions each phase had, which is
where the test draws its kill points from.
"""

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import date
from types import SimpleNamespace
from typing import Any

import duckdb

HOOK_ENV = "CI_METRICS_CRASH_AT"
PRELOAD = [
    "duckdb",
    "dagster",
    "pipelines.definitions",
    "pipelines.materialize",
    "assets.dashboard",
    "assets.github",
    "assets.kpi",
    "pipelines.kpi.build",
    "assets.raw_checks",
    "assets.target_checks",
    "assets.test_results",
    "pipelines.github.load",
    "pipelines.testresults.loader",
]
BEGAN = "crash-hook: transaction began"
BEFORE_COMMIT = "crash-hook: before COMMIT"
AFTER_COMMIT = "crash-hook: after COMMIT"
DONE = "crash-child: pipeline done"

Transaction = Callable[[duckdb.DuckDBPyConnection], AbstractContextManager]


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class Hook:
    """Counts the transactions of one phase; ends the process at the ``kill_at``-th."""

    def __init__(self, original: Transaction, kill_at: int = 0, when: str = "before") -> None:
        self.original = original
        self.kill_at = kill_at
        self.when = when
        self.calls = 0
        self._lock = threading.Lock()

    @contextmanager
    def transaction(self, con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._lock:
            self.calls += 1
            mine = self.calls == self.kill_at
        if not mine:
            with self.original(con) as inner:
                yield inner
            return
        with self.original(con) as inner:
            print(f"{BEGAN} {self.kill_at}", flush=True)
            if self.when not in ("before", "after"):
                timer = threading.Timer(float(self.when), _die)
                timer.daemon = True
                timer.start()
            yield inner
            if self.when != "after":
                print(BEFORE_COMMIT, flush=True)
                _die()
        print(AFTER_COMMIT, flush=True)
        _die()


def install_hooks(spec: str) -> dict[str, Hook]:
    """Count the transactions of both phases; arm the one named in ``spec``
    (``PHASE:K:WHEN``, empty for none)."""
    import pipelines.github.load as load
    import pipelines.kpi.build as build
    import pipelines.store as store
    import pipelines.testresults.loader as loader

    phase, k, when = spec.split(":") if spec else ("", "0", "before")
    if phase not in ("", "write", "kpi"):
        raise ValueError(f"unknown crash phase {phase!r}")
    hooks = {
        name: Hook(store.transaction, int(k) if phase == name else 0, when)
        for name in ("write", "kpi")
    }
    # the raw loaders bound the function at import; the KPI builds call store.transaction,
    # so pipelines.kpi.build gets a view of the store module whose transaction is the hook's
    load.transaction = loader.transaction = hooks["write"].transaction
    build.store = SimpleNamespace(**{**vars(store), "transaction": hooks["kpi"].transaction})
    return hooks


def main(argv: list[str]) -> int:
    db_path, api_url, repos, first, last = argv
    hooks = install_hooks(os.environ.get(HOOK_ENV, ""))

    from pipelines.materialize import local_instance, run_pipeline
    from pipelines.resources import DuckDBStore, GitHubAPI

    resources = {
        "duckdb": DuckDBStore(path=db_path),
        "github": GitHubAPI(api_url=api_url, token=os.environ["GITHUB_TOKEN"], repos=repos),
    }
    with local_instance() as instance:
        run_pipeline(
            date.fromisoformat(first),
            date.fromisoformat(last),
            resources=resources,
            instance=instance,
        )
    counts = " ".join(f"{name}={hook.calls}" for name, hook in hooks.items())
    times = os.times()
    print(f"{DONE}: transactions {counts}; cpu {times.user + times.system:.1f} s", flush=True)
    return 0


def child_main(log_path: str, env: dict[str, str], go: Any, argv: list[str]) -> None:
    """Entry point of a forked child: output to ``log_path``, ``env`` as the environment,
    the run starts once the parent has set ``go`` (armed its kill)."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.environ.clear()
    os.environ.update(env)
    if not go.wait(60):
        raise TimeoutError("the parent never said go")
    sys.exit(main(argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
