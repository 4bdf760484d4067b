"""Benchmark figures written to a file, with the command and machine that made them.

``docs/load/*.json`` written this way are rendered into ``docs/reliability.md`` by
``tests/reliability/report.py``: recorded by the run, never typed in.
"""

import json
import os
import platform
import sys
import time
from pathlib import Path


def record(path: Path, benchmark: str, figures: dict) -> None:
    """Write ``figures`` as JSON with the command line, the time and the machine."""
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    path.parent.mkdir(parents=True, exist_ok=True)
    script = f"benchmarks/{Path(sys.argv[0]).name}"
    path.write_text(
        json.dumps(
            {
                "benchmark": benchmark,
                "command": " ".join(["python", script, *sys.argv[1:]]),
                "recorded_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                f"{memory_gib:.0f} GiB, Python {platform.python_version()}",
                "figures": figures,
            },
            indent=1,
        )
        + "\n",
        encoding="utf-8",
    )
