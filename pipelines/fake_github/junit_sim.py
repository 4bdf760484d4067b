"""A simulated pytest suite and the xunit2 JUnit XML pytest would write for it.

The fake CI workflow "runs" this suite in each test job. Outcomes that decide
whether a job fails (flaky draws, broken tests) come from a cheap hash of the
job's seed, so the generator can compute them eagerly for thousands of runs;
durations and the XML text are only produced when an artifact is downloaded.

Test ids follow the KPI contract: pytest's xunit2 reports carry no ``file``
attribute, so a test id is ``classname::name``, e.g.
``tests.test_api.TestAuth::test_login``.
"""

from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

_M64 = (1 << 64) - 1


def _fmix(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def mix64(*parts: int) -> int:
    """A 64-bit hash of integers (splitmix64 chain): stable across runs and platforms."""
    h = 0
    for p in parts:
        h = _fmix((h + 0x9E3779B97F4A7C15 + (p & _M64)) & _M64)
    return h


def unit(seed: int, index: int) -> float:
    """A uniform number in [0, 1) derived from ``seed`` and ``index`` (one mixing round)."""
    return _fmix((seed + (index + 1) * 0x9E3779B97F4A7C15) & _M64) / 18446744073709551616.0


def sub_seed(seed: int, index: int) -> int:
    """A 64-bit seed derived from ``seed`` and ``index``."""
    return _fmix((seed + (index + 1) * 0x9E3779B97F4A7C15) & _M64)


@dataclass(frozen=True, slots=True)
class SimCase:
    """One test of the simulated suite and how it behaves.

    kind: ``normal``, ``flaky`` (fails with the configured probability),
    ``slow`` (median > 1 s but often fast), ``consistently_slow`` (nearly always
    > 1 s), ``skip`` or ``xfail`` (both reported as ``<skipped>``).
    """

    classname: str
    name: str
    median_s: float
    kind: str = "normal"

    @property
    def test_id(self) -> str:
        return f"{self.classname}::{self.name}"


def _cases() -> tuple[SimCase, ...]:
    c = SimCase
    return (
        c("tests.test_api.TestAuth", "test_login", 0.08),
        c("tests.test_api.TestAuth", "test_logout", 0.05),
        c("tests.test_api.TestAuth", "test_token_refresh", 0.2, "flaky"),
        c("tests.test_api.TestAuth", "test_invalid_password", 0.04),
        c("tests.test_api.TestUsers", "test_list_users", 0.12),
        c("tests.test_api.TestUsers", "test_create_user", 0.1),
        c("tests.test_api.TestUsers", "test_delete_user", 0.09),
        c("tests.test_api.TestUsers", "test_pagination", 1.6, "slow"),
        c("tests.test_api.TestHealth", "test_ping", 0.01),
        c("tests.test_api.TestHealth", "test_ready", 0.02),
        c("tests.test_db.TestMigrations", "test_upgrade", 2.5, "consistently_slow"),
        c("tests.test_db.TestMigrations", "test_downgrade", 2.2, "consistently_slow"),
        c("tests.test_db.TestQueries", "test_select", 0.03),
        c("tests.test_db.TestQueries", "test_insert", 0.04),
        c("tests.test_db.TestQueries", "test_bulk_insert", 1.5, "slow"),
        c("tests.test_db.TestQueries", "test_transaction_rollback", 0.06),
        c("tests.test_db.TestQueries", "test_indexes", 0.05),
        c("tests.test_db.TestQueries", "test_postgres_only", 0.0, "skip"),
        c("tests.test_cache", "test_get", 0.01),
        c("tests.test_cache", "test_set", 0.01),
        c("tests.test_cache", "test_expiry", 0.5, "flaky"),
        c("tests.test_cache", "test_eviction", 0.03),
        c("tests.test_cache", "test_concurrent_access", 0.3, "flaky"),
        c("tests.test_parser.TestParser", "test_parse_empty", 0.005),
        c("tests.test_parser.TestParser", "test_parse_unicode", 0.01),
        c("tests.test_parser.TestParser", "test_parse_nested", 0.02),
        c("tests.test_parser.TestParser", "test_parse_large", 1.7, "slow"),
        c("tests.test_parser.TestParser", "test_roundtrip", 0.04),
        c("tests.test_parser.TestParser", "test_parse_comments", 0.01),
        c("tests.test_parser.TestParser", "test_legacy_format", 0.02, "xfail"),
        c("tests.test_cli", "test_help", 0.15),
        c("tests.test_cli", "test_version", 0.1),
        c("tests.test_cli", "test_run_dry", 0.3),
        c("tests.test_cli", "test_run_config", 0.25),
        c("tests.test_cli", "test_completion", 0.12),
        c("tests.test_cli", "test_windows_paths", 0.0, "skip"),
        c("tests.test_integration.TestEndToEnd", "test_full_pipeline", 4.0, "consistently_slow"),
        c("tests.test_integration.TestEndToEnd", "test_upload", 0.6, "flaky"),
        c("tests.test_integration.TestEndToEnd", "test_retry_logic", 0.4),
        c("tests.test_integration.TestEndToEnd", "test_webhook", 1.5, "slow"),
    )


SUITE: tuple[SimCase, ...] = _cases()
FLAKY_TEST_IDS: frozenset[str] = frozenset(c.test_id for c in SUITE if c.kind == "flaky")
CONSISTENTLY_SLOW_TEST_IDS: frozenset[str] = frozenset(
    c.test_id for c in SUITE if c.kind == "consistently_slow"
)
SLOW_TEST_IDS: frozenset[str] = frozenset(
    c.test_id for c in SUITE if c.kind in ("slow", "consistently_slow")
)
#: tests a broken commit can break (they then fail in every job and attempt of that commit)
BREAKABLE_TEST_IDS: tuple[str, ...] = tuple(c.test_id for c in SUITE if c.kind == "normal")
_FLAKY_INDEXES = tuple(i for i, c in enumerate(SUITE) if c.kind == "flaky")

#: (classname, name) some tests get in hostile worlds (``FakeConfig.hostile_names``): quotes,
#: SQL, HTML/JS, template and Markdown syntax, XML specials, unicode, a 1,000-character
#: name. Only characters XML 1.0 can carry (tab, but no other C0 control character).
HOSTILE_TEST_NAMES: dict[str, tuple[str, str]] = {
    "tests.test_api.TestAuth::test_token_refresh": (
        "tests.test_api.TestAuth",
        "test_token_refresh[Robert'); DROP TABLE raw.test_results;--]",
    ),
    "tests.test_api.TestUsers::test_pagination": (
        "tests.test_api.Test<script>window['__pwned']=1</script>",
        'test_pagination[<img src=x onerror="window.__pwned=1">]',
    ),
    "tests.test_db.TestMigrations::test_upgrade": (
        "tests.test_db.TestMigrations",
        "test_upgrade[{{ 7*7 }}-{% raw %}-${{ secrets.X }}]",
    ),
    "tests.test_cache::test_expiry": (
        "tests.test_cache",
        "test_expiry[\"quoted\" | a|b `tick` & 'apos' \\]",
    ),
    "tests.test_parser.TestParser::test_parse_large": (
        "tests.test_parser.TestParser",
        "test_parse_large[\u202eevil\u202c \U0001f680 tab\there \u00e9\u0301]",
    ),
    "tests.test_db.TestQueries::test_bulk_insert": (
        "tests.test_db.TestQueries",
        "test_bulk_insert[<!-- x --> ]]> &amp; &lt;b&gt; \r\nnext]",
    ),
    "tests.test_integration.TestEndToEnd::test_full_pipeline": (
        "tests.test_integration.TestEndToEnd",
        ("test_full_pipeline[" + "<i>long</i> & 'name' | " * 50)[:999] + "]",
    ),
}


def hostile_test_id(test_id: str) -> str:
    """The id ``test_id`` has in a hostile world."""
    names = HOSTILE_TEST_NAMES.get(test_id)
    return f"{names[0]}::{names[1]}" if names else test_id


#: share of executions of a ``slow`` test that take > 1 s: its median is > 1 s,
#: but it stays clearly below the 80 % of "consistently slow"
SLOW_SHARE = 0.65


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One test execution as the JUnit report holds it."""

    test_id: str
    classname: str
    name: str
    outcome: str  # passed | failed | error | skipped
    duration_s: float
    message: str | None = None
    kind: str = "normal"  # failure | error | skip | xfail element type when not passed


def failing_tests(seed: int, broken: tuple[str, ...], flaky_p: float) -> tuple[str, ...]:
    """Test ids that fail (or error) in the job with ``seed``: cheap, no durations."""
    out = [SUITE[i].test_id for i in _FLAKY_INDEXES if unit(seed, i) < flaky_p]
    out.extend(broken)
    return tuple(out)


def _duration(rng: random.Random, case: SimCase) -> float:
    if case.kind == "skip":
        return 0.0
    if case.kind == "slow":
        if rng.random() < SLOW_SHARE:
            return rng.lognormvariate(math.log(case.median_s), 0.12)
        return rng.lognormvariate(math.log(0.35), 0.25)
    if case.kind == "consistently_slow":
        return rng.lognormvariate(math.log(case.median_s), 0.15)
    return rng.lognormvariate(math.log(case.median_s), 0.35)


def run_suite(
    seed: int, broken: tuple[str, ...], flaky_p: float, *, hostile: bool = False
) -> list[CaseResult]:
    """Every execution of the suite in the job with ``seed``, in report order; ``hostile``
    renames the tests of HOSTILE_TEST_NAMES (outcomes and durations stay the same)."""
    rng = random.Random(seed)
    broken_set = set(broken)
    out: list[CaseResult] = []
    for i, case in enumerate(SUITE):
        duration = round(max(_duration(rng, case), 0.0), 3)
        tid = case.test_id
        if case.kind == "skip":
            res = CaseResult(
                tid, case.classname, case.name, "skipped", duration, "requires postgres", "skip"
            )
        elif case.kind == "xfail":
            res = CaseResult(
                tid, case.classname, case.name, "skipped", duration, "known bug #123", "xfail"
            )
        elif tid in broken_set and ".test_db." in case.classname:
            res = CaseResult(
                tid,
                case.classname,
                case.name,
                "error",
                duration,
                'failed on setup with "psycopg.OperationalError: connection refused"',
                "error",
            )
        elif tid in broken_set:
            res = CaseResult(
                tid,
                case.classname,
                case.name,
                "failed",
                duration,
                "AssertionError: assert 500 == 200",
                "failure",
            )
        elif case.kind == "flaky" and unit(seed, i) < flaky_p:
            res = CaseResult(
                tid,
                case.classname,
                case.name,
                "failed",
                duration,
                "TimeoutError: operation timed out after 0.5s",
                "failure",
            )
        else:
            res = CaseResult(tid, case.classname, case.name, "passed", duration)
        if hostile and tid in HOSTILE_TEST_NAMES:
            classname, name = HOSTILE_TEST_NAMES[tid]
            res = dataclasses.replace(
                res, test_id=f"{classname}::{name}", classname=classname, name=name
            )
        out.append(res)
    return out


def junit_xml(results: list[CaseResult], *, timestamp: datetime, hostname: str) -> bytes:
    """pytest's xunit2 report (``junit_family=xunit2``) for ``results``."""
    failures = sum(r.outcome == "failed" for r in results)
    errors = sum(r.outcome == "error" for r in results)
    skipped = sum(r.outcome == "skipped" for r in results)
    total = sum(r.duration_s for r in results) + 0.42
    parts = [
        '<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">',
        f'<testsuite name="pytest" errors="{errors}" failures="{failures}" '
        f'skipped="{skipped}" tests="{len(results)}" time="{total:.3f}" '
        f'timestamp="{timestamp.isoformat()}" hostname={quoteattr(hostname)}>',
    ]
    for r in results:
        head = (
            f"<testcase classname={quoteattr(r.classname)} name={quoteattr(r.name)} "
            f'time="{r.duration_s:.3f}"'
        )
        if r.outcome == "passed":
            parts.append(head + " />")
            continue
        msg = quoteattr(r.message or "")
        path = r.classname.split(".")
        src = "/".join(p for p in path if not p[:1].isupper()) + ".py"
        if r.kind == "skip":
            reason = escape(f"{src}:12: {r.message or ''}")
            body = f'<skipped type="pytest.skip" message={msg}>{reason}</skipped>'
        elif r.kind == "xfail":
            body = f'<skipped type="pytest.xfail" message={msg} />'
        elif r.kind == "error":
            trace = f"{src}:8: in db\n    conn = connect()\nE   {r.message}"
            body = f"<error message={msg}>{escape(trace)}</error>"
        else:
            trace = f"{src}:42: in {r.name}\n    assert response.ok\nE   {r.message}"
            body = f"<failure message={msg}>{escape(trace)}</failure>"
        parts.append(f"{head}>{body}</testcase>")
    parts.append("</testsuite></testsuites>")
    return "".join(parts).encode("utf-8")
