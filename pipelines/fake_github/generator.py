"""A deterministic world of GitHub Actions runs, jobs and artifacts for the fake API.

Everything is drawn from ``random.Random`` instances seeded from ``FakeConfig.seed``
(never the global generator), so one seed always gives the same world; the wall
clock is only read to resolve ``end_date=None`` (yesterday, UTC).

All datetimes are timezone-aware UTC with whole seconds, as the API reports them.
The simulated "now" is midnight UTC after ``end_date``: runs created just before
it are still ``queued``/``in_progress``. Jobs are made eagerly as small slotted
dataclasses; step lists and JUnit XML are derived on demand.

Test ids in the ground truth are ``classname::name`` (see :mod:`junit_sim`).
"""

from __future__ import annotations

import bisect
import io
import math
import random
import threading
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from pipelines.fake_github import junit_sim
from pipelines.fake_github.junit_sim import mix64, sub_seed

_DAY = 86400
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _dt(ts: int) -> datetime:
    return _EPOCH + timedelta(seconds=ts)


def _ts(d: datetime) -> int:
    return int((d - _EPOCH).total_seconds())


@dataclass(frozen=True)
class FakeConfig:
    """What world to generate. ``runs_per_day`` is the mean per repo per day."""

    seed: int = 1
    repos: int = 2
    owner: str = "acme"
    days: int = 14
    end_date: date | None = None
    runs_per_day: float = 40.0
    flaky_test_p: float = 0.005  # per flaky test per test job
    broken_commit_p: float = 0.04  # commits whose tests genuinely fail
    job_flaky_p: float = 0.03  # chance a lint/docs job fails by chance
    nightly_job_fail_p: float = 0.002
    cancel_p: float = 0.03
    skipped_p: float = 0.005
    startup_failure_p: float = 0.003
    timed_out_p: float = 0.003
    rerun_p: float = 0.7  # a failed attempt is re-run
    max_attempts: int = 3
    late_rerun_p: float = 0.1  # a re-run happens days later
    artifact_retention_days: int = 90
    nightly_jobs: int = 120
    tail_runs: int = 3  # runs per repo created in the last minutes before "now"
    # workflows, branches, job and step names, actors, commit titles and test names carry
    # quotes, SQL, HTML/JS, template syntax, Markdown specials, unicode and control
    # characters (see HOSTILE_*); the same random draws as without it, only names differ
    hostile_names: bool = False


@dataclass(frozen=True, slots=True)
class FakeStep:
    name: str
    status: str
    conclusion: str | None
    number: int
    started_at: datetime | None
    completed_at: datetime | None


_STEP_TEMPLATES: dict[str, tuple[tuple[str, float, str], ...]] = {
    # (name, share of the job's duration, role): role main = the step that decides
    # the outcome, always = runs even after a failure
    "test": (
        ("Set up job", 0.03, "pre"),
        ("Run actions/checkout@v4", 0.03, "pre"),
        ("Set up Python", 0.06, "pre"),
        ("Install dependencies", 0.18, "pre"),
        ("Run pytest", 0.62, "main"),
        ("Upload test results", 0.04, "always"),
        ("Post Run actions/checkout@v4", 0.02, "always"),
        ("Complete job", 0.02, "always"),
    ),
    "default": (
        ("Set up job", 0.05, "pre"),
        ("Run actions/checkout@v4", 0.05, "pre"),
        ("Run", 0.8, "main"),
        ("Post Run actions/checkout@v4", 0.05, "always"),
        ("Complete job", 0.05, "always"),
    ),
}


@dataclass(frozen=True, slots=True)
class FakeJob:
    job_id: int
    run_id: int
    run_attempt: int
    name: str
    status: str
    conclusion: str | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    runner_name: str | None
    runner_group_name: str | None
    labels: tuple[str, ...]
    kind: str = "default"
    hostile: bool = False  # step names from HOSTILE_STEP_NAMES

    @property
    def steps(self) -> tuple[FakeStep, ...]:
        """Steps split the job's span by fixed shares; derived so jobs stay small."""
        tpl = _STEP_TEMPLATES.get(self.kind, _STEP_TEMPLATES["default"])
        if self.status == "queued" or self.started_at is None or self.conclusion == "skipped":
            return ()
        start = _ts(self.started_at)
        end = _ts(self.completed_at) if self.completed_at else None
        span = (end - start) if end is not None else 0
        out: list[FakeStep] = []
        t = start
        failed = False
        for number, (name, share, role) in enumerate(tpl, 1):
            if self.hostile:
                name = HOSTILE_STEP_NAMES.get(name, name)
            if end is None:  # in progress: the main step runs, the rest waits
                if role == "pre":
                    out.append(FakeStep(name, "completed", "success", number, _dt(t), _dt(t + 1)))
                    t += 1
                elif role == "main":
                    out.append(FakeStep(name, "in_progress", None, number, _dt(t), None))
                else:
                    out.append(FakeStep(name, "queued", None, number, None, None))
                continue
            s = t
            t = min(end, t + max(0, round(span * share)))
            if number == len(tpl):
                t = end
            if role == "main":
                concl = self.conclusion if self.conclusion != "success" else "success"
                failed = concl != "success"
            elif role == "pre" or not failed or role == "always":
                concl = "success"
            else:
                concl = "skipped"
            if failed and role == "always" and self.conclusion == "cancelled":
                concl = "skipped"
            out.append(FakeStep(name, "completed", concl, number, _dt(s), _dt(t)))
        return tuple(out)


