"""Hostile report files go through the loader ``ci-metrics ingest`` uses, one process each.

Every case of :mod:`tests.reliability.hostile_inputs` is written to disk and ingested
by a fresh Python process (``store.connect`` under the load memory limit, then
``ingest_files`` with the CLI's empty run overrides) into a copy of a store that
already holds a good report, with a good sibling file after it in the same batch.
The test then reads the DuckDB file itself: each bad source is quarantined in
``raw.ingest_errors`` under its own name (``file`` or ``file!member``) with a reason
of the expected kind, each good one holds exactly the rows the case built, the
earlier report and the sibling are intact, no file appeared outside the store, and
the loopback canary the entities point at was never contacted. A separate process
per case also bounds what a case may cost: its wall time and peak RSS growth are
recorded and held to generous limits, and a hang is killed.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from pipelines import store
from pipelines.testresults.loader import ingest_files
from pipelines.testresults.rows import MAX_NAME_CHARS, RunContext
from tests.reliability.hostile_inputs import REASONS, Case, Env, cases, report, report_rows

ROOT = Path(__file__).resolve().parents[2]
HANG_GUARD_S = 120  # the child is killed after this
MAX_SECONDS = 60  # generous: the heaviest case takes a few seconds
DB = "store.duckdb"
PRELOADED = "preloaded.xml"
SIBLING = "zz-sibling.xml"

# What the child runs: the same calls as ``ci-metrics ingest FILE...`` (pipelines/cli.py).
# Its peak RSS is VmHWM, the high-water mark of its own memory map: ru_maxrss would
# start from the RSS of the pytest process it was forked from.
CHILD = """
import json, sys, time
import psutil
from pipelines import store
from pipelines.testresults.loader import ingest_files
from pipelines.testresults.rows import RunContext

def hwm_kb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))

db, *files = sys.argv[1:]
before_kb = psutil.Process().memory_info().rss // 1024
started = time.perf_counter()
with store.connect(db, memory_limit=store.LOAD_MEMORY_LIMIT) as con:
    summary = ingest_files(con, files, context_overrides=RunContext())
seconds = time.perf_counter() - started
peak_kb = hwm_kb()
print(json.dumps({"seconds": seconds, "before_kb": before_kb, "peak_kb": peak_kb,
                  "quarantined": summary.quarantined}))
"""


class Canary:
    """A loopback TCP listener that counts connections: nothing may ever reach it."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.hits = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.hits += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture(scope="module")
def canary() -> Iterator[Canary]:
    c = Canary()
    yield c
    c.close()


@pytest.fixture(scope="module")
def preloaded_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple]]:
    """A store holding one good report ingested earlier, and that report's rows."""
    folder = tmp_path_factory.mktemp("preloaded")
    path = folder / PRELOADED
    path.write_bytes(report("preloaded"))
    with store.connect(folder / DB, memory_limit=store.LOAD_MEMORY_LIMIT) as con:
        summary = ingest_files(con, [path], context_overrides=RunContext())
        assert summary.files_read == 1 and not summary.quarantined
        rows = _rows(con, str(path))
    assert [r[1:] for r in rows] == list(report_rows("preloaded"))
    return folder / DB, rows


def _rows(con: duckdb.DuckDBPyConnection, source: str) -> list[tuple]:
    return con.execute(
        "SELECT seq, test_id, outcome, duration_s FROM raw.test_results"
        " WHERE source = ? ORDER BY seq",
        [source],
    ).fetchall()


def _passwd_root() -> str | None:
    try:
        lines = Path("/etc/passwd").read_text().splitlines()
    except OSError:
        return None
    return next((line for line in lines if line.startswith("root:")), None)


def _files(folder: Path) -> set[str]:
    """Files under ``folder``, without the store's own (its WAL, its spill directory)."""
    return {
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and not p.name.startswith(DB) and DB + ".tmp" not in p.parts
    }


