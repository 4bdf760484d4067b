"""``ci-metrics dev``: ``dagster dev`` with SIGINT and SIGTERM restored to their defaults.

``dagster dev`` gives SIGTERM whatever handler SIGINT has. A process started with SIGINT
ignored (``cmd &`` in a script, some CI runners) therefore ignores SIGTERM too, in itself,
its code server and that server's gRPC child, while its webserver and daemon catch SIGTERM
and then wait for a shutdown message ``dagster dev`` never sends: ``kill PID`` does nothing
and a signal to the whole group leaves a hung session. Resetting both signals before
``dagster dev`` starts makes it, and everything it starts, stop on SIGTERM as on Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

PROJECT_WORKSPACE = Path(__file__).resolve().parents[1] / "workspace.yaml"
# `dagster dev` options that choose the code to load; without one, the workspace file is used
_TARGET_OPTIONS = (
    "-w",
    "--workspace",
    "-f",
    "--python-file",
    "-m",
    "--module-name",
    "--package-name",
    "--autoload-defs-module-name",
    "--empty-workspace",
)


def _names_target(arg: str) -> bool:
    """True for a target option in any spelling: ``-w x``, ``-wx``, ``--workspace=x``."""
    for option in _TARGET_OPTIONS:
        if arg == option or arg.startswith(option + "="):
            return True
        if len(option) == 2 and arg.startswith(option) and not arg.startswith("--"):
            return True
    return False


def dev_command(argv: Sequence[str]) -> list[str]:
    """The ``dagster dev`` command line for the options ``argv``: the workspace file in the
    current folder, else the project's, is added when ``argv`` names no code to load."""
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster)] if dagster.exists() else [sys.executable, "-m", "dagster"]
    command += ["dev", *argv]
    if "--help" in argv or any(_names_target(a) for a in argv):
        return command
    for workspace in (Path("workspace.yaml"), PROJECT_WORKSPACE):
        if workspace.is_file():
            return [*command, "-w", str(workspace)]
    return command


def run_dev(argv: Sequence[str]) -> int:
    """Replace this process with ``dagster dev``, SIGINT and SIGTERM at their defaults.

    ``exec`` rather than a child process: ``kill PID`` and Ctrl-C reach ``dagster dev``
    itself, there is no middle process to forward signals or lose the exit code, and the
    caller sees ``dagster dev``'s own exit status. Returns only when the exec fails.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    command = dev_command(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execv(command[0], command)  # noqa: S606 - a fixed program, no shell involved
    except OSError as exc:
        print(f"ci-metrics dev: cannot run {command[0]}: {exc.strerror}", file=sys.stderr)
    return 127