@dataclass(frozen=True, slots=True)
class FakeAttempt:
    run_attempt: int
    status: str
    conclusion: str | None
    run_started_at: datetime
    updated_at: datetime
    actor: str
    jobs: tuple[FakeJob, ...]


@dataclass(frozen=True, slots=True)
class FakeArtifact:
    artifact_id: int
    name: str
    run_id: int
    run_attempt: int
    head_sha: str
    head_branch: str
    created_at: datetime
    expires_at: datetime
    expired: bool
    size_in_bytes: int
    repo: str = ""
    repo_id: int = 0
    suite_seed: int | None = None  # set for JUnit artifacts: seeds the simulated suite
    broken_tests: tuple[str, ...] = ()
    flaky_p: float = 0.0
    hostname: str = ""
    suite_started_at: datetime | None = None
    hostile: bool = False  # test names from junit_sim.HOSTILE_TEST_NAMES

    @property
    def holds_tests(self) -> bool:
        return self.suite_seed is not None


@dataclass(slots=True)
class FakeRun:
    repo: str
    repo_id: int
    run_id: int
    run_number: int
    workflow_id: int
    workflow_name: str
    workflow_path: str
    event: str
    head_branch: str
    head_sha: str
    created_at: datetime
    pull_request_numbers: tuple[int, ...]
    attempts: list[FakeAttempt]
    artifacts: list[FakeArtifact]
    actor: str = "octocat"
    display_title: str = ""
    broken_tests: tuple[str, ...] = ()

    @property
    def latest(self) -> FakeAttempt:
        return self.attempts[-1]


@dataclass(frozen=True, slots=True)
class FakeWorkflow:
    workflow_id: int
    name: str
    path: str
    created_at: datetime
    key: str = ""  # the generator's workflow (CI, Lint, Docs, Nightly) when name differs


# --------------------------------------------------------------------------- content

_PY_VERSIONS = ("3.10", "3.11", "3.12", "3.13")
_ACTORS = ("octocat", "hubot", "monalisa", "dependabot[bot]", "alice-dev", "bob-ops")
_WORKFLOWS = (
    ("CI", ".github/workflows/ci.yml"),
    ("Lint", ".github/workflows/lint.yml"),
    ("Docs", ".github/workflows/docs.yml"),
    ("Nightly", ".github/workflows/nightly.yml"),
)
_HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 10, 9, 7, 9, 10, 10, 9, 7, 5, 3, 2, 2, 1, 1)
_HOUR_CUM = tuple(sum(_HOUR_WEIGHTS[: i + 1]) for i in range(24))
_COMMIT_WORDS = ("Fix", "Add", "Refactor", "Update", "Remove", "Speed up", "Document")
_COMMIT_TOPICS = ("login flow", "cache expiry", "parser", "CLI flags", "db migrations", "docs")