def ingest_in_child(db: Path, files: list[Path], cwd: Path) -> dict:
    """Ingest ``files`` into ``db`` in a fresh interpreter; its figures, or a failure."""
    env = {k: v for k, v in os.environ.items() if k != "CI_METRICS_DUCKDB_MEMORY_LIMIT"}
    env["PYTHONPATH"] = str(ROOT)
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(db), *map(str, files)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
    )
    assert proc.returncode == 0, f"the loader failed outside quarantine:\n{proc.stderr[-3000:]}"
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    figures["process_s"] = time.perf_counter() - started
    return figures


def _matches(category: str, reason: str) -> bool:
    return re.search(REASONS[category], reason) is not None


def check_long_names(rows: list[tuple], original_length: int) -> None:
    """Over-long names are cut (kpi rows stay small) but stay distinct and recognisable."""
    names = [test_id.removeprefix("pkg.long::") for test_id, _, _ in rows]
    assert len(set(names)) == len(names) == 2  # two names that differ only at the end
    for name in names:
        assert len(name) <= MAX_NAME_CHARS < original_length
        assert "n" * 900 in name  # it still begins like the original


CASES = cases()


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=c.name, marks=[pytest.mark.slow] if c.heavy else []) for c in CASES],
)
def test_hostile_file_is_quarantined_or_loaded_exactly(
    case: Case, preloaded_store: tuple[Path, list[tuple]], canary: Canary, tmp_path: Path, record
) -> None:
    template, preloaded_rows = preloaded_store
    inbox = tmp_path / "in"
    inbox.mkdir()
    path = inbox / case.filename
    data = case.build(Env(canary_url=canary.url))
    path.write_bytes(data)
    input_mb = len(data) / 2**20
    del data
    sibling = inbox / SIBLING
    sibling.write_bytes(report("sibling"))
    preloaded_source = str(template.parent / PRELOADED)
    shutil.copyfile(template, tmp_path / DB)
    cwd = tmp_path / "cwd" / "a" / "b"  # zip-slip names would land near here
    cwd.mkdir(parents=True)
    files_before = _files(tmp_path)
    hits_before = canary.hits

    figures = ingest_in_child(tmp_path / DB, [path, sibling], cwd)

    with store.connect(tmp_path / DB, read_only=True) as con:
        errors = con.execute("SELECT source, reason FROM raw.ingest_errors").fetchall()
        loaded: dict[str, list[tuple]] = {}
        for source, *row in con.execute(
            "SELECT source, test_id, outcome, duration_s FROM raw.test_results ORDER BY source, seq"
        ).fetchall():
            loaded.setdefault(source, []).append(tuple(row))
        ingested = {r[0] for r in con.execute("SELECT source FROM meta.ingested_files").fetchall()}
        preloaded_now = _rows(con, preloaded_source)

    where = str(path)
    expected_quarantine = {where + k: v for k, v in case.quarantined.items()}
    expected_rows = {where + k: list(v) for k, v in case.loaded.items()}
    # quarantined: exactly the expected sources, each named, each for its reason
    assert {s for s, _ in errors} == set(expected_quarantine), errors
    for source, reason in errors:
        category = expected_quarantine[source]
        assert _matches(category, reason), f"{source}: {reason!r} is not {category!r}"
    observed = [f"quarantined {s}: {r}" for s, r in sorted(errors)]
    observed += [
        f"loaded {s}: {len(v)} rows" for s, v in sorted(loaded.items()) if s.startswith(where)
    ]
    # loaded: exactly the rows built, and nothing else of this case
    for source, original_length in case.long_names.items():
        check_long_names(loaded.pop(where + source), original_length)
        expected_rows.pop(where + source)
    assert {s: v for s, v in loaded.items() if s.startswith(where)} == expected_rows
    # what was there before and the rest of the batch survive
    assert preloaded_now == preloaded_rows
    assert loaded[str(sibling)] == list(report_rows("sibling"))
    loaded_sources = {where + k for k in case.loaded}
    assert ingested == {preloaded_source, str(sibling), *loaded_sources}
    # nothing written or fetched, nothing read from /etc/passwd stored
    assert _files(tmp_path) == files_before
    assert not Path("/etc/x.xml").exists() and not Path("/etc/abs.xml").exists()
    assert canary.hits == hits_before
    secret = _passwd_root()
    if secret:
        stored = " ".join(r for _, r in errors) + " ".join(
            str(v) for rows in loaded.values() for row in rows for v in row
        )
        assert secret not in stored
    # bounded
    growth_mb = (figures["peak_kb"] - figures["before_kb"]) / 1024
    assert figures["seconds"] < MAX_SECONDS
    assert growth_mb < case.max_rss_mb

    def short(text: str) -> str:
        return text.replace(str(inbox) + "/", "")

    record(
        "hostile",
        case.name,
        case.tried,
        "; ".join([*(short(p) for p in observed), "earlier report and sibling intact"]),
        seconds=round(figures["seconds"], 2),
        peak_rss_mb=round(figures["peak_kb"] / 1024, 1),
        peak_rss_growth_mb=round(growth_mb, 1),
        input_mb=round(input_mb, 2),
    )


