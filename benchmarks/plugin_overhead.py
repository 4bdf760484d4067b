"""Wall-time overhead of the ci-metrics pytest plugin on a suite of quick tests.

Generates a suite (by default 2,000 tests in 20 files: plain functions, class
methods and parametrized cases, a few skips and failures), then runs it with
and without ``--ci-metrics`` in alternation, several times each, and prints the
median wall time of both and the overhead in percent. The target is < 5 %.
CPU time (user + system of the pytest process) is printed too: on a machine
shared with other work it is the steadier of the two figures.

    .venv/bin/python benchmarks/plugin_overhead.py [--tests 2000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_PCT = 5.0


def write_suite(root: Path, tests: int, files: int) -> None:
    """``files`` modules holding ``tests`` tests between them."""
    (root / "pytest.ini").write_text("[pytest]\ntestpaths = tests\n")
    (root / "tests").mkdir()
    per_file = tests // files
    for f in range(files):
        count = per_file + (1 if f < tests % files else 0)
        params = count // 4
        methods = count // 4
        functions = count - params - methods
        lines = ["import pytest", ""]
        for i in range(functions):
            if i == 0:
                lines += ["@pytest.mark.skip(reason='benchmark skip')"]
            body = "assert i == -1" if i == 1 else "assert i + 1 > i"
            lines += [f"def test_fn_{i}():", f"    i = {i}", f"    {body}", ""]
        lines += [f"@pytest.mark.parametrize('n', range({params}))", "def test_param(n):"]
        lines += ["    assert n >= 0", "", "class TestMethods:"]
        for i in range(methods):
            lines += [f"    def test_m_{i}(self):", "        assert True", ""]
        (root / "tests" / f"test_bench_{f:03d}.py").write_text("\n".join(lines) + "\n")


def run_once(root: Path, with_plugin: bool) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one pytest session."""
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    if with_plugin:
        args.append(f"--ci-metrics={root / 'metrics'}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"pytest exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return elapsed, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=2000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    opts = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ci-metrics-bench-") as tmp:
        root = Path(tmp)
        write_suite(root, opts.tests, opts.files)
        run_once(root, False)  # warm the file cache and bytecode
        without, with_ = [], []
        for i in range(opts.repeat):  # alternate which goes first, against drift
            order = (False, True) if i % 2 == 0 else (True, False)
            for with_plugin in order:
                (with_ if with_plugin else without).append(run_once(root, with_plugin))
        records = sum(
            sum(1 for line in p.open() if '"type":"test"' in line)
            for p in (root / "metrics").glob("*.jsonl")
        )
    base, plugged = (statistics.median(w for w, _ in runs) for runs in (without, with_))
    base_cpu, plugged_cpu = (statistics.median(c for _, c in runs) for runs in (without, with_))
    overhead = (plugged - base) / base * 100
    cpu_overhead = (plugged_cpu - base_cpu) / base_cpu * 100
    print(f"tests: {opts.tests} in {opts.files} files, {opts.repeat} runs each (median)")
    print(f"without plugin: {base:.3f} s wall, {base_cpu:.3f} s CPU")
    print(f"with plugin:    {plugged:.3f} s wall, {plugged_cpu:.3f} s CPU")
    print(f"records:        {records} test records in {opts.repeat} files")
    best, best_plugged = min(w for w, _ in without), min(w for w, _ in with_)
    best_cpu, best_plugged_cpu = min(c for _, c in without), min(c for _, c in with_)
    print(
        f"fastest runs:   {best:.3f} s / {best_cpu:.3f} s CPU without, "
        f"{best_plugged:.3f} s / {best_plugged_cpu:.3f} s CPU with"
    )
    print(
        f"overhead:       {overhead:+.1f} % wall, {cpu_overhead:+.1f} % CPU "
        f"(target < {TARGET_PCT:.0f} %)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