# ---- hostile names (FakeConfig.hostile_names): data that must stay data everywhere
HOSTILE_SQL = "Robert'); DROP TABLE raw.workflow_runs;--"
HOSTILE_SCRIPT = "<script>window.__pwned=1</script>"
HOSTILE_IMG = '<img src=x onerror="window.__pwned=1">'
HOSTILE_JINJA = "{{ 7*7 }} {% raw %} {# open comment"
HOSTILE_MARKDOWN = "\"quoted\" name & 'apos' | a|b a\\|b `tick` ${{ secrets.X }} \\ [x](y)"
HOSTILE_UNICODE = "\u202eevil\u202c \U0001f680 tab\there bell\u0007 line\nbreak \u00e9\u0301"
HOSTILE_LONG = ("<b>long</b> & 'name' | " * 50)[:1000]
#: workflow names by repo (index modulo 2) and generator workflow; both repos' CI share
#: one name, so it can be the configured full-suite workflow
HOSTILE_WORKFLOW_NAMES: tuple[dict[str, str], ...] = (
    {"CI": HOSTILE_SQL, "Lint": HOSTILE_SCRIPT, "Docs": HOSTILE_IMG, "Nightly": HOSTILE_JINJA},
    {"CI": HOSTILE_SQL, "Lint": HOSTILE_MARKDOWN, "Docs": HOSTILE_UNICODE, "Nightly": HOSTILE_LONG},
)
#: appended to non-default branches as a last path segment; only characters git allows in
#: a ref (no space, control character, ``~^:?*[\\``, ``..`` or ``@{``)
HOSTILE_BRANCH_SUFFIXES = (
    "x');DROP-TABLE-raw.workflow_runs;--",
    "<script>window.__pwned=1</script>",
    "{{7*7}}-{%raw%}-${{secrets.X}}",
    '"quoted"|a|b`tick`&amp;',
    "\u202eevil-\U0001f680",
)
HOSTILE_JOB_NAMES = {
    "lint": "lint'); DROP TABLE raw.workflow_jobs;--",
    "build": "<script>window.__pwned=1</script> build",
    "ruff": 'ruff "quoted" | `tick` {{ 7*7 }}',
    "build-docs": "build-docs \u202e\U0001f680\tbell\u0007",
    "linkcheck": '<img src=x onerror="window.__pwned=1">',
}
HOSTILE_STEP_NAMES = {
    "Set up job": "Set up job'); DROP TABLE raw.workflow_jobs;--",
    "Run": 'Run "<script>window.__pwned=1</script>"',
    "Run pytest": "Run pytest {{ 7*7 }} ${{ secrets.X }} | `x`",
    "Complete job": "Complete job \u202e\U0001f680\t\u0007",
}
HOSTILE_ACTORS = {
    "alice-dev": "alice'); DROP TABLE raw.workflow_runs;--",
    "bob-ops": '<img src=x onerror="window.__pwned=1">',
    "monalisa": "mona\u202elisa\U0001f680",
}
HOSTILE_TITLE_SUFFIXES = (
    "'); DROP TABLE raw.workflow_runs;--",
    "<script>window.__pwned=1</script>",
    "{{ 7*7 }} | `x`",
    "\u202e\U0001f680\tbell\u0007\nsecond line",
)


def _pick(options: tuple[str, ...], key: str) -> str:
    """A stable choice (crc32, not ``hash``) that draws nothing from the generators."""
    return options[zlib.crc32(key.encode("utf-8")) % len(options)]


def hostile_branch(branch: str) -> str:
    """``branch`` with a hostile last segment; ``main`` stays ``main``."""
    return branch if branch == "main" else f"{branch}/{_pick(HOSTILE_BRANCH_SUFFIXES, branch)}"


def _job_specs(workflow: str, nightly_jobs: int) -> tuple[tuple[str, str, float], ...]:
    """(job name, kind, median seconds) of one attempt of ``workflow``."""
    if workflow == "CI":
        return (
            ("lint", "lint", 40.0),
            *((f"test ({v})", "test", 150.0) for v in _PY_VERSIONS),
            ("build", "build", 60.0),
        )
    if workflow == "Lint":
        return (("ruff", "lint", 30.0),)
    if workflow == "Docs":
        return (("build-docs", "docs", 90.0), ("linkcheck", "linkcheck", 45.0))
    combos = [
        (os_, py, shard)
        for os_ in ("ubuntu-latest", "macos-latest", "windows-latest")
        for py in _PY_VERSIONS
        for shard in range(1, 11)
    ]
    while len(combos) < nightly_jobs:
        combos.append(("ubuntu-latest", "3.12", len(combos) + 1))
    return tuple(
        (f"nightly ({o}, {p}, shard {s})", "nightly", 300.0) for o, p, s in combos[:nightly_jobs]
    )


# the self-hosted runners' group and extra label (with hostile names: hostile ones)
SELF_HOSTED_GROUP = "Build farm"
SELF_HOSTED_LABEL = "docs-box"
HOSTILE_RUNNER_GROUP = HOSTILE_SCRIPT
HOSTILE_RUNNER_LABEL = HOSTILE_IMG
LARGER_RUNNER_LABEL = "ubuntu-latest-4-cores"