def test_case_files_are_distinct_and_every_category_is_known(record) -> None:
    names = [c.filename for c in CASES]
    assert len(set(names)) == len(names) and len({c.name for c in CASES}) == len(CASES)
    assert len(CASES) >= 30
    for case in CASES:
        assert set(case.quarantined.values()) <= set(REASONS)
        assert case.quarantined or case.loaded
    used = {category for c in CASES for category in c.quarantined.values()}
    assert used == set(REASONS)  # every reason pattern is exercised by some case
    record(
        "hostile",
        "catalogue",
        "the hostile case catalogue (tests/reliability/hostile_inputs.py)",
        f"{len(CASES)} cases with distinct file names; {len(used)} reason categories, all used",
        cases=len(CASES),
    )


def test_one_cli_batch_of_every_light_case(tmp_path: Path, canary: Canary, record) -> None:
    """``ci-metrics ingest FOLDER``: all light cases in one batch, one transaction."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    light = [c for c in CASES if not c.heavy]
    expected_quarantine: dict[str, str] = {}
    expected_rows: dict[str, list] = {}
    long_names: dict[str, int] = {}
    for case in light:
        path = inbox / case.filename
        path.write_bytes(case.build(Env(canary_url=canary.url)))
        expected_quarantine.update({str(path) + k: v for k, v in case.quarantined.items()})
        expected_rows.update({str(path) + k: list(v) for k, v in case.loaded.items()})
        long_names.update({str(path) + k: n for k, n in case.long_names.items()})
    good = inbox / SIBLING
    good.write_bytes(report("sibling"))
    expected_rows[str(good)] = list(report_rows("sibling"))
    env = {k: v for k, v in os.environ.items() if k != "CI_METRICS_DUCKDB_MEMORY_LIMIT"}
    env |= {"PYTHONPATH": str(ROOT), "CI_METRICS_DB": str(tmp_path / DB)}
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "ingest", str(inbox)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
    )
    seconds = time.perf_counter() - started
    assert proc.returncode == 0, proc.stderr[-3000:]
    printed = {
        line.removeprefix("quarantined ").split(": ", 1)[0]
        for line in proc.stdout.splitlines()
        if line.startswith("quarantined ")
    }
    with store.connect(tmp_path / DB, read_only=True) as con:
        errors = dict(con.execute("SELECT source, reason FROM raw.ingest_errors").fetchall())
        loaded: dict[str, list] = {}
        for source, *row in con.execute(
            "SELECT source, test_id, outcome, duration_s FROM raw.test_results ORDER BY source, seq"
        ).fetchall():
            loaded.setdefault(source, []).append(tuple(row))
    assert set(errors) == set(expected_quarantine) == printed
    assert all(_matches(expected_quarantine[s], r) for s, r in errors.items()), errors
    for source, original_length in long_names.items():
        check_long_names(loaded.pop(source), original_length)
        expected_rows.pop(source)
    assert loaded == expected_rows
    assert canary.hits == 0
    record(
        "hostile",
        "cli-batch",
        f"`ci-metrics ingest FOLDER` over all {len(light)} light cases and a good file at once",
        f"exit 0; {len(errors)} sources quarantined and printed, {len(loaded) + len(long_names)}"
        " loaded exactly, in one transaction",
        seconds=round(seconds, 2),
    )