def _runner(
    kind: str, name: str, run_id: int, attempt: int, idx: int, hostile: bool
) -> tuple[str, str, tuple[str, ...]]:
    """(runner name, runner group, labels) of a job, as the jobs API gives them: CI's build
    on a GitHub-hosted larger runner, the docs' link check on a self-hosted runner, the
    nightly jobs on their OS's image, the rest on ``ubuntu-latest``. No random draw, so the
    rest of the world is the same as before runners were told apart."""
    number = (run_id // 11 + attempt * 131 + idx * 17) % 900 + 100
    if kind == "linkcheck":
        group = HOSTILE_RUNNER_GROUP if hostile else SELF_HOSTED_GROUP
        extra = HOSTILE_RUNNER_LABEL if hostile else SELF_HOSTED_LABEL
        return f"docs-box {number % 3 + 1}", group, ("self-hosted", "linux", extra)
    if kind == "build":
        return f"larger-runner {number}", "Default", (LARGER_RUNNER_LABEL,)
    labels = ("ubuntu-latest",)
    if kind == "nightly":
        labels = (name.split("(")[1].split(",")[0],)
    return f"GitHub Actions {number}", "GitHub Actions", labels


_OTHER_ARTIFACT = {
    "CI": "coverage-html",
    "Lint": "ruff-report",
    "Docs": "docs-html",
    "Nightly": "dist",
}


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _second_of_day(rng: random.Random) -> int:
    hour = bisect.bisect_left(_HOUR_CUM, rng.random() * _HOUR_CUM[-1])
    return min(hour, 23) * 3600 + rng.randrange(3600)


@dataclass(slots=True)
class _Skel:
    ts: int
    repo_idx: int
    seq: int
    workflow: str
    event: str
    branch: str
    sha: str
    prs: tuple[int, ...]
    actor: str
    title: str
    broken: tuple[str, ...]


# --------------------------------------------------------------------------- world


@dataclass
class FakeWorld:
    """The generated data plus the ground truth tests compare against."""

    config: FakeConfig
    start: datetime
    now: datetime
    repos: tuple[str, ...]
    repo_ids: dict[str, int]
    workflows: dict[str, tuple[FakeWorkflow, ...]]
    runs_by_id: dict[int, FakeRun] = field(default_factory=dict)
    artifacts_by_id: dict[int, FakeArtifact] = field(default_factory=dict)
    _runs: dict[str, list[FakeRun]] = field(default_factory=dict)
    _keys: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    _artifacts: dict[str, list[FakeArtifact]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _next_ids: dict[str, int] = field(default_factory=dict)

    # ---- lookups
    def repo_by_id(self, repo_id: int) -> str | None:
        for name, rid in self.repo_ids.items():
            if rid == repo_id:
                return name
        return None

    def workflow(self, repo: str, name: str) -> FakeWorkflow:
        """The workflow called ``name``, or made as generator workflow ``name``."""
        return next(w for w in self.workflows[repo] if name in (w.name, w.key))

    def sorted_runs(self, repo: str) -> list[FakeRun]:
        """Runs of ``repo`` ascending by (created_at, run_id); the list is shared."""
        return self._runs[repo]

    def run_keys(self, repo: str) -> list[tuple[int, int]]:
        return self._keys[repo]

    def sorted_artifacts(self, repo: str) -> list[FakeArtifact]:
        """Artifacts of ``repo`` ascending by (created_at, artifact_id)."""
        return self._artifacts[repo]

    # ---- ground truth
    def all_runs(self, repo: str | None = None) -> list[FakeRun]:
        with self.lock:
            if repo is not None:
                return list(self._runs[repo])
            out = [r for name in self.repos for r in self._runs[name]]
        out.sort(key=lambda r: (r.created_at, r.run_id))
        return out

    def runs_created_between(
        self, start_day: date, end_day: date, repo: str | None = None
    ) -> list[FakeRun]:
        """Runs created on UTC days ``start_day`` … ``end_day`` (inclusive)."""
        lo = datetime(start_day.year, start_day.month, start_day.day, tzinfo=UTC)
        hi = datetime(end_day.year, end_day.month, end_day.day, tzinfo=UTC) + timedelta(days=1)
        return [r for r in self.all_runs(repo) if lo <= r.created_at < hi]

    @property
    def flaky_commits(self) -> set[tuple[str, int, str]]:
        """(repo, workflow_id, head_sha) whose attempts include a success and a failure."""
        seen: dict[tuple[str, int, str], set[str]] = {}
        for run in self.all_runs():
            cls = seen.setdefault((run.repo, run.workflow_id, run.head_sha), set())
            for a in run.attempts:
                if a.status != "completed":
                    continue
                if a.conclusion == "success":
                    cls.add("s")
                elif a.conclusion in ("failure", "timed_out", "startup_failure"):
                    cls.add("f")
        return {k for k, v in seen.items() if len(v) == 2}

    def _test_ids(self, ids: frozenset[str]) -> frozenset[str]:
        if not self.config.hostile_names:
            return ids
        return frozenset(junit_sim.hostile_test_id(t) for t in ids)

    @property
    def flaky_tests(self) -> frozenset[str]:
        return self._test_ids(junit_sim.FLAKY_TEST_IDS)

    @property
    def slow_tests(self) -> frozenset[str]:
        """Tests made with a median above 1 s (robust once a test has ~30 executions)."""
        return self._test_ids(junit_sim.SLOW_TEST_IDS)

    @property
    def consistently_slow_tests(self) -> frozenset[str]:
        return self._test_ids(junit_sim.CONSISTENTLY_SLOW_TEST_IDS)

    def test_executions(self, run: FakeRun, attempt: int) -> list[tuple[str, str, float]]:
        """(test_id, outcome, duration_s) of every test in the attempt's JUnit artifacts."""
        out: list[tuple[str, str, float]] = []
        for art in run.artifacts:
            if art.run_attempt == attempt and art.holds_tests:
                out.extend(artifact_executions(art))
        return out

    def expected_counts(
        self, start_day: date, end_day: date, repo: str | None = None
    ) -> dict[str, int]:
        """Runs, attempts and jobs of the runs created in the inclusive day range."""
        runs = self.runs_created_between(start_day, end_day, repo)
        return {
            "runs": len(runs),
            "attempts": sum(len(r.attempts) for r in runs),
            "jobs": sum(len(a.jobs) for r in runs for a in r.attempts),
        }

    def insert_run(self, repo: str, created_at: datetime) -> FakeRun:
        """Add a completed ``Lint`` push run (what a pagination-insert fault needs)."""
        with self.lock:
            run_id = self._take_id("run")
            wf = self.workflow(repo, "Lint")
            number = sum(1 for r in self._runs[repo] if r.workflow_id == wf.workflow_id) + 1
            rng = random.Random(mix64(self.config.seed, run_id))
            sha = f"{rng.getrandbits(160):040x}"
            started = created_at + timedelta(seconds=3)
            done = started + timedelta(seconds=25)
            job = FakeJob(
                self._take_id("job"),
                run_id,
                1,
                "ruff",
                "completed",
                "success",
                started,
                started + timedelta(seconds=2),
                done,
                f"GitHub Actions {run_id % 1000}",
                "GitHub Actions",
                ("ubuntu-latest",),
            )
            attempt = FakeAttempt(1, "completed", "success", started, done, "octocat", (job,))
            run = FakeRun(
                repo,
                self.repo_ids[repo],
                run_id,
                number,
                wf.workflow_id,
                wf.name,
                wf.path,
                "push",
                "main",
                sha,
                created_at,
                (),
                [attempt],
                [],
                "octocat",
                "Inserted commit",
            )
            self._add_run(run)
            return run

    # ---- building
    def _take_id(self, kind: str) -> int:
        self._next_ids[kind] += 1
        return self._next_ids[kind]

    def _add_run(self, run: FakeRun) -> None:
        key = (_ts(run.created_at), run.run_id)
        idx = bisect.bisect_left(self._keys[run.repo], key)
        self._keys[run.repo].insert(idx, key)
        self._runs[run.repo].insert(idx, run)
        self.runs_by_id[run.run_id] = run


def generate(config: FakeConfig) -> FakeWorld:
    """Build the world described by ``config``; the same config gives the same world."""
    end = config.end_date or (datetime.now(UTC).date() - timedelta(days=1))
    now = datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=1)
    start = now - timedelta(days=config.days)
    repos = tuple(f"{config.owner}/repo-{i}" for i in range(config.repos))
    repo_ids = {name: 600_000_000 + 7919 * (i + 1) for i, name in enumerate(repos)}
    workflows = {
        name: tuple(
            FakeWorkflow(
                90_000_000 + repo_ids[name] % 100_000 * 10 + k,
                wf,
                path,
                start - timedelta(days=400),
            )
            if not config.hostile_names
            else FakeWorkflow(
                90_000_000 + repo_ids[name] % 100_000 * 10 + k,
                HOSTILE_WORKFLOW_NAMES[i % len(HOSTILE_WORKFLOW_NAMES)][wf],
                path,
                start - timedelta(days=400),
                wf,
            )
            for k, (wf, path) in enumerate(_WORKFLOWS)
        )
        for i, name in enumerate(repos)
    }
    world = FakeWorld(config, start, now, repos, repo_ids, workflows)
    for name in repos:
        world._runs[name] = []
        world._keys[name] = []
        world._artifacts[name] = []

    skels: list[_Skel] = []
    for i in range(config.repos):
        skels.extend(_skeletons(config, i, _ts(start), _ts(now)))
    skels.sort(key=lambda s: (s.ts, s.repo_idx, s.seq))

    builder = _Builder(config, world, _ts(now))
    for n, sk in enumerate(skels):
        run_id = 9_000_000_000 + n * 11 + mix64(config.seed, n) % 11
        builder.build(sk, run_id)
    world._next_ids = {"run": 9_000_000_000 + len(skels) * 11 + 11, "job": builder.job_id}
    for name in repos:
        world._artifacts[name].sort(key=lambda a: (a.created_at, a.artifact_id))
    return world


def _skeletons(cfg: FakeConfig, repo_idx: int, start_ts: int, now_ts: int) -> list[_Skel]:
    rng = random.Random(mix64(cfg.seed, 1000 + repo_idx))
    out: list[_Skel] = []
    open_prs: list[tuple[int, str]] = []
    next_pr = [100 + repo_idx * 1000]
    seq = [0]

    def add(ts: int, wf: str, event: str, branch: str, sha: str, prs, actor, title, broken):
        seq[0] += 1
        if cfg.hostile_names:
            branch = hostile_branch(branch)
            actor = HOSTILE_ACTORS.get(actor, actor)
            title = f"{title} {_pick(HOSTILE_TITLE_SUFFIXES, title + sha)}"
        out.append(_Skel(ts, repo_idx, seq[0], wf, event, branch, sha, prs, actor, title, broken))

    def group(ts: int, limit: int) -> int:
        sha = f"{rng.getrandbits(160):040x}"
        broken: tuple[str, ...] = ()
        if rng.random() < cfg.broken_commit_p:
            broken = tuple(rng.sample(junit_sim.BREAKABLE_TEST_IDS, rng.choice((1, 1, 2))))
        actor = rng.choice(_ACTORS)
        title = f"{rng.choice(_COMMIT_WORDS)} {rng.choice(_COMMIT_TOPICS)}"
        r = rng.random()
        if r < 0.45:
            if open_prs and rng.random() < 0.6:
                pr, branch = rng.choice(open_prs)
            else:
                next_pr[0] += 1
                pr, branch = next_pr[0], f"feature/{title.split()[-1].lower()}-{next_pr[0]}"
                open_prs.append((pr, branch))
                if len(open_prs) > 8:
                    open_prs.pop(0)
            events = [("pull_request", (pr,))]
            if rng.random() < 0.4:
                events.append(("push", ()))
        elif r < 0.8:
            branch, events = "main", [("push", ())]
        elif r < 0.95:
            branch, events = f"fix/{title.split()[-1].lower()}", [("push", ())]
        else:
            add(ts, "Docs", "workflow_dispatch", "main", sha, (), actor, "Docs", ())
            return 1
        made = 0
        for k, (event, prs) in enumerate(events):
            wfs = ["CI", "Lint"] + (["Docs"] if rng.random() < 0.3 else [])
            for wf in wfs:
                if made >= limit:
                    return made
                add(ts + 2 * k, wf, event, branch, sha, prs, actor, title, broken)
                made += 1
        return made

    for day in range(cfg.days):
        day_ts = start_ts + day * _DAY
        add(
            day_ts + 3 * 3600 + rng.randrange(600),
            "Nightly",
            "schedule",
            "main",
            f"{rng.getrandbits(160):040x}",
            (),
            "octocat",
            "Nightly",
            (),
        )
        n = _poisson(rng, cfg.runs_per_day) - 1
        while n > 0:
            n -= group(day_ts + _second_of_day(rng), n)
    for k in range(cfg.tail_runs):
        group(now_ts - (25 if k == 0 else 70 + rng.randrange(150)), 3)
    return [s for s in out if s.ts < now_ts]


class _Builder:
    """Turns skeletons into runs with attempts, jobs and artifacts."""

    def __init__(self, cfg: FakeConfig, world: FakeWorld, now_ts: int) -> None:
        self.cfg = cfg
        self.world = world
        self.now = now_ts
        self.job_id = 40_000_000_000
        self.artifact_id = 2_000_000_000
        self.run_numbers: dict[tuple[str, str], int] = {}
        self.specs = {wf: _job_specs(wf, cfg.nightly_jobs) for wf, _ in _WORKFLOWS}
        if cfg.hostile_names:  # test and nightly job names stay: artifacts and labels parse them
            self.specs = {
                wf: tuple((HOSTILE_JOB_NAMES.get(n, n), k, m) for n, k, m in specs)
                for wf, specs in self.specs.items()
            }
        self.wf_key = ""

    def build(self, sk: _Skel, run_id: int) -> None:
        cfg, world = self.cfg, self.world
        repo = world.repos[sk.repo_idx]
        wf = world.workflow(repo, sk.workflow)
        key = (repo, sk.workflow)
        self.run_numbers[key] = self.run_numbers.get(key, 0) + 1
        self.run_seed = mix64(cfg.seed, run_id)
        self.wf_key = sk.workflow
        rng = random.Random(self.run_seed)
        run = FakeRun(
            repo,
            world.repo_ids[repo],
            run_id,
            self.run_numbers[key],
            wf.workflow_id,
            wf.name,
            wf.path,
            sk.event,
            sk.branch,
            sk.sha,
            _dt(sk.ts),
            sk.prs,
            [],
            [],
            sk.actor,
            sk.title if sk.workflow != "Nightly" else "Nightly",
            sk.broken,
        )
        created = sk.ts
        start = created + min(1800, max(1, round(rng.lognormvariate(math.log(8), 1.0))))
        if created > self.now - 60:  # the last minute's runs still wait for a runner
            start = self.now + 30
        other_done = False
        for n in range(1, cfg.max_attempts + 1):
            actor = sk.actor if n == 1 or rng.random() < 0.7 else rng.choice(_ACTORS)
            if cfg.hostile_names:
                actor = HOSTILE_ACTORS.get(actor, actor)
            attempt, arts = self._attempt(rng, run, n, created if n == 1 else start, start, actor)
            run.attempts.append(attempt)
            run.artifacts.extend(arts)
            if (
                not other_done
                and attempt.status == "completed"
                and attempt.conclusion in ("success", "failure")
            ):
                other_done = True
                run.artifacts.append(
                    self._artifact(
                        rng, run, n, _OTHER_ARTIFACT[sk.workflow], _ts(attempt.updated_at) - 1, None
                    )
                )
            if attempt.status != "completed":
                break
            again = attempt.conclusion in ("failure", "timed_out") and rng.random() < cfg.rerun_p
            again = again or (attempt.conclusion == "cancelled" and rng.random() < 0.15)
            if not again:
                break
            if rng.random() < cfg.late_rerun_p:
                gap = rng.randrange(_DAY, 5 * _DAY)
            else:
                gap = min(6 * 3600, max(20, round(rng.lognormvariate(math.log(600), 1.0))))
            start = _ts(attempt.updated_at) + gap
            if start >= self.now - 5 or start - created >= 29 * _DAY:
                break
        world._add_run(run)
        world._artifacts[repo].extend(run.artifacts)
        for a in run.artifacts:
            world.artifacts_by_id[a.artifact_id] = a

    def _attempt(self, rng, run: FakeRun, n: int, created: int, start: int, actor: str):
        cfg, now = self.cfg, self.now
        wf = self.wf_key
        u = rng.random()
        mode = "normal"
        if n == 1 and u < cfg.startup_failure_p:
            mode = "startup_failure"
        elif n == 1 and u < cfg.startup_failure_p + cfg.skipped_p:
            mode = "skipped"
        elif u < cfg.startup_failure_p + cfg.skipped_p + cfg.cancel_p:
            mode = "cancelled"
        elif u < cfg.startup_failure_p + cfg.skipped_p + cfg.cancel_p + cfg.timed_out_p:
            mode = "timed_out"
        if start > now:  # not picked up yet
            return FakeAttempt(n, "queued", None, _dt(created), _dt(created), actor, ()), []
        if mode == "startup_failure":
            t = _dt(created)
            return FakeAttempt(
                n, "completed", "startup_failure", t, _dt(created + 1), actor, ()
            ), []
        specs = self.specs[wf]
        if mode == "skipped":
            name, kind, _ = specs[0]
            self.job_id += 1
            job = FakeJob(
                self.job_id,
                run.run_id,
                n,
                name,
                "completed",
                "skipped",
                _dt(start),
                _dt(start),
                _dt(start),
                None,
                None,
                ("ubuntu-latest",),
                kind,
                hostile=cfg.hostile_names,
            )
            return FakeAttempt(
                n, "completed", "skipped", _dt(start), _dt(start + 2), actor, (job,)
            ), []
        cancel_at = start + rng.randrange(10, 120) if mode == "cancelled" else None
        timeout_idx = rng.randrange(len(specs)) if mode == "timed_out" else -1
        jobs: list[FakeJob] = []
        arts: list[FakeArtifact] = []
        end_max = start
        any_fail = any_started = all_done = False
        all_done = True
        for idx, (name, kind, median) in enumerate(specs):
            self.job_id += 1
            jstart = start + max(1, round(rng.lognormvariate(math.log(4), 0.8)))
            dur = max(3, round(rng.lognormvariate(math.log(median), 0.3)))
            suite_seed = None
            if kind == "test":
                suite_seed = sub_seed(self.run_seed, n * 1000 + idx)
                fails = junit_sim.failing_tests(suite_seed, run.broken_tests, cfg.flaky_test_p)
                concl = "failure" if fails else "success"
            elif kind in ("lint", "linkcheck"):
                p = cfg.job_flaky_p * (2 if kind == "linkcheck" else 1)
                concl = (
                    "failure"
                    if run.broken_tests and kind == "lint" and wf == "Lint"
                    else ("failure" if rng.random() < p else "success")
                )
            elif kind == "nightly":
                concl = "failure" if rng.random() < cfg.nightly_job_fail_p else "success"
            else:
                concl = "success"
            if idx == timeout_idx:
                dur, concl = 1800, "timed_out"
            jend = jstart + dur
            if cancel_at is not None and jend > cancel_at:
                jstart = min(jstart, cancel_at)
                jend, concl = cancel_at, "cancelled"
            runner, group, labels = _runner(kind, name, run.run_id, n, idx, cfg.hostile_names)
            if jstart > now:
                job = FakeJob(
                    self.job_id,
                    run.run_id,
                    n,
                    name,
                    "queued",
                    None,
                    _dt(start),
                    _dt(start),
                    None,
                    None,
                    None,
                    labels,
                    kind,
                    hostile=cfg.hostile_names,
                )
                all_done = False
            elif jend > now:
                job = FakeJob(
                    self.job_id,
                    run.run_id,
                    n,
                    name,
                    "in_progress",
                    None,
                    _dt(start),
                    _dt(jstart),
                    None,
                    runner,
                    group,
                    labels,
                    kind,
                    hostile=cfg.hostile_names,
                )
                all_done = False
                any_started = True
                end_max = max(end_max, jstart)
            else:
                job = FakeJob(
                    self.job_id,
                    run.run_id,
                    n,
                    name,
                    "completed",
                    concl,
                    _dt(start),
                    _dt(jstart),
                    _dt(jend),
                    runner,
                    group,
                    labels,
                    kind,
                    hostile=cfg.hostile_names,
                )
                any_started = True
                end_max = max(end_max, jend)
                any_fail = any_fail or concl in ("failure", "timed_out")
                if suite_seed is not None and concl in ("success", "failure"):
                    arts.append(
                        self._artifact(
                            rng,
                            run,
                            n,
                            f"test-results-py{name[6:-1]}-attempt{n}",
                            jend - 2,
                            suite_seed,
                            runner,
                            _dt(jstart + round(dur * 0.4)),
                        )
                    )
            jobs.append(job)
        if not all_done:
            status = "in_progress" if any_started else "queued"
            return FakeAttempt(
                n, status, None, _dt(start), _dt(max(end_max, start)), actor, tuple(jobs)
            ), arts
        if mode == "cancelled":
            concl = "cancelled"
        elif mode == "timed_out":
            concl = "timed_out"
        else:
            concl = "failure" if any_fail else "success"
        updated = min(end_max + rng.randrange(1, 6), now - 1)
        return FakeAttempt(
            n, "completed", concl, _dt(start), _dt(updated), actor, tuple(jobs)
        ), arts

    def _artifact(
        self,
        rng,
        run: FakeRun,
        n: int,
        name: str,
        ts: int,
        suite_seed: int | None,
        hostname: str = "",
        suite_started: datetime | None = None,
    ) -> FakeArtifact:
        self.artifact_id += 1 + rng.randrange(3)
        created = _dt(ts)
        expires = created + timedelta(days=self.cfg.artifact_retention_days)
        size = (
            rng.randrange(3000, 9000) if suite_seed is not None else rng.randrange(10**5, 5 * 10**6)
        )
        return FakeArtifact(
            self.artifact_id,
            name,
            run.run_id,
            n,
            run.head_sha,
            run.head_branch,
            created,
            expires,
            _ts(expires) <= self.now,
            size,
            run.repo,
            run.repo_id,
            suite_seed,
            run.broken_tests,
            self.cfg.flaky_test_p,
            hostname.replace(" ", "-").lower(),
            suite_started,
            self.cfg.hostile_names and suite_seed is not None,
        )


# --------------------------------------------------------------------------- artifacts


def artifact_executions(artifact: FakeArtifact) -> list[tuple[str, str, float]]:
    """(test_id, outcome, duration_s) held by a JUnit artifact; [] for other artifacts."""
    if artifact.suite_seed is None:
        return []
    results = junit_sim.run_suite(
        artifact.suite_seed, artifact.broken_tests, artifact.flaky_p, hostile=artifact.hostile
    )
    return [(r.test_id, r.outcome, r.duration_s) for r in results]


def junit_xml(artifact: FakeArtifact) -> bytes:
    """The JUnit XML a test artifact carries (deterministic)."""
    if artifact.suite_seed is None:
        raise ValueError(f"artifact {artifact.name} holds no test report")
    results = junit_sim.run_suite(
        artifact.suite_seed, artifact.broken_tests, artifact.flaky_p, hostile=artifact.hostile
    )
    ts = artifact.suite_started_at or artifact.created_at
    return junit_sim.junit_xml(results, timestamp=ts, hostname=artifact.hostname or "runner")


def artifact_zip(artifact: FakeArtifact) -> bytes:
    """The artifact's zip archive: ``junit/test-results.xml`` or a small placeholder."""
    stamp = artifact.created_at.timetuple()[:6]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        if artifact.holds_tests:
            zf.writestr(
                zipfile.ZipInfo("junit/test-results.xml", stamp),
                junit_xml(artifact),
                zipfile.ZIP_DEFLATED,
            )
        else:
            body = f"<html><body>{artifact.name} of run {artifact.run_id}</body></html>"
            zf.writestr(zipfile.ZipInfo("index.html", stamp), body.encode(), zipfile.ZIP_DEFLATED)
    return buf.getvalue()
